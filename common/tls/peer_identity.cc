#include "common/tls/peer_identity.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/tls/internal/openssl_handles.h"

namespace synmap::common {
namespace {

constexpr size_t kMaxNameBytes = 64;

// All UTF-8 values of subject entries with `nid`.
std::vector<std::string> SubjectEntries(X509* cert, int nid) {
  std::vector<std::string> values;
  const X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = X509_NAME_get_index_by_NID(subject, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, nid, i)) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0) {
      values.emplace_back();  // Unconvertible: kept as an empty value, which is refused.
      continue;
    }
    values.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
    OPENSSL_free(utf8);
  }
  return values;
}

}  // namespace

bool IsValidPeerName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return false;
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<PeerIdentity> ParseCertificateIdentity(absl::string_view cert_pem) {
  internal::X509Handle cert = internal::ParseFirstCertificate(cert_pem);
  if (cert == nullptr) {
    internal::TakeOpenSslError();
    return absl::UnauthenticatedError("peer certificate does not parse");
  }
  std::vector<std::string> cns = SubjectEntries(cert.get(), NID_commonName);
  std::vector<std::string> ous = SubjectEntries(cert.get(), NID_organizationalUnitName);
  if (cns.size() != 1) {
    return absl::PermissionDeniedError(
        absl::StrCat("peer certificate subject has ", cns.size(), " CNs, need exactly 1"));
  }
  if (!IsValidPeerName(cns[0])) {
    return absl::PermissionDeniedError(
        "peer certificate CN is not a valid name ([A-Za-z0-9._-], 1 to 64 characters)");
  }
  if (ous.size() > 1) {
    return absl::PermissionDeniedError(
        absl::StrCat("peer certificate subject has ", ous.size(), " OUs, need at most 1"));
  }
  std::vector<std::string> sites = SubjectEntries(cert.get(), NID_localityName);
  if (sites.size() > 1) {
    return absl::PermissionDeniedError(
        absl::StrCat("peer certificate subject has ", sites.size(), " Ls (sites), need at most 1"));
  }
  if (!sites.empty() && !IsValidPeerName(sites[0])) {
    return absl::PermissionDeniedError(
        "peer certificate L (site) is not a valid name ([A-Za-z0-9._-], 1 to 64 characters)");
  }
  PeerIdentity identity;
  identity.name = std::move(cns[0]);
  identity.not_before = internal::ToAbslTime(X509_get0_notBefore(cert.get()));
  if (!sites.empty()) {
    identity.site = std::move(sites[0]);
  }
  if (!ous.empty()) {
    identity.role = std::move(ous[0]);
  }
  return identity;
}

absl::StatusOr<PeerIdentity> PeerIdentityFromContext(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return absl::UnauthenticatedError("no verified client certificate");
  }
  std::vector<grpc::string_ref> pems = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) {
    return absl::UnauthenticatedError("no verified client certificate");
  }
  absl::StatusOr<PeerIdentity> identity =
      ParseCertificateIdentity(absl::string_view(pems[0].data(), pems[0].size()));
  if (identity.ok()) {
    identity->address = context.peer();
  }
  return identity;
}

}  // namespace synmap::common
