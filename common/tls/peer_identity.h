#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace synmap::common {

// Roles, carried in the certificate subject's OU.
inline constexpr absl::string_view kRoleSensor = "sensor";
inline constexpr absl::string_view kRoleReader = "reader";
inline constexpr absl::string_view kRoleCollector = "collector";

// Who is on the other end of a connection, as its verified certificate says. Plain data.
struct PeerIdentity {
  std::string name;     // Subject CN: the sensor or reader name; data is stored under it.
  std::string role;     // Subject OU: "sensor", "reader", "collector" or whatever it says.
  std::string site;     // Subject L: the site a sensor certificate binds it to; "" = none.
  std::string address;  // gRPC peer string, e.g. "ipv4:127.0.0.1:40312"; for logs only.
  // The certificate's notBefore: a revocation of `name` covers certificates issued up to it.
  absl::Time not_before = absl::InfinitePast();

  friend bool operator==(const PeerIdentity&, const PeerIdentity&) = default;
};

// True for a valid sensor, reader or site name: 1 to 64 characters of [A-Za-z0-9._-].
bool IsValidPeerName(absl::string_view name);

// Parses the first certificate of `cert_pem` and returns its subject CN as name, OU as role and
// L (locality) as site (address left empty). Unauthenticated when it does not parse;
// PermissionDenied when the subject has no CN, several CNs, several OUs or several Ls, or a CN
// or L that is not a valid name (IsValidPeerName). A missing OU yields an empty role (which no
// service accepts); a missing L no site.
[[nodiscard]] absl::StatusOr<PeerIdentity> ParseCertificateIdentity(absl::string_view cert_pem);

// The identity of the peer of a server call, from its AuthContext property "x509_pem_cert"
// (set by gRPC's TLS transport after verifying the chain). Unauthenticated when the call has
// no verified certificate (e.g. a plaintext server); otherwise as ParseCertificateIdentity.
// `context` is only read during the call.
[[nodiscard]] absl::StatusOr<PeerIdentity> PeerIdentityFromContext(
    const grpc::ServerContextBase& context);

}  // namespace synmap::common
