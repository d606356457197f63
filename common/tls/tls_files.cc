#include "common/tls/tls_files.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/tls/internal/openssl_handles.h"

namespace synmap::common {
namespace internal {

X509Handle ParseFirstCertificate(absl::string_view pem) {
  BioHandle bio = MemoryBio(pem);
  if (bio == nullptr) {
    return nullptr;
  }
  return X509Handle(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

std::vector<X509Handle> ParseAllCertificates(absl::string_view pem) {
  std::vector<X509Handle> certs;
  BioHandle bio = MemoryBio(pem);
  while (bio != nullptr) {
    X509Handle cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) {
      break;
    }
    certs.push_back(std::move(cert));
  }
  ERR_clear_error();  // The end of the PEM text is reported as an error.
  return certs;
}

std::string TakeOpenSslError() {
  const unsigned long code = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type.
  ERR_clear_error();
  if (code == 0) {
    return "unknown error";
  }
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

absl::Time ToAbslTime(const ASN1_TIME* t) {
  struct tm parts {};
  if (ASN1_TIME_to_tm(t, &parts) != 1) {
    return absl::InfinitePast();
  }
  return absl::FromTM(parts, absl::UTCTimeZone());
}

}  // namespace internal

namespace {

absl::StatusOr<internal::X509Handle> ParseCert(absl::string_view what, absl::string_view path,
                                               absl::string_view pem) {
  internal::X509Handle cert = internal::ParseFirstCertificate(pem);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(what, " file ", path,
                                                   ": not a PEM X.509 certificate (",
                                                   internal::TakeOpenSslError(), ")"));
  }
  return cert;
}

// PEM files are a few KiB; a huge one is a wrong path, not a certificate.
constexpr size_t kMaxPemFileBytes = 1 << 20;

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

}  // namespace

absl::StatusOr<std::string> ReadPemFile(absl::string_view what, absl::string_view path) {
  const std::string path_str(path);
  std::unique_ptr<FILE, FileCloser> file(std::fopen(path_str.c_str(), "rb"));
  if (file == nullptr) {
    const int err = errno;
    if (err == ENOENT) {
      return absl::NotFoundError(absl::StrCat(what, " file ", path, ": no such file"));
    }
    return absl::ErrnoToStatus(err, absl::StrCat("open ", what, " file ", path));
  }
  std::string pem;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), file.get())) > 0) {
    pem.append(buf, n);
    if (pem.size() > kMaxPemFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " file ", path, ": larger than ", kMaxPemFileBytes, " bytes"));
    }
  }
  if (std::ferror(file.get()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("read ", what, " file ", path));
  }
  if (pem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " file ", path, ": empty"));
  }
  if (!absl::StrContains(pem, "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " file ", path, ": no PEM block (expected -----BEGIN ...)"));
  }
  return pem;
}

absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files) {
  TlsMaterial m;
  SYNMAP_ASSIGN_OR_RETURN(m.ca_pem, ReadPemFile("ca", files.ca_path));
  SYNMAP_ASSIGN_OR_RETURN(m.cert_pem, ReadPemFile("certificate", files.cert_path));
  SYNMAP_ASSIGN_OR_RETURN(m.key_pem, ReadPemFile("key", files.key_path));

  SYNMAP_ASSIGN_OR_RETURN(internal::X509Handle ca, ParseCert("ca", files.ca_path, m.ca_pem));
  SYNMAP_ASSIGN_OR_RETURN(internal::X509Handle cert,
                          ParseCert("certificate", files.cert_path, m.cert_pem));
  internal::BioHandle key_bio = internal::MemoryBio(m.key_pem);
  internal::EvpPkeyHandle key(
      key_bio == nullptr ? nullptr
                         : PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("key file ", files.key_path,
                                                   ": not an unencrypted PEM private key (",
                                                   internal::TakeOpenSslError(), ")"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    internal::TakeOpenSslError();
    return absl::InvalidArgumentError(absl::StrCat(
        "key file ", files.key_path, " does not match certificate file ", files.cert_path));
  }
  return m;
}

absl::Status CheckCertificateValidity(absl::string_view what, absl::string_view cert_pem,
                                      absl::Time now) {
  internal::X509Handle cert = internal::ParseFirstCertificate(cert_pem);
  if (cert == nullptr) {
    internal::TakeOpenSslError();
    return absl::InvalidArgumentError(absl::StrCat(what, ": not a PEM X.509 certificate"));
  }
  const absl::Time not_before = internal::ToAbslTime(X509_get0_notBefore(cert.get()));
  const absl::Time not_after = internal::ToAbslTime(X509_get0_notAfter(cert.get()));
  if (now < not_before) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": certificate not valid before ", absl::FormatTime(not_before)));
  }
  if (now > not_after) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": certificate expired at ", absl::FormatTime(not_after)));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> CertificateNotAfter(absl::string_view cert_pem) {
  internal::X509Handle cert = internal::ParseFirstCertificate(cert_pem);
  if (cert == nullptr) {
    internal::TakeOpenSslError();
    return absl::InvalidArgumentError("not a PEM X.509 certificate");
  }
  return internal::ToAbslTime(X509_get0_notAfter(cert.get()));
}

}  // namespace synmap::common
