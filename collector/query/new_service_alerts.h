#pragma once

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "collector/query/names_holder.h"
#include "collector/store/store.h"

namespace synmap::collector {

// Options of NewServiceAlerts. Plain data.
struct NewServiceAlertOptions {
  // Shell command (/bin/sh -c) run once per new (server, service), the service as one JSON
  // object on its standard input: {"server", "server_ip", "service", "port", "sensor",
  // "detected_at"}. Its output goes to the collector's stdout/stderr.
  std::string command;
  // How often the store is looked at. Default 5 s.
  absl::Duration interval = absl::Seconds(5);
  // At most this many commands a minute; beyond, alerts are counted and logged, not run.
  int max_per_minute = 10;
  // A command still running after this is killed (SIGKILL) and counted as failed.
  absl::Duration command_timeout = absl::Seconds(30);

  [[nodiscard]] absl::Status Validate() const;
};

// Runs a command for each (server, service) the collector sees for the first time, for
// alerting ("a server nobody knew about"). A thread of its own looks at the store's key
// dictionary every `interval`: keys are numbered densely as they first arrive, so only the keys
// added since the last look are examined. Services already stored when Start() runs are known
// and never alerted. Labels are the names in force when the service is detected (the same
// Labeler as the queries); a service is one (server label, service label), so two addresses of
// a named host offering https alert once. Never on the ingest path: a slow or hanging command
// delays only the next alert, never an ack. With several collectors on one database each runs
// its own; give the command to one of them.
// Thread-compatible: Start/Stop from one thread.
class NewServiceAlerts {
 public:
  NewServiceAlerts(Store& store, const NamesHolder& names, NewServiceAlertOptions options);
  // Calls Stop().
  ~NewServiceAlerts();
  NewServiceAlerts(const NewServiceAlerts&) = delete;
  NewServiceAlerts& operator=(const NewServiceAlerts&) = delete;

  // Learns the stored services and starts the thread. InvalidArgument for bad options.
  [[nodiscard]] absl::Status Start();
  // Wakes and joins the thread. Idempotent.
  void Stop();

  // Counters (relaxed; statistics).
  int64_t fired() const { return fired_.load(std::memory_order_relaxed); }
  int64_t suppressed() const { return suppressed_.load(std::memory_order_relaxed); }
  int64_t failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  void Run();
  // One look at the store: alerts for services first seen since the last look.
  void Poll();
  // Runs the command with `json` on stdin; false when it could not run, failed or timed out.
  bool RunCommand(const std::string& json);

  Store& store_;
  const NamesHolder& names_;
  const NewServiceAlertOptions options_;
  size_t keys_seen_ = 0;
  // (site, server address id, port): the same address at two sites is two servers.
  std::set<std::tuple<std::string, uint32_t, uint16_t>> known_endpoints_;
  // (site, server, service) labels.
  std::set<std::tuple<std::string, std::string, std::string>> known_services_;
  std::vector<absl::Time> recent_runs_;  // Start times within the last minute.
  absl::Notification stop_;
  std::thread thread_;
  std::atomic<int64_t> fired_{0};
  std::atomic<int64_t> suppressed_{0};
  std::atomic<int64_t> failed_{0};
};

}  // namespace synmap::collector
