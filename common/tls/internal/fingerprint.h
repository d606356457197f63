#pragma once

#include <openssl/x509.h>

#include <string>

namespace synmap::common::internal {

// The SHA-256 fingerprint of `cert` as CertificateFingerprint writes it ("SHA256:AB:CD:..."),
// or "" when OpenSSL cannot compute it.
std::string FingerprintOf(X509* cert);

}  // namespace synmap::common::internal
