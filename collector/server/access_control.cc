#include "collector/server/access_control.h"

#include <grpcpp/server_context.h>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace synmap::collector {

absl::StatusOr<common::PeerIdentity> AuthorizePeer(const grpc::ServerContextBase& context,
                                                   absl::string_view rpc,
                                                   absl::string_view required_role,
                                                   RefusalCounters& counters) {
  absl::StatusOr<common::PeerIdentity> identity = common::PeerIdentityFromContext(context);
  if (!identity.ok()) {
    const bool unauthenticated = identity.status().code() == absl::StatusCode::kUnauthenticated;
    counters.Add(unauthenticated ? "unauthenticated" : "permission_denied");
    SYNMAP_LOG(WARNING) << "peer_refused rpc=" << rpc << " peer=" << context.peer()
                        << " reason=" << identity.status().message();
    return identity.status();
  }
  if (identity->role != required_role) {
    counters.Add("permission_denied");
    SYNMAP_LOG(WARNING) << "peer_refused rpc=" << rpc << " peer=" << identity->address
                        << " name=" << identity->name << " role=" << identity->role
                        << " reason=role_not_allowed";
    return absl::PermissionDeniedError(
        absl::StrCat(rpc, " requires a certificate with OU=", required_role, "; '", identity->name,
                     "' has OU=", identity->role.empty() ? "(none)" : identity->role));
  }
  return identity;
}

}  // namespace synmap::collector
