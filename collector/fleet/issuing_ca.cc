#include "collector/fleet/issuing_ca.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/tls/internal/openssl_handles.h"
#include "common/tls/peer_identity.h"
#include "common/tls/tls_files.h"

namespace synmap::collector {
namespace {

using common::internal::BioHandle;
using common::internal::EvpPkeyHandle;
using common::internal::X509Handle;

struct X509ReqFree {
  void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};
using X509ReqHandle = std::unique_ptr<X509_REQ, X509ReqFree>;
struct X509ExtensionFree {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
struct BignumFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};

std::string OpenSslError() { return common::internal::TakeOpenSslError(); }

// The values of every `nid` entry of `name`, in order.
std::vector<std::string> Entries(const X509_NAME* name, int nid) {
  std::vector<std::string> values;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    values.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                        static_cast<size_t>(ASN1_STRING_length(data)));
  }
  return values;
}

// Parses `csr_pem` and checks its signature and subject.
absl::StatusOr<std::pair<X509ReqHandle, RequestSubject>> ParseRequest(absl::string_view csr_pem) {
  BioHandle in = common::internal::MemoryBio(csr_pem);
  X509ReqHandle req(in == nullptr ? nullptr
                                  : PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr));
  if (req == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate request is not a PEM CSR (", OpenSslError(), ")"));
  }
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr || X509_REQ_verify(req.get(), key) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate request signature does not verify (", OpenSslError(), ")"));
  }
  const X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  const std::vector<std::string> cn = Entries(subject, NID_commonName);
  const std::vector<std::string> ou = Entries(subject, NID_organizationalUnitName);
  const std::vector<std::string> o = Entries(subject, NID_organizationName);
  if (cn.size() != 1 || ou.size() != 1 || o.size() != 1 || o[0] != "synmap" ||
      X509_NAME_entry_count(subject) != 3 || !common::IsValidPeerName(cn[0])) {
    return absl::InvalidArgumentError(
        "certificate request subject must be exactly /O=synmap/OU=ROLE/CN=NAME with NAME 1-64 "
        "characters of [A-Za-z0-9._-]");
  }
  return std::make_pair(std::move(req), RequestSubject{.name = cn[0], .role = ou[0]});
}

// Adds extension `nid` = `value` to `cert`, issued by `issuer` (for the key identifiers).
bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, X509ExtensionFree> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext != nullptr && X509_add_ext(cert, ext.get(), -1) == 1;
}

// A random positive 127-bit serial number.
bool SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return false;
  }
  bytes[0] &= 0x7f;
  std::unique_ptr<BIGNUM, BignumFree> serial(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  return serial != nullptr &&
         BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) != nullptr;
}

}  // namespace

struct IssuingCa::Keys {
  X509Handle cert;
  EvpPkeyHandle key;
};

absl::StatusOr<RequestSubject> ReadRequestSubject(absl::string_view csr_pem) {
  SYNMAP_ASSIGN_OR_RETURN(auto parsed, ParseRequest(csr_pem));
  return std::move(parsed.second);
}

IssuingCa::IssuingCa(std::string cert_pem, std::string root_ca_pem, absl::Time not_after,
                     std::unique_ptr<Keys> keys)
    : cert_pem_(std::move(cert_pem)),
      root_ca_pem_(std::move(root_ca_pem)),
      not_after_(not_after),
      keys_(std::move(keys)) {}

IssuingCa::~IssuingCa() = default;

