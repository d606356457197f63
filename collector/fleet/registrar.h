#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "collector/fleet/issuing_ca.h"
#include "collector/store/admin_store.h"
#include "collector/store/enrolment_tokens.h"
#include "common/time/clock.h"
#include "common/tls/peer_identity.h"

namespace synmap::collector {

// Default lifetime of the certificates the collector signs.
inline constexpr absl::Duration kDefaultCertificateLifetime = absl::Hours(24 * 30);

// Makes an enrolment token for `name` and `role` (sensor or reader) that expires `ttl` after
// `now`, stores its hash in `tokens` and returns the token text (shown once, never stored).
// InvalidArgument for a bad name, role or ttl; the store's errors otherwise.
[[nodiscard]] absl::StatusOr<std::string> CreateEnrolmentToken(EnrolmentTokens& tokens,
                                                               absl::string_view name,
                                                               absl::string_view role,
                                                               absl::Duration ttl, absl::Time now);

// The outcome of Registrar::Enroll or Renew. Plain data.
struct IssueResult {
  // OK when issued; else the status for the peer (PermissionDenied, InvalidArgument,
  // Unavailable) with a message that says why.
  absl::Status status;
  // When refused: the reason counted and logged ("enrol_token_unknown", "enrol_token_used",
  // "enrol_token_expired", "enrol_wrong_name", "enrol_wrong_role", "enrol_bad_request",
  // "renew_revoked", "renew_wrong_identity", "renew_bad_request"); empty when issued or when the
  // store failed.
  std::string refusal_reason;
  // When issued: the new certificate followed by the issuing CA (PEM).
  std::string certificate_chain_pem;
};

// Signs certificates for enrolment tokens and for renewals by the collector's issuing CA.
// Tokens come from `tokens`, revocations from `admin`. Borrows `ca`, `tokens`, `admin` and
// `clock`, which must outlive it. Thread-safe (the database makes a token's use atomic across
// collectors sharing it).
class Registrar {
 public:
  Registrar(const IssuingCa& ca, EnrolmentTokens& tokens, AdminStore& admin, const Clock& clock,
            absl::Duration lifetime = kDefaultCertificateLifetime)
      : ca_(ca), tokens_(tokens), admin_(admin), clock_(clock), lifetime_(lifetime) {}

  // Uses up `token` and, when it is known, unused, unexpired and bound to the CSR's CN and OU,
  // signs the CSR. A token is used up by the first attempt, refused or not.
  IssueResult Enroll(absl::string_view token, absl::string_view csr_pem);

  // Signs `csr_pem` for `peer`, whose current verified certificate is `peer_cert_pem`, when
  // the CSR names the same CN and OU, the role is sensor or reader, and the name is not revoked
  // (a revocation at or after that certificate's notBefore).
  IssueResult Renew(const common::PeerIdentity& peer, absl::string_view peer_cert_pem,
                    absl::string_view csr_pem);

  absl::Duration lifetime() const { return lifetime_; }
  const IssuingCa& ca() const { return ca_; }

 private:
  IssueResult Sign(absl::string_view csr_pem);

  const IssuingCa& ca_;
  EnrolmentTokens& tokens_;
  AdminStore& admin_;
  const Clock& clock_;
  const absl::Duration lifetime_;
};

}  // namespace synmap::collector
