#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/server/refusal_counters.h"
#include "collector/server/revocation_list.h"
#include "common/tls/peer_identity.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace synmap::collector {

// Returns the identity of the peer of `context` when its certificate role is
// `required_role` and (with `revocations`) its certificate is not revoked. Otherwise counts the
// refusal in `counters` ("unauthenticated", "permission_denied" or "revoked"), logs it with the
// peer's address and name and the `rpc` it called, and returns Unauthenticated (no usable
// certificate) or PermissionDenied (wrong role, a subject the collector does not accept, or a
// revoked certificate: the message starts with "revoked:").
[[nodiscard]] absl::StatusOr<common::PeerIdentity> AuthorizePeer(
    const grpc::ServerContextBase& context, absl::string_view rpc, absl::string_view required_role,
    RefusalCounters& counters, const RevocationList* revocations = nullptr);

// The verified certificate (PEM) of the peer of `context` (gRPC's "x509_pem_cert"); empty when
// the call has none. `context` is only read during the call.
std::string PeerCertificatePem(const grpc::ServerContextBase& context);

// With `revocation` in force against `identity`: counts ("revoked"), logs, and returns the
// PermissionDenied told to the peer (message starting "revoked:", with the time and reason).
[[nodiscard]] absl::Status RefuseRevoked(const common::PeerIdentity& identity,
                                         const Revocation& revocation, absl::string_view rpc,
                                         RefusalCounters& counters);

}  // namespace synmap::collector
