#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace synmap::common {

class CertificateRevocationList;

// Why a client certificate is not accepted, as far as the certificate itself tells.
enum class CertificateProblem {
  kNone,           // Verifies against the CA and is valid now.
  kNoCertificate,  // No certificate, or none that parses.
  kExpired,        // Past its notAfter.
  kNotYetValid,    // Before its notBefore (or the checking clock is behind).
  kUnknownCa,      // Not issued by the CA (another CA, self-signed, issuer missing).
  kNotVerified,    // Anything else the chain check refuses (bad signature, wrong usage, ...).
  kRevoked,        // Verifies, but its serial is listed in the deployment's CRL (--crl).
};

// The outcome of CheckCertificateChain. Plain data.
struct CertificateVerdict {
  CertificateProblem problem = CertificateProblem::kNone;
  // OpenSSL's words for the problem plus the date or issuer it concerns, e.g.
  // "certificate has expired (not after 2026-12-01 10:00:00 UTC)"; empty when kNone.
  std::string detail;
  // Subject CN and OU of the first certificate, when it parses ("" otherwise): for log lines.
  std::string name;
  std::string role;

  friend bool operator==(const CertificateVerdict&, const CertificateVerdict&) = default;
};

// The reason a refusal is counted and logged under: "client_certificate_expired",
// "client_certificate_not_yet_valid", "client_certificate_unknown_ca",
// "client_certificate_not_verified", "no_client_certificate", "revoked"; "" for kNone.
absl::string_view CertificateProblemReason(CertificateProblem problem);

// Verifies `chain_pem` (the peer's certificate first, then any intermediates) against the
// trust anchors in `ca_pem` at time `now`, for use as a TLS client certificate (OpenSSL's
// "ssl_client" purpose and trust, as OpenSSL applies them in a handshake), and names the first
// problem found. The identity (CN, OU) is not judged here: which role may call what is the
// server's business. With `crl`, a chain that verifies but whose leaf the CRL lists is kRevoked.
// Thread-safe; keeps no pointer to its arguments.
CertificateVerdict CheckCertificateChain(absl::string_view chain_pem, absl::string_view ca_pem,
                                         absl::Time now,
                                         const CertificateRevocationList* crl = nullptr);

}  // namespace synmap::common
