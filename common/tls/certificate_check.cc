#include "common/tls/certificate_check.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/tls/crl.h"
#include "common/tls/internal/openssl_handles.h"
#include "common/tls/peer_identity.h"

namespace synmap::common {
namespace {

using internal::X509Handle;

std::string FormatAsn1Time(const ASN1_TIME* t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", internal::ToAbslTime(t), absl::UTCTimeZone());
}

std::string IssuerOf(X509* cert) {
  char buf[256];
  X509_NAME_oneline(X509_get_issuer_name(cert), buf, sizeof(buf));
  return buf;
}

CertificateProblem ProblemOf(int error) {
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return CertificateProblem::kExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return CertificateProblem::kNotYetValid;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return CertificateProblem::kUnknownCa;
    default:
      return CertificateProblem::kNotVerified;
  }
}

// OpenSSL's words for `error` and the date or issuer of `cert` that it concerns.
std::string DetailOf(int error, X509* cert) {
  std::string detail = X509_verify_cert_error_string(error);
  if (cert == nullptr) {
    return detail;
  }
  switch (ProblemOf(error)) {
    case CertificateProblem::kExpired:
      return absl::StrCat(detail, " (not after ", FormatAsn1Time(X509_get0_notAfter(cert)), ")");
    case CertificateProblem::kNotYetValid:
      return absl::StrCat(detail, " (not before ", FormatAsn1Time(X509_get0_notBefore(cert)), ")");
    case CertificateProblem::kUnknownCa:
      return absl::StrCat(detail, " (issuer ", IssuerOf(cert), ")");
    default:
      return detail;
  }
}

}  // namespace

absl::string_view CertificateProblemReason(CertificateProblem problem) {
  switch (problem) {
    case CertificateProblem::kNone:
      return "";
    case CertificateProblem::kNoCertificate:
      return "no_client_certificate";
    case CertificateProblem::kExpired:
      return "client_certificate_expired";
    case CertificateProblem::kNotYetValid:
      return "client_certificate_not_yet_valid";
    case CertificateProblem::kUnknownCa:
      return "client_certificate_unknown_ca";
    case CertificateProblem::kNotVerified:
      return "client_certificate_not_verified";
    case CertificateProblem::kRevoked:
      return "revoked";
  }
  return "client_certificate_not_verified";
}

CertificateVerdict CheckCertificateChain(absl::string_view chain_pem, absl::string_view ca_pem,
                                         absl::Time now, const CertificateRevocationList* crl) {
  CertificateVerdict verdict;
  std::vector<X509Handle> chain = internal::ParseAllCertificates(chain_pem);
  if (chain.empty()) {
    verdict.problem = CertificateProblem::kNoCertificate;
    verdict.detail = "no certificate that parses";
    return verdict;
  }
  X509* leaf = chain.front().get();
  if (absl::StatusOr<PeerIdentity> identity = ParseCertificateIdentity(chain_pem); identity.ok()) {
    verdict.name = identity->name;
    verdict.role = identity->role;
  }
  internal::X509StoreHandle store(X509_STORE_new());
  internal::X509StackHandle untrusted(sk_X509_new_null());
  internal::X509StoreCtxHandle ctx(X509_STORE_CTX_new());
  int anchors = 0;
  for (X509Handle& ca : internal::ParseAllCertificates(ca_pem)) {
    anchors += store != nullptr && X509_STORE_add_cert(store.get(), ca.get()) == 1 ? 1 : 0;
  }
  for (size_t i = 1; i < chain.size() && untrusted != nullptr; ++i) {
    sk_X509_push(untrusted.get(), chain[i].get());
  }
  if (anchors == 0 || untrusted == nullptr || ctx == nullptr ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1 ||
      X509_STORE_CTX_set_default(ctx.get(), "ssl_client") != 1) {
    // Nothing to verify against (a broken CA file is refused at start): refuse, never accept.
    ERR_clear_error();
    verdict.problem = CertificateProblem::kNotVerified;
    verdict.detail = "no trust anchor to verify against";
    return verdict;
  }
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), absl::ToTimeT(now));
  if (X509_verify_cert(ctx.get()) == 1) {
    if (crl != nullptr && crl->Lists(leaf)) {
      verdict.problem = CertificateProblem::kRevoked;
      verdict.detail = absl::StrCat("certificate is listed in the CRL of ", crl->issuer());
    }
    return verdict;
  }
  const int error = X509_STORE_CTX_get_error(ctx.get());
  verdict.problem = ProblemOf(error);
  verdict.detail = DetailOf(error, X509_STORE_CTX_get_current_cert(ctx.get()));
  ERR_clear_error();
  return verdict;
}

}  // namespace synmap::common
