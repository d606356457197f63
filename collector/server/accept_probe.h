#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace synmap::collector {

// Options of AcceptProbe. Plain data.
struct AcceptProbeOptions {
  // "127.0.0.1:PORT": the collector's own listening port, as a sensor would reach it.
  std::string target;
  // PEM of the deployment CA: the probe verifies the collector's certificate against it.
  std::string ca_pem;
  // Time between probes. Default 10 s.
  absl::Duration interval = absl::Seconds(10);
  // Deadline of one probe (TCP connect plus the server's half of the TLS handshake).
  absl::Duration timeout = absl::Seconds(5);
  // Consecutive failed probes after which `on_failed` is called. Default 3 (about 30 s).
  int failures_to_fail = 3;

  [[nodiscard]] absl::Status Validate() const;
};

// One TLS connect to `options.target` with a deadline: TCP connect, ClientHello, and the
// server's whole first flight up to the point where it asks for the client certificate, with
// the server certificate verified against `options.ca_pem`. The probe then closes without
// sending a certificate, so it is never a refused handshake. OK when the server got that far;
// Unavailable (with the reason) otherwise, including when this process has no descriptor left.
[[nodiscard]] absl::Status ProbeTlsAccept(const AcceptProbeOptions& options);

// Notices a collector that can no longer accept connections (descriptor exhaustion stops
// gRPC 1.51's accept loop for good while the process stays alive): a thread runs
// ProbeTlsAccept every `interval` and calls `on_failed` once after `failures_to_fail`
// consecutive failures, so main can exit non-zero and systemd restart the collector.
// Thread-compatible: Start and Stop from one thread; `on_failed` runs on the probe thread.
class AcceptProbe {
 public:
  AcceptProbe(AcceptProbeOptions options, std::function<void(const absl::Status&)> on_failed);
  // Calls Stop().
  ~AcceptProbe();
  AcceptProbe(const AcceptProbe&) = delete;
  AcceptProbe& operator=(const AcceptProbe&) = delete;

  // Starts the probe thread. InvalidArgument for bad options; FailedPrecondition when started.
  [[nodiscard]] absl::Status Start();
  // Wakes and joins the probe thread. Idempotent.
  void Stop();

  // Probes run and failed so far.
  int64_t probes() const { return probes_.load(std::memory_order_relaxed); }
  int64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  void Run();

  const AcceptProbeOptions options_;
  const std::function<void(const absl::Status&)> on_failed_;
  absl::Notification stop_;
  std::thread thread_;
  // Relaxed: statistics only.
  std::atomic<int64_t> probes_{0};
  std::atomic<int64_t> failures_{0};
};

}  // namespace synmap::collector
