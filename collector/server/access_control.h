#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/server/refusal_counters.h"
#include "common/tls/peer_identity.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace synmap::collector {

// Returns the identity of the peer of `context` when its certificate role is
// `required_role`. Otherwise counts the refusal in `counters` ("unauthenticated" or
// "permission_denied"), logs it with the peer's address and name and the `rpc` it called, and
// returns Unauthenticated (no usable certificate) or PermissionDenied (wrong role or a subject
// the collector does not accept).
[[nodiscard]] absl::StatusOr<common::PeerIdentity> AuthorizePeer(
    const grpc::ServerContextBase& context, absl::string_view rpc, absl::string_view required_role,
    RefusalCounters& counters);

}  // namespace synmap::collector
