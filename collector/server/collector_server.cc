#include "collector/server/collector_server.h"

#include <grpc/support/log.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "collector/server/enrolment_port.h"
#include "collector/server/handshake_peer.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "common/tls/certificate_check.h"
#include "common/tls/credentials.h"

namespace synmap::collector {
namespace {

// Why `listen_address` ("HOST:PORT") cannot be bound, found by binding it once more the way
// gRPC does (SO_REUSEADDR, no SO_REUSEPORT); empty when it can be bound now.
std::string BindFailure(const std::string& listen_address) {
  const size_t colon = listen_address.rfind(':');
  std::string host = listen_address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port = listen_address.substr(colon + 1);
  if (const int rc =
          getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    return gai_strerror(rc);
  }
  std::string failure;
  for (const addrinfo* a = found; a != nullptr && failure.empty(); a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      failure = std::strerror(errno);
      break;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0) {
      failure = errno == EADDRINUSE
                    ? "address already in use (is another collector listening there?)"
                    : std::strerror(errno);
    }
    close(fd);
  }
  freeaddrinfo(found);
  return failure;
}

// Refused TLS handshakes by reason. Process-wide and never destroyed: gRPC's log function is
// global and may run on any gRPC thread until the process exits.
RefusalCounters& TlsRefusals() {
  static auto* counters = new RefusalCounters();
  return *counters;
}

// The reason of a failed handshake, from gRPC's "Handshake failed with fatal error ..." line.
absl::string_view HandshakeRefusalReason(absl::string_view message) {
  struct Known {
    absl::string_view text;
    absl::string_view reason;
  };
  static constexpr Known kKnown[] = {
      {"peer did not return a certificate", "no_client_certificate"},
      // gRPC's own chain check is off (the verifier names the problem); kept for safety.
      {"certificate verify failed", "client_certificate_not_verified"},
      {"wrong version number", "not_tls"},
      {"http request", "not_tls"},
      {"packet length too long", "not_tls"},
      {"length mismatch", "not_tls"},
      {"unsupported protocol", "tls_version"},
      {"no shared cipher", "no_shared_cipher"},
      // An alert received: the client refused the collector's certificate (another CA, expired).
      {"alert", "client_refused_collector_certificate"},
  };
  for (const Known& k : kKnown) {
    if (absl::StrContains(message, k.text)) {
      return k.reason;
    }
  }
  return "other";
}

// The peer of the handshake this gRPC thread is in, for a log field ("unknown" when it cannot
// be told; see handshake_peer.h).
std::string PeerField() {
  std::string peer = HandshakePeerAddress();
  return peer.empty() ? "unknown" : peer;
}

// Keeps gRPC's own lines out of the collector's log: a handshake gRPC refuses (no client
// certificate, not TLS, an alert from the client) becomes one `tls_handshake_refused` line with
// the peer's address and a count by reason; other gRPC errors become `grpc_error` lines (at most
// one a second, the count of skipped ones lost); gRPC's INFO lines are dropped. A refused client
// certificate is logged by RefuseCertificate instead; gRPC logs no error line of its own then.
void RouteGrpcLog(gpr_log_func_args* args) {
  const absl::string_view message = args->message != nullptr ? args->message : "";
  if (absl::StrContains(message, "Handshake failed")) {
    const absl::string_view reason = HandshakeRefusalReason(message);
    TlsRefusals().Add(reason);
    SYNMAP_LOG(WARNING) << "tls_handshake_refused peer=" << PeerField() << " reason=" << reason
                        << " detail=\"" << message << "\"";
    return;
  }
  if (args->severity == GPR_LOG_SEVERITY_ERROR) {
    SYNMAP_LOG_EVERY_N_SEC(WARNING, 1) << "grpc_error message=\"" << message << "\"";
  }
}

// A subject field of an unverified certificate as a log value: "-" when empty, and anything
// outside [A-Za-z0-9._-] replaced by '?', so a refused peer cannot shape the log line.
std::string LogValue(absl::string_view text) {
  if (text.empty()) {
    return "-";
  }
  std::string value(text.substr(0, 64));
  for (char& c : value) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      c = '?';
    }
  }
  return value;
}

// Told by the credentials' certificate verifier, on the handshake's thread, that a client
// certificate is refused: one line with the peer's address and the exact reason, and a count.
void RefuseCertificate(const common::CertificateVerdict& verdict) {
  const absl::string_view reason = common::CertificateProblemReason(verdict.problem);
  TlsRefusals().Add(reason);
  SYNMAP_LOG(WARNING) << "tls_handshake_refused peer=" << PeerField() << " reason=" << reason
                      << " name=" << LogValue(verdict.name) << " role=" << LogValue(verdict.role)
                      << " detail=\"" << verdict.detail << "\"";
}

}  // namespace

const RefusalCounters& CollectorServer::tls_refusals() { return TlsRefusals(); }