absl::StatusOr<std::unique_ptr<IssuingCa>> IssuingCa::Load(absl::string_view cert_path,
                                                           absl::string_view key_path,
                                                           absl::string_view root_ca_pem,
                                                           absl::Time now) {
  SYNMAP_ASSIGN_OR_RETURN(std::string cert_pem, common::ReadPemFile("issuing CA", cert_path));
  SYNMAP_ASSIGN_OR_RETURN(std::string key_pem, common::ReadPemFile("issuing CA key", key_path));
  auto keys = std::make_unique<Keys>();
  keys->cert = common::internal::ParseFirstCertificate(cert_pem);
  BioHandle key_bio = common::internal::MemoryBio(key_pem);
  keys->key.reset(key_bio == nullptr
                      ? nullptr
                      : PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (keys->cert == nullptr || keys->key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("issuing CA ", cert_path, " or key ", key_path,
                                                   " does not parse (", OpenSslError(), ")"));
  }
  if (X509_check_private_key(keys->cert.get(), keys->key.get()) != 1) {
    OpenSslError();
    return absl::InvalidArgumentError(
        absl::StrCat("issuing CA key ", key_path, " does not match certificate ", cert_path));
  }
  const std::string remake =
      "; make one with `deploy/make-certs.sh DIR issuing-ca` next to the deployment CA";
  if (X509_check_ca(keys->cert.get()) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("issuing CA ", cert_path, " is not a CA certificate", remake));
  }
  SYNMAP_RETURN_IF_ERROR(common::CheckCertificateValidity(cert_path, cert_pem, now));
  X509Handle root = common::internal::ParseFirstCertificate(root_ca_pem);
  if (root != nullptr && X509_get_pathlen(root.get()) == 0) {
    return absl::FailedPreconditionError(
        "the deployment CA (--ca) allows no CA below it (pathlen:0, made by an older "
        "make-certs.sh): make a new deployment CA with `deploy/make-certs.sh DIR ca`, then the "
        "issuing CA and the collector certificate from it");
  }
  // Signed by the deployment CA: then peers that trust it accept what this CA signs.
  if (root == nullptr || X509_check_issued(root.get(), keys->cert.get()) != X509_V_OK ||
      X509_verify(keys->cert.get(), X509_get0_pubkey(root.get())) != 1) {
    OpenSslError();
    return absl::FailedPreconditionError(absl::StrCat(
        "issuing CA ", cert_path, " is not signed by the deployment CA (--ca)", remake));
  }
  const absl::Time not_after = common::internal::ToAbslTime(X509_get0_notAfter(keys->cert.get()));
  return absl::WrapUnique(
      new IssuingCa(std::move(cert_pem), std::string(root_ca_pem), not_after, std::move(keys)));
}

absl::StatusOr<std::string> IssuingCa::Sign(absl::string_view csr_pem, absl::Time now,
                                            absl::Duration lifetime) const {
  if (lifetime < absl::Minutes(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificate lifetime ", absl::FormatDuration(lifetime), " is under the 1 minute minimum"));
  }
  SYNMAP_ASSIGN_OR_RETURN(auto parsed, ParseRequest(csr_pem));
  X509_REQ* req = parsed.first.get();
  X509Handle cert(X509_new());
  time_t start = absl::ToTimeT(now);
  // Backdated for clock skew, but by at most a tenth of the lifetime so that renewal at two
  // thirds of the validity stays well after issue for short test lifetimes.
  const long backdate_seconds =  // NOLINT(runtime/int): OpenSSL's type.
      static_cast<long>(absl::ToInt64Seconds(std::min(absl::Minutes(5), lifetime / 10)));
  time_t end = absl::ToTimeT(std::min(now + lifetime, not_after_));
  BioHandle out(BIO_new(BIO_s_mem()));
  X509* issuer = keys_->cert.get();
  const bool ok =
      cert != nullptr && out != nullptr && X509_set_version(cert.get(), 2) == 1 &&
      SetRandomSerial(cert.get()) &&
      X509_set_subject_name(cert.get(), X509_REQ_get_subject_name(req)) == 1 &&
      X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) == 1 &&
      X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -backdate_seconds, &start) != nullptr &&
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), 0, 0, &end) != nullptr &&
      X509_set_pubkey(cert.get(), X509_REQ_get0_pubkey(req)) == 1 &&
      AddExtension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE") &&
      AddExtension(cert.get(), issuer, NID_key_usage,
                   "critical,digitalSignature,keyEncipherment") &&
      AddExtension(cert.get(), issuer, NID_ext_key_usage, "clientAuth") &&
      AddExtension(cert.get(), issuer, NID_subject_key_identifier, "hash") &&
      AddExtension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always") &&
      X509_sign(cert.get(), keys_->key.get(), EVP_sha256()) > 0 &&
      PEM_write_bio_X509(out.get(), cert.get()) == 1;
  if (!ok) {
    return absl::InternalError(absl::StrCat("sign certificate: ", OpenSslError()));
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);  // NOLINT(runtime/int): OpenSSL's type.
  return absl::StrCat(absl::string_view(data, static_cast<size_t>(size)), cert_pem_);
}

}  // namespace synmap::collector
