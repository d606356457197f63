#include "collector/server/collector_server.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "common/tls/credentials.h"

namespace synmap::collector {

absl::Status CollectorServerOptions::Validate() const {
  if (listen_address.empty() || listen_address.rfind(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", listen_address, "' is not HOST:PORT"));
  }
  if (!insecure_for_testing &&
      (tls.ca_pem.empty() || tls.cert_pem.empty() || tls.key_pem.empty())) {
    return absl::InvalidArgumentError("TLS CA, certificate and key are required");
  }
  return ingest.Validate();
}

absl::StatusOr<std::unique_ptr<CollectorServer>> CollectorServer::Start(
    const CollectorServerOptions& options, Store& store, const QueryEngine& engine,
    const Clock& clock) {
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  auto server = absl::WrapUnique(new CollectorServer());
  server->refusals_ = std::make_unique<RefusalCounters>();
  server->ingest_ =
      std::make_unique<IngestService>(store, clock, *server->refusals_, options.ingest);
  server->query_ = std::make_unique<QueryService>(engine, *server->refusals_);

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address,
                           options.insecure_for_testing
                               ? common::MakeInsecureServerCredentialsForTesting()
                               : common::MakeServerCredentials(options.tls),
                           &server->port_);
  // The transport's cap is twice the named limit: a message just over the limit still reaches
  // IngestService, which refuses it by name (message_too_large), counts and logs it; anything
  // larger is cut off by gRPC before it is buffered.
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
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address,
                     " (address in use, not local, or TLS material rejected)"));
  }
  SYNMAP_LOG(INFO) << "collector_server_started port=" << server->port_ << " tls="
                   << (options.insecure_for_testing ? "off(insecure-for-testing)" : "mutual");
  return server;
}

CollectorServer::~CollectorServer() { Shutdown(absl::Seconds(5)); }

void CollectorServer::Shutdown(absl::Duration grace) {
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
    server_->Wait();
  }
  server_.reset();
  // The ingest service's workers finish their in-flight store calls before it is gone.
  ingest_.reset();
  query_.reset();
}

}  // namespace synmap::collector
