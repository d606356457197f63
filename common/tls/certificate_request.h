#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace synmap::common {

// A new EC P-256 private key as PKCS#8 PEM. Secret: never log it, write it mode 0600.
// Internal when OpenSSL cannot make one.
[[nodiscard]] absl::StatusOr<std::string> GeneratePrivateKeyPem();

// A PEM certificate signing request (PKCS#10) for subject /O=synmap/OU=`role`/CN=`name`,
// signed by `key_pem` (SHA-256). InvalidArgument when the key does not parse or the name is not
// 1-64 characters of [A-Za-z0-9._-].
[[nodiscard]] absl::StatusOr<std::string> MakeCertificateRequest(absl::string_view key_pem,
                                                                 absl::string_view name,
                                                                 absl::string_view role);

// The SHA-256 fingerprint of the first certificate in `cert_pem` (of its DER encoding), as
// "SHA256:" followed by upper-case hex pairs joined by ':' (what `openssl x509 -fingerprint
// -sha256` prints after its '='). InvalidArgument when it does not parse.
[[nodiscard]] absl::StatusOr<std::string> CertificateFingerprint(absl::string_view cert_pem);

// `text` as CertificateFingerprint writes it: "SHA256:" (any case, optional) then 64 hex digits
// with or without ':' between pairs. InvalidArgument, saying the expected form, otherwise.
[[nodiscard]] absl::StatusOr<std::string> NormalizeFingerprint(absl::string_view text);

}  // namespace synmap::common