absl::Status CollectorServerOptions::Validate() const {
  if (listen_address.empty() || listen_address.rfind(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", listen_address, "' is not HOST:PORT"));
  }
  if (!insecure_for_testing &&
      (tls.ca_pem.empty() || tls.cert_pem.empty() || tls.key_pem.empty())) {
    return absl::InvalidArgumentError("TLS CA, certificate and key are required");
  }
  if (!enrol_listen_address.empty() && (registrar == nullptr || insecure_for_testing ||
                                        enrol_listen_address.rfind(':') == std::string::npos)) {
    return absl::InvalidArgumentError(
        absl::StrCat("enrolment address '", enrol_listen_address,
                     "' needs HOST:PORT, an issuing CA (--issuing-ca, --issuing-ca-key) and TLS"));
  }
  if (revocation_poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("revocation_poll_interval must be positive");
  }
  return ingest.Validate();
}

absl::StatusOr<std::unique_ptr<CollectorServer>> CollectorServer::Start(
    const CollectorServerOptions& options, Store& store, const QueryEngine& engine,
    const Clock& clock) {
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  auto server = absl::WrapUnique(new CollectorServer());
  server->refusals_ = std::make_unique<RefusalCounters>();
  server->revocations_ = std::make_unique<RevocationList>(store, options.revocation_poll_interval);
  SYNMAP_RETURN_IF_ERROR(Annotate(server->revocations_->Start(), "read revocations"));
  server->ingest_ = std::make_unique<IngestService>(store, clock, *server->refusals_,
                                                    options.ingest, server->revocations_.get());
  server->query_ =
      std::make_unique<QueryService>(engine, *server->refusals_, server->revocations_.get());

  gpr_set_log_function(RouteGrpcLog);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address,
                           options.insecure_for_testing
                               ? common::MakeInsecureServerCredentialsForTesting()
                               : common::MakeServerCredentials(
                                     options.tls, clock, RefuseCertificate, options.crl,
                                     options.tls_files.has_value() ? &*options.tls_files : nullptr),
                           &server->port_);
  // The transport's cap is twice the named limit: a message just over the limit still reaches
  // IngestService, which refuses it by name (message_too_large), counts and logs it; anything
  // larger is cut off by gRPC before it is buffered.
  // gRPC sets SO_REUSEPORT by default, which lets a second collector bind the same port and
  // take half of the sensors' connections. One collector per port: binding a port in use fails.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(2 * options.ingest.limits.max_message_bytes);
  // A peer that connects and never finishes the TLS handshake is dropped after 10 s, not
  // gRPC's default 120 s, so stalled handshakes cannot pile up.
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10'000);
  // Find sensors that vanished without closing their connection (power loss, partition).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.RegisterService(server->ingest_.get());
  builder.RegisterService(server->query_.get());
  if (options.registrar != nullptr) {
    server->renewal_ = std::make_unique<RenewalService>(*options.registrar, *server->refusals_);
    builder.RegisterService(server->renewal_.get());
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    std::string why = BindFailure(options.listen_address);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address, ": ",
                     why.empty() ? "gRPC refused the port or the TLS material" : why));
  }
  RegisterListeningPort(server->port_);
  if (!options.enrol_listen_address.empty()) {
    SYNMAP_RETURN_IF_ERROR(server->StartEnrolment(options));
  }
  SYNMAP_LOG(INFO) << "collector_server_started port=" << server->port_ << " tls="
                   << (options.insecure_for_testing ? "off(insecure-for-testing)" : "mutual");
  return server;
}

absl::Status CollectorServer::StartEnrolment(const CollectorServerOptions& options) {
  enrolment_ = std::make_unique<EnrolmentService>(*options.registrar, *refusals_);
  absl::StatusOr<std::unique_ptr<EnrolmentPort>> port = EnrolmentPort::Start(
      options.enrol_listen_address, options.tls, options.tls_files, *enrolment_);
  if (!port.ok()) {
    std::string why = BindFailure(options.enrol_listen_address);
    return absl::UnavailableError(
        absl::StrCat("cannot listen for enrolment on ", options.enrol_listen_address, ": ",
                     why.empty() ? "gRPC refused the port or the TLS material" : why));
  }
  enrol_port_server_ = *std::move(port);
  enrol_port_ = enrol_port_server_->port();
  RegisterListeningPort(enrol_port_);  // Its refused handshakes are logged with their peer too.
  SYNMAP_LOG(INFO) << "enrolment_server_started port=" << enrol_port_
                   << " tls=server_only lifetime="
                   << absl::FormatDuration(options.registrar->lifetime())
                   << " reload=" << (options.tls_files.has_value() ? "on" : "off");
  return absl::OkStatus();
}

CollectorServer::~CollectorServer() { Shutdown(absl::Seconds(5)); }

void CollectorServer::Shutdown(absl::Duration grace) {
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  if (enrol_port_server_ != nullptr) {
    enrol_port_server_->Shutdown(grace);
    UnregisterListeningPort(enrol_port_);
  }
  enrol_port_server_.reset();
  enrolment_.reset();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
    server_->Wait();
    UnregisterListeningPort(port_);
  }
  server_.reset();
  // The ingest service's workers finish their in-flight store calls before it is gone.
  ingest_.reset();
  query_.reset();
  renewal_.reset();
  if (revocations_ != nullptr) {
    revocations_->Stop();
  }
}

}  // namespace synmap::collector
