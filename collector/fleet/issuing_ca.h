#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace synmap::collector {

// The subject a certificate signing request asks for, read after its signature verified.
// Plain data.
struct RequestSubject {
  std::string name;  // CN.
  std::string role;  // OU.
  friend bool operator==(const RequestSubject&, const RequestSubject&) = default;
};

// Reads the PEM CSR `csr_pem`: InvalidArgument when it does not parse, its self-signature does
// not verify, or its subject is not exactly O=synmap, one OU and one CN of 1-64 characters of
// [A-Za-z0-9._-] (the message says which).
[[nodiscard]] absl::StatusOr<RequestSubject> ReadRequestSubject(absl::string_view csr_pem);

// The collector's issuing CA: a CA certificate signed by the deployment's (offline) root CA,
// and its private key, with which the collector signs sensors' and readers' certificates.
// Owns the key (secret: never logged). Immutable after Load; thread-safe.
class IssuingCa {
 public:
  // Reads the issuing CA's certificate and key (PEM files) and checks that the key matches,
  // that the certificate is a CA, is valid at `now` and verifies against `root_ca_pem` (the
  // deployment CA the peers trust), and that the root allows a CA below it (pathlen). Errors
  // as common::ReadPemFile, InvalidArgument or FailedPrecondition naming the file and what to
  // do (`deploy/make-certs.sh DIR issuing-ca`).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<IssuingCa>> Load(
      absl::string_view cert_path, absl::string_view key_path, absl::string_view root_ca_pem,
      absl::Time now);
  ~IssuingCa();
  IssuingCa(const IssuingCa&) = delete;
  IssuingCa& operator=(const IssuingCa&) = delete;

  // Signs the CSR `csr_pem` (checked as ReadRequestSubject) as a client certificate with the
  // CSR's subject and public key, valid from `now` minus 5 minutes or a tenth of `lifetime`,
  // whichever is shorter (clock skew), to
  // `now + lifetime` (but never past the issuing CA's own end), with a random serial.
  // Returns the new certificate followed by the issuing CA certificate (PEM). InvalidArgument
  // for a bad CSR or a lifetime under 1 minute; Internal when OpenSSL fails.
  [[nodiscard]] absl::StatusOr<std::string> Sign(absl::string_view csr_pem, absl::Time now,
                                                 absl::Duration lifetime) const;

  // The issuing CA certificate (PEM).
  const std::string& certificate_pem() const { return cert_pem_; }
  // The deployment (root) CA certificate it was checked against at Load (PEM).
  const std::string& root_ca_pem() const { return root_ca_pem_; }
  // The end of the issuing CA's own validity.
  absl::Time not_after() const { return not_after_; }

 private:
  struct Keys;
  IssuingCa(std::string cert_pem, std::string root_ca_pem, absl::Time not_after,
            std::unique_ptr<Keys> keys);

  const std::string cert_pem_;
  const std::string root_ca_pem_;
  const absl::Time not_after_;
  const std::unique_ptr<Keys> keys_;
};

}  // namespace synmap::collector
