#include "collector/fleet/registrar.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/enrol/enrolment_token.h"
#include "common/status/status_macros.h"
#include "common/tls/internal/openssl_handles.h"

namespace synmap::collector {
namespace {

IssueResult Refuse(absl::string_view reason, absl::Status status) {
  IssueResult result;
  result.status = std::move(status);
  result.refusal_reason = std::string(reason);
  return result;
}

// A failure that is not a refusal (the store is down): not counted.
IssueResult Failed(absl::Status status) { return Refuse("", std::move(status)); }

IssueResult Denied(absl::string_view reason, absl::string_view message) {
  return Refuse(reason, absl::PermissionDeniedError(message));
}

}  // namespace

absl::StatusOr<std::string> CreateEnrolmentToken(EnrolmentTokens& tokens, absl::string_view name,
                                                 absl::string_view role, absl::Duration ttl,
                                                 absl::Time now) {
  if (role != common::kRoleSensor && role != common::kRoleReader) {
    return absl::InvalidArgumentError(absl::StrCat("--role '", role, "' is not sensor or reader"));
  }
  if (ttl <= absl::ZeroDuration() || ttl > absl::Hours(24 * 365)) {
    return absl::InvalidArgumentError(absl::StrCat("--ttl ", absl::FormatDuration(ttl),
                                                   " must be positive and at most a year (365d)"));
  }
  SYNMAP_ASSIGN_OR_RETURN(std::string token, common::NewEnrolmentToken(name));
  SYNMAP_RETURN_IF_ERROR(tokens.Add(EnrolmentToken{
      .hash = common::EnrolmentTokenHash(token),
      .name = std::string(name),
      .role = std::string(role),
      .created = now,
      .expires = now + ttl,
      .used = std::nullopt,
  }));
  return token;
}

IssueResult Registrar::Sign(absl::string_view csr_pem) {
  absl::StatusOr<std::string> chain = ca_.Sign(csr_pem, clock_.Now(), lifetime_);
  if (!chain.ok()) {
    return chain.status().code() == absl::StatusCode::kInvalidArgument
               ? Refuse("enrol_bad_request", chain.status())
               : Failed(chain.status());
  }
  IssueResult issued;
  issued.certificate_chain_pem = *std::move(chain);
  return issued;
}

IssueResult Registrar::Enroll(absl::string_view token, absl::string_view csr_pem) {
  absl::StatusOr<RequestSubject> subject = ReadRequestSubject(csr_pem);
  if (!subject.ok()) {
    return Refuse("enrol_bad_request", subject.status());
  }
  const absl::Time now = clock_.Now();
  absl::StatusOr<EnrolmentToken> claimed = tokens_.Claim(common::EnrolmentTokenHash(token), now);
  if (absl::IsNotFound(claimed.status())) {
    return Denied("enrol_token_unknown",
                  "unknown enrolment token (make one with `synmap-collector token create`)");
  }
  if (!claimed.ok()) {
    return Failed(claimed.status());
  }
  if (claimed->used.has_value()) {
    return Denied(
        "enrol_token_used",
        absl::StrCat("enrolment token for ", claimed->name, " was already used at ",
                     absl::FormatTime(*claimed->used, absl::UTCTimeZone()), "; make a new one"));
  }
  if (claimed->expires <= now) {
    return Denied(
        "enrol_token_expired",
        absl::StrCat("enrolment token for ", claimed->name, " expired at ",
                     absl::FormatTime(claimed->expires, absl::UTCTimeZone()), "; make a new one"));
  }
  if (subject->name != claimed->name) {
    return Denied("enrol_wrong_name",
                  absl::StrCat("the enrolment token is for name '", claimed->name,
                               "', the request names '", subject->name, "'; make a new token"));
  }
  if (subject->role != claimed->role) {
    return Denied("enrol_wrong_role",
                  absl::StrCat("the enrolment token is for a ", claimed->role,
                               ", the request is a ", subject->role, "'s; make a new token"));
  }
  IssueResult result = Sign(csr_pem);
  return result;
}

IssueResult Registrar::Renew(const common::PeerIdentity& peer, absl::string_view peer_cert_pem,
                             absl::string_view csr_pem) {
  absl::StatusOr<RequestSubject> subject = ReadRequestSubject(csr_pem);
  if (!subject.ok()) {
    return Refuse("renew_bad_request", subject.status());
  }
  if (subject->name != peer.name || subject->role != peer.role ||
      (peer.role != common::kRoleSensor && peer.role != common::kRoleReader)) {
    return Denied("renew_wrong_identity",
                  absl::StrCat("a ", peer.role, " named ", peer.name,
                               " may renew only its own sensor or reader certificate"));
  }
  common::internal::X509Handle cert = common::internal::ParseFirstCertificate(peer_cert_pem);
  const absl::Time peer_not_before =
      cert == nullptr ? absl::InfiniteFuture()
                      : common::internal::ToAbslTime(X509_get0_notBefore(cert.get()));
  absl::StatusOr<std::vector<Revocation>> revocations = admin_.Revocations();
  if (!revocations.ok()) {
    return Failed(revocations.status());
  }
  if (FindRevocation(*revocations, peer.name, peer_not_before) != nullptr) {
    return Denied("renew_revoked", absl::StrCat(peer.name,
                                                " is revoked; enrol it again with a "
                                                "new token once it is trusted again"));
  }
  IssueResult result = Sign(csr_pem);
  if (result.refusal_reason == "enrol_bad_request") {
    result.refusal_reason = "renew_bad_request";
  }
  return result;
}

}  // namespace synmap::collector
