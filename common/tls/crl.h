#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

typedef struct X509_crl_st X509_CRL;
typedef struct x509_st X509;

namespace synmap::common {

// A certificate revocation list from the deployment's own PKI (the collector's --crl), parsed
// by OpenSSL from a PEM or DER file and checked against the deployment CA. Immutable;
// thread-safe.
class CertificateRevocationList {
 public:
  // Reads `path` (PEM "X509 CRL" or DER) and checks that one of the certificates in `ca_pem`
  // signed it. NotFound / errno codes when the file cannot be read; InvalidArgument naming the
  // file when it is not a CRL or no certificate of `ca_pem` signed it.
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<const CertificateRevocationList>> Load(
      const std::string& path, absl::string_view ca_pem);
  ~CertificateRevocationList();
  CertificateRevocationList(const CertificateRevocationList&) = delete;
  CertificateRevocationList& operator=(const CertificateRevocationList&) = delete;

  // True when `cert` is listed: its serial is revoked by this CRL's issuer.
  bool Lists(X509* cert) const;

  int revoked_count() const;   // Entries in the list.
  std::string issuer() const;  // One-line issuer name, for logs.
  absl::Time this_update() const;
  absl::Time next_update() const;  // InfiniteFuture when absent.

 private:
  explicit CertificateRevocationList(X509_CRL* crl) : crl_(crl) {}
  X509_CRL* crl_;  // Owned.
};

// The CRL in force, swapped whole on reload (SIGHUP) while handshakes read it. Thread-safe.
class CrlHolder {
 public:
  std::shared_ptr<const CertificateRevocationList> Get() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return crl_;
  }
  void Set(std::shared_ptr<const CertificateRevocationList> crl) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    crl_ = std::move(crl);
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const CertificateRevocationList> crl_ ABSL_GUARDED_BY(mu_);
};

}  // namespace synmap::common
