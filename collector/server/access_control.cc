#include "collector/server/access_control.h"

#include <grpcpp/server_context.h>

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/log/log.h"

namespace synmap::collector {

absl::StatusOr<common::PeerIdentity> AuthorizePeer(const grpc::ServerContextBase& context,
                                                   absl::string_view rpc,
                                                   absl::string_view required_role,
                                                   RefusalCounters& counters,
                                                   const RevocationList* revocations) {
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
  if (revocations != nullptr) {
    if (std::optional<Revocation> revoked = revocations->Find(*identity)) {
      return RefuseRevoked(*identity, *revoked, rpc, counters);
    }
  }
  return identity;
}

std::string PeerCertificatePem(const grpc::ServerContextBase& context) {
  std::string pem;
  if (const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context()) {
    for (const grpc::string_ref& value : auth->FindPropertyValues("x509_pem_cert")) {
      pem.assign(value.data(), value.size());
    }
  }
  return pem;
}

absl::Status RefuseRevoked(const common::PeerIdentity& identity, const Revocation& revocation,
                           absl::string_view rpc, RefusalCounters& counters) {
  counters.Add("revoked");
  const std::string at =
      absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", revocation.revoked_at, absl::UTCTimeZone());
  SYNMAP_LOG(WARNING) << "peer_refused rpc=" << rpc << " peer=" << identity.address
                      << " name=" << identity.name << " role=" << identity.role
                      << " reason=revoked revoked_at=\"" << at << "\"";
  return absl::PermissionDeniedError(
      absl::StrCat("revoked: the certificate of '", identity.name, "' was revoked at ", at,
                   revocation.reason.empty() ? "" : absl::StrCat(" (", revocation.reason, ")"),
                   "; only a certificate issued after that time is accepted"));
}

}  // namespace synmap::collector
