#include "common/tls/crl.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/tls/internal/openssl_handles.h"

namespace synmap::common {
namespace {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::ErrnoToStatus(errno, absl::StrCat("read crl ", path));
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// PEM when the text has a CRL block, else DER.
X509_CRL* ParseCrl(const std::string& bytes) {
  internal::BioHandle bio = internal::MemoryBio(bytes);
  if (bio == nullptr) {
    return nullptr;
  }
  if (absl::StrContains(bytes, "-----BEGIN X509 CRL-----")) {
    return PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
  }
  return d2i_X509_CRL_bio(bio.get(), nullptr);
}

// Whether a certificate of `ca_pem` whose subject is the CRL's issuer signed `crl`.
bool SignedByCa(X509_CRL* crl, absl::string_view ca_pem) {
  internal::BioHandle bio = internal::MemoryBio(ca_pem);
  bool signed_by_ca = false;
  while (bio != nullptr && !signed_by_ca) {
    internal::X509Handle ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (ca == nullptr) {
      break;
    }
    EVP_PKEY* key = X509_get0_pubkey(ca.get());
    signed_by_ca = X509_NAME_cmp(X509_get_subject_name(ca.get()), X509_CRL_get_issuer(crl)) == 0 &&
                   key != nullptr && X509_CRL_verify(crl, key) == 1;
  }
  ERR_clear_error();  // The end of the PEM text is reported as an error.
  return signed_by_ca;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CertificateRevocationList>> CertificateRevocationList::Load(
    const std::string& path, absl::string_view ca_pem) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) {
    return bytes.status();
  }
  X509_CRL* crl = ParseCrl(*bytes);
  if (crl == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("crl ", path, " is not a certificate revocation list in PEM or DER (",
                     internal::TakeOpenSslError(), ")"));
  }
  std::shared_ptr<const CertificateRevocationList> list(new CertificateRevocationList(crl));
  if (!SignedByCa(crl, ca_pem)) {
    return absl::InvalidArgumentError(
        absl::StrCat("crl ", path, " (issuer ", list->issuer(),
                     ") is not signed by the deployment CA (--ca); give the CRL that CA issued"));
  }
  return list;
}

CertificateRevocationList::~CertificateRevocationList() { X509_CRL_free(crl_); }

bool CertificateRevocationList::Lists(X509* cert) const {
  X509_REVOKED* entry = nullptr;
  // Matches the serial and the certificate's issuer against the CRL's issuer.
  return cert != nullptr && X509_CRL_get0_by_cert(crl_, &entry, cert) == 1;
}

int CertificateRevocationList::revoked_count() const {
  const STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl_);
  return revoked == nullptr ? 0 : sk_X509_REVOKED_num(revoked);
}

std::string CertificateRevocationList::issuer() const {
  char buf[256];
  X509_NAME_oneline(X509_CRL_get_issuer(crl_), buf, sizeof(buf));
  return buf;
}

absl::Time CertificateRevocationList::this_update() const {
  return internal::ToAbslTime(X509_CRL_get0_lastUpdate(crl_));
}

absl::Time CertificateRevocationList::next_update() const {
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl_);
  return next == nullptr ? absl::InfiniteFuture() : internal::ToAbslTime(next);
}

}  // namespace synmap::common
