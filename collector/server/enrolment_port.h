#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/tls/reloading_credentials.h"
#include "common/tls/tls_files.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace synmap::collector {

// The gRPC server of the collector's enrolment port: `service` over TLS that authenticates the
// collector only, its certificate sent together with the CA so that an enrolling client can
// pin the CA's fingerprint. When `files` are given it re-reads them every `reload_every` (the
// main port's file watcher period) and, once a complete, matching new certificate and key are
// there, serves again on the same port with them: gRPC's file watcher cannot send the CA along,
// so the port is rebuilt instead (an Enroll call in flight gets 1 s to finish; a connection in
// the few milliseconds between is refused and tried again by the client). Borrows `service`,
// which must outlive it. Thread-compatible (Start, then Shutdown from one thread); one thread of
// its own when reloading.
class EnrolmentPort {
 public:
  // Binds `listen_address` ("HOST:PORT"; port 0 picks one). Unavailable when it cannot be bound
  // or gRPC refuses the TLS material.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<EnrolmentPort>> Start(
      const std::string& listen_address, const common::TlsMaterial& tls,
      const std::optional<common::TlsFiles>& files, grpc::Service& service,
      absl::Duration reload_every = common::kTlsFileRefreshInterval);
  // Calls Shutdown(absl::Seconds(5)).
  ~EnrolmentPort();
  EnrolmentPort(const EnrolmentPort&) = delete;
  EnrolmentPort& operator=(const EnrolmentPort&) = delete;

  // The bound port.
  int port() const { return port_; }
  // How often the port was rebuilt with a replaced certificate.
  uint64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }
  // Stops reloading and serving; open calls get up to `grace`. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  EnrolmentPort(grpc::Service& service, std::string host);
  // A server for `tls` on `address`; null when gRPC cannot bind it.
  std::unique_ptr<grpc::Server> Serve(const std::string& address, const common::TlsMaterial& tls,
                                      int* port);
  // Every `every`: re-reads `files` and serves the new material when it changed.
  void ReloadLoop(common::TlsFiles files, absl::Duration every);

  grpc::Service& service_;
  const std::string host_;  // Of the listen address, for binding the same port again.
  int port_ = 0;
  absl::Notification stop_;
  std::thread reloader_;
  std::atomic<uint64_t> reloads_{0};  // Relaxed: read for tests and logs only.
  // Set before the reloader starts, then its own until Shutdown has joined it: no lock needed.
  common::TlsMaterial serving_;  // What the server presents.
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace synmap::collector
