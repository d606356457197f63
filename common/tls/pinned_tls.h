#pragma once

#include <memory>

#include "absl/strings/string_view.h"
#include "common/tls/credentials.h"
#include "common/tls/tls_files.h"

namespace grpc {
class Channel;
class ServerCredentials;
}  // namespace grpc

namespace synmap::common {

// TLS that authenticates the server only, for enrolment: the client has no certificate yet and
// authenticates itself inside the call (a one-time token), and it knows the deployment CA only
// by its SHA-256 fingerprint.

// Server credentials that present `material`'s certificate followed by `material.ca_pem` (so
// that a client can find the CA it pinned in the handshake) and request no client certificate.
std::shared_ptr<grpc::ServerCredentials> MakeServerAuthenticatedCredentials(
    const TlsMaterial& material);

// A channel to `target` that accepts the server only when its certificate chain holds a CA whose
// fingerprint is `ca_fingerprint` (as NormalizeFingerprint writes it), the server certificate
// verifies against that CA as a TLS server certificate, and its OU is "collector". The host name
// is not checked: the pinned CA stands for it. Sends no client certificate. Connects lazily.
std::shared_ptr<grpc::Channel> MakePinnedChannel(absl::string_view target,
                                                 absl::string_view ca_fingerprint,
                                                 const ChannelOptions& options = {});

}  // namespace synmap::common
