#include "common/tls/certificate_request.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/tls/internal/fingerprint.h"
#include "common/tls/internal/openssl_handles.h"
#include "common/tls/peer_identity.h"

namespace synmap::common {
namespace {

using internal::BioHandle;
using internal::EvpPkeyHandle;

struct X509ReqFree {
  void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};

// The whole content of a memory BIO written to by PEM_write_bio_*.
std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int): OpenSSL's type.
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

}  // namespace

absl::StatusOr<std::string> GeneratePrivateKeyPem() {
  EvpPkeyHandle key(EVP_EC_gen("P-256"));
  BioHandle out(BIO_new(BIO_s_mem()));
  if (key == nullptr || out == nullptr ||
      PEM_write_bio_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return absl::InternalError(
        absl::StrCat("generate EC P-256 key: ", internal::TakeOpenSslError()));
  }
  return BioText(out.get());
}

absl::StatusOr<std::string> MakeCertificateRequest(absl::string_view key_pem,
                                                   absl::string_view name, absl::string_view role) {
  if (!IsValidPeerName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("name '", name, "' is not 1-64 characters of [A-Za-z0-9._-]"));
  }
  BioHandle in = internal::MemoryBio(key_pem);
  EvpPkeyHandle key(in == nullptr ? nullptr
                                  : PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("private key does not parse: ", internal::TakeOpenSslError()));
  }
  std::unique_ptr<X509_REQ, X509ReqFree> req(X509_REQ_new());
  X509_NAME* subject = req == nullptr ? nullptr : X509_REQ_get_subject_name(req.get());
  const std::string role_text(role);
  const std::string name_text(name);
  auto add = [subject](const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(subject, field, MBSTRING_ASC,
                                      reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                      0) == 1;
  };
  BioHandle out(BIO_new(BIO_s_mem()));
  if (subject == nullptr || out == nullptr || X509_REQ_set_version(req.get(), 0) != 1 ||
      !add("O", "synmap") || !add("OU", role_text) || !add("CN", name_text) ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0 ||
      PEM_write_bio_X509_REQ(out.get(), req.get()) != 1) {
    return absl::InternalError(
        absl::StrCat("make certificate request: ", internal::TakeOpenSslError()));
  }
  return BioText(out.get());
}

namespace internal {

std::string FingerprintOf(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &size) != 1) {
    return "";
  }
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    absl::StrAppend(&hex, i == 0 ? "" : ":", absl::Hex(digest[i], absl::kZeroPad2));
  }
  return absl::StrCat("SHA256:", absl::AsciiStrToUpper(hex));
}

}  // namespace internal

absl::StatusOr<std::string> CertificateFingerprint(absl::string_view cert_pem) {
  internal::X509Handle cert = internal::ParseFirstCertificate(cert_pem);
  std::string fingerprint = cert == nullptr ? "" : internal::FingerprintOf(cert.get());
  if (fingerprint.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate does not parse: ", internal::TakeOpenSslError()));
  }
  return fingerprint;
}

absl::StatusOr<std::string> NormalizeFingerprint(absl::string_view text) {
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  if (absl::StartsWithIgnoreCase(rest, "SHA256:")) {
    rest.remove_prefix(7);
  }
  std::string hex;
  for (char c : rest) {
    if (c != ':') {
      hex.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
    }
  }
  bool ok = hex.size() == 64;
  for (char c : hex) {
    ok = ok && absl::ascii_isxdigit(static_cast<unsigned char>(c));
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CA fingerprint '", text,
        "' is not SHA256: followed by 64 hex digits (as `synmap-collector token create` prints, "
        "or `openssl x509 -in ca.pem -noout -fingerprint -sha256`)"));
  }
  std::string normalized = "SHA256:";
  for (size_t i = 0; i < hex.size(); i += 2) {
    absl::StrAppend(&normalized, i == 0 ? "" : ":", hex.substr(i, 2));
  }
  return normalized;
}

}  // namespace synmap::common
