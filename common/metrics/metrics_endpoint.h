#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "common/metrics/metrics.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace synmap::common {

// The HTTP endpoint of --metrics-listen: GET /metrics answers the registry's Prometheus text
// (Content-Type text/plain; version=0.0.4), any other path 404, any other method 405. Served
// by cpp-httplib on a thread of its own (two workers), so a scrape never runs on a capture,
// ingest or gRPC thread; it only calls MetricsRegistry::Render(). Borrows `registry`, which
// must outlive it. Thread-safe.
class MetricsEndpoint {
 public:
  // Binds `address` ("HOST:PORT", "[V6]:PORT"; port 0 picks a free port, see port()) without
  // serving yet, so a process can bind before dropping privileges and serve after.
  // InvalidArgument for a malformed address; AlreadyExists when the port is in use (no
  // SO_REUSEPORT: a second process cannot share it); Unavailable for any other bind failure.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Bind(
      absl::string_view address, const MetricsRegistry& registry);
  ~MetricsEndpoint();  // Calls Stop().
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Starts the serving thread. FailedPrecondition if called twice or after Stop().
  [[nodiscard]] absl::Status Start();
  // Closes the listening socket, lets requests in progress finish (keep-alive connections are
  // closed within about 10 ms) and joins the thread. Idempotent.
  void Stop();

  int port() const { return port_; }
  // "HOST:PORT" as bound (the chosen port when 0 was asked for).
  const std::string& address() const { return address_; }

 private:
  MetricsEndpoint(std::unique_ptr<httplib::Server> server, int port, std::string address);
  void StartThread();

  std::unique_ptr<httplib::Server> server_;
  const int port_;
  const std::string address_;
  bool started_ = false;  // Start() and Stop() are called by the owner's thread.
  bool stopped_ = false;
  absl::Notification serving_done_;  // Set when the serving thread returns.
  std::thread thread_;
};

// Splits "HOST:PORT" or "[V6]:PORT" into host and port (0..65535). InvalidArgument otherwise,
// naming the text. Exposed for tests.
[[nodiscard]] absl::Status SplitListenAddress(absl::string_view address, std::string* host,
                                              int* port);

}  // namespace synmap::common
