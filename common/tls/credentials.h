#pragma once

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "common/tls/tls_files.h"

namespace grpc {
class Channel;
class ChannelCredentials;
class ServerCredentials;
}  // namespace grpc

namespace synmap::common {

// Server credentials that present `material`'s certificate and require every client to send
// a certificate that verifies against `material.ca_pem`
// (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY): a client without one, or
// with one from another CA or out of its validity period, fails the TLS handshake.
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsMaterial& material);

// Plaintext server credentials for the binaries' explicit --insecure-for-testing flag only.
// Calls over them carry no certificate, so PeerIdentityFromContext refuses every one of them.
std::shared_ptr<grpc::ServerCredentials> MakeInsecureServerCredentialsForTesting();

// Client credentials that present `material`'s certificate and verify the server's against
// `material.ca_pem`.
std::shared_ptr<grpc::ChannelCredentials> MakeClientCredentials(const TlsMaterial& material);

// Options for MakeChannel. Plain data.
struct ChannelOptions {
  // When not empty, the name checked against the server certificate instead of the host in
  // the target (tests connect to 127.0.0.1 with a cert for "localhost"; also for IP targets
  // whose cert lacks the IP SAN).
  std::string target_name_override;
  // Largest message the client accepts, in bytes.
  int max_receive_message_bytes = 16 << 20;
};

// A mutual-TLS channel to `target` ("host:port"). Connects lazily; never fails here.
std::shared_ptr<grpc::Channel> MakeChannel(absl::string_view target, const TlsMaterial& material,
                                           const ChannelOptions& options = {});

}  // namespace synmap::common
