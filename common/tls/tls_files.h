#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace synmap::common {

// Paths of the three PEM files every synmap peer needs. Plain data.
struct TlsFiles {
  std::string ca_path;    // The deployment CA certificate (ca.pem): verifies the other side.
  std::string cert_path;  // This peer's certificate (NAME.pem), CN = name, OU = role.
  std::string key_path;   // This peer's private key (NAME.key), matching cert_path.
};

// The PEM text of a CA, a certificate chain and its private key, already checked to parse
// and to belong together. Plain data; the key is secret, never log it.
struct TlsMaterial {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

// Reads the whole PEM file at `path`. NotFound when it does not exist, PermissionDenied
// when it cannot be read, InvalidArgument when it is empty or holds no PEM block; every
// message names `what` (e.g. "ca") and the path.
[[nodiscard]] absl::StatusOr<std::string> ReadPemFile(absl::string_view what,
                                                      absl::string_view path);

// Reads and checks the three files: the CA and the certificate must parse as X.509, the key
// as a private key, and the key must match the certificate. Errors as ReadPemFile, plus
// InvalidArgument naming the file that does not parse or the key/cert mismatch.
[[nodiscard]] absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files);

// FailedPrecondition when the first certificate in `cert_pem` is not valid at `now`
// (expired or not yet valid), naming `what` and the validity bound; InvalidArgument when it
// does not parse. Lets binaries fail fast with a clear message instead of endless handshakes.
[[nodiscard]] absl::Status CheckCertificateValidity(absl::string_view what,
                                                    absl::string_view cert_pem, absl::Time now);

// The notAfter of the first certificate in `cert_pem` (for the certificate expiry metric).
// InvalidArgument when it does not parse.
[[nodiscard]] absl::StatusOr<absl::Time> CertificateNotAfter(absl::string_view cert_pem);

}  // namespace synmap::common
