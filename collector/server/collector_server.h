#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "collector/fleet/registrar.h"
#include "collector/query/query_engine.h"
#include "collector/server/enrol_service.h"
#include "collector/server/enrolment_port.h"
#include "collector/server/ingest_service.h"
#include "collector/server/query_service.h"
#include "collector/server/refusal_counters.h"
#include "collector/server/revocation_list.h"
#include "collector/store/store.h"
#include "common/time/clock.h"
#include "common/tls/crl.h"
#include "common/tls/tls_files.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace synmap::collector {

// Options of CollectorServer. Plain data.
struct CollectorServerOptions {
  // "HOST:PORT" to listen on ("127.0.0.1:0" picks a free port, see port()).
  std::string listen_address;
  // CA, certificate and key of the collector; clients must present a cert from that CA.
  common::TlsMaterial tls;
  // The files `tls` was read from, when it was: the main and enrolment ports then re-read the
  // collector's certificate and key every 5 s, so a replaced certificate needs no restart.
  std::optional<common::TlsFiles> tls_files;
  // Plaintext instead of mTLS (the binaries' --insecure-for-testing). Plaintext calls carry no
  // certificate, so every Ingest and Query call is refused UNAUTHENTICATED: only useful to
  // check that a deployment's network path works.
  bool insecure_for_testing = false;
  IngestServiceOptions ingest;
  // How often the store's revocations are read (RevocationList): a revocation made at any
  // collector sharing the database closes the revoked identity's streams here within this.
  absl::Duration revocation_poll_interval = absl::Milliseconds(500);
  // The deployment CRL in force (--crl), checked in every TLS handshake; null = none. Borrowed:
  // must outlive the server.
  const common::CrlHolder* crl = nullptr;
  // When set (the collector has an issuing CA), the Renewal service is served on
  // listen_address, and the Enrolment service on enrol_listen_address when that is set: TLS
  // that authenticates the collector only (docs/operations.md, "Add a sensor in two
  // commands"). Borrowed: must outlive the server.
  Registrar* registrar = nullptr;
  // "HOST:PORT" of the enrolment port ("127.0.0.1:0" picks a free port, see enrol_port()).
  std::string enrol_listen_address;

  [[nodiscard]] absl::Status Validate() const;
};

// The collector's gRPC server: Ingest and Query services over mutual TLS, with the ingest
// limits' maximum message size. Borrows `store`, `engine` and `clock`, which must outlive it.
// Thread-safe.
class CollectorServer {
 public:
  // Reads the store's revocations (RevocationList), then binds and starts serving.
  // InvalidArgument for bad options; Unavailable when the address cannot be bound; the store's
  // error when its revocations cannot be read.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<CollectorServer>> Start(
      const CollectorServerOptions& options, Store& store, const QueryEngine& engine,
      const Clock& clock);
  // Calls Shutdown(absl::Seconds(5)).
  ~CollectorServer();
  CollectorServer(const CollectorServer&) = delete;
  CollectorServer& operator=(const CollectorServer&) = delete;

  // The bound port (the chosen one when listening on port 0).
  int port() const { return port_; }
  // The bound enrolment port; 0 when there is none.
  int enrol_port() const { return enrol_port_; }

  // Stops accepting calls, lets open calls finish for up to `grace` (streams end when their
  // sensors close them or are cancelled after it; in-flight commits always complete), then
  // returns. Idempotent.
  void Shutdown(absl::Duration grace);

  IngestStats ingest_stats() const { return ingest_->stats(); }
  // Time each store commit took (see IngestService::commit_seconds).
  const common::Histogram& commit_seconds() const { return ingest_->commit_seconds(); }
  const RefusalCounters& refusals() const { return *refusals_; }
  // The revocations enforced on Ingest and Query calls.
  RevocationList& revocations() { return *revocations_; }
  // TLS handshakes refused (before any call), by reason: "client_certificate_expired",
  // "client_certificate_not_yet_valid", "client_certificate_unknown_ca",
  // "client_certificate_not_verified" (from the certificate verifier), "no_client_certificate",
  // "not_tls", "tls_version", "no_shared_cipher", "client_refused_collector_certificate",
  // "other" (from gRPC's log lines, which Start() routes into the collector's log format). Each
  // is also logged once as `tls_handshake_refused peer=ADDRESS reason=R ...`. Process-wide.
  static const RefusalCounters& tls_refusals();

 private:
  CollectorServer() = default;
  // Starts the enrolment server on options.enrol_listen_address. Unavailable when it cannot bind.
  [[nodiscard]] absl::Status StartEnrolment(const CollectorServerOptions& options);

  std::unique_ptr<RefusalCounters> refusals_;
  std::unique_ptr<RevocationList> revocations_;
  std::unique_ptr<IngestService> ingest_;
  std::unique_ptr<QueryService> query_;
  std::unique_ptr<RenewalService> renewal_;
  std::unique_ptr<EnrolmentService> enrolment_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<EnrolmentPort> enrol_port_server_;
  int port_ = 0;
  int enrol_port_ = 0;
  bool shut_down_ = false;
};

}  // namespace synmap::collector
