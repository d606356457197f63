#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/tls/credentials.h"
#include "common/tls/tls_files.h"

namespace synmap::common {

// Options of Enroll. Plain data.
struct EnrolOptions {
  std::string collector;       // "HOST:PORT" of the collector's enrolment port (--enrol-listen).
  std::string token;           // As `synmap-collector token create` printed it (NAME.SECRET).
  std::string ca_fingerprint;  // "SHA256:..." of the deployment CA (NormalizeFingerprint form).
  std::string name;            // Certificate CN; empty: the token's name.
  std::string role;            // Certificate OU: kRoleSensor or kRoleReader.
  TlsFiles out;                // Where the CA, certificate chain and new key (0600) are written.
  bool replace = false;        // Overwrite existing files (else FailedPrecondition).
  absl::Duration timeout = absl::Seconds(30);  // Deadline of the Enroll call.

  // InvalidArgument naming the bad field.
  [[nodiscard]] absl::Status Validate() const;
};

// What Enroll obtained. Plain data.
struct EnrolResult {
  std::string name;
  absl::Time not_after;  // End of the new certificate's validity.
};

// Makes a private key here, sends a CSR for /O=synmap/OU=role/CN=name with the token over TLS
// pinned by the CA fingerprint, checks the answer (the certificate is for that key and
// identity, the CA has the pinned fingerprint and the chain verifies against it) and only then
// writes the CA, the chain and the key (mode 0600), each atomically. Nothing is written on
// failure. Errors: InvalidArgument (options, token text), FailedPrecondition (files exist
// without `replace`), Unauthenticated (the server does not match the pin), PermissionDenied
// (the collector refused the token: its message says why), Unavailable (unreachable),
// DeadlineExceeded, DataLoss (the collector's answer fails the checks), errno codes (writing).
[[nodiscard]] absl::StatusOr<EnrolResult> Enroll(const EnrolOptions& options);

// Options of RenewCertificate. Plain data.
struct RenewalOptions {
  // "HOST:PORT" of collectors' main (mutual-TLS) ports, tried in this order until one renews
  // (a sensor's --collector list: renewal goes on while the first is down).
  std::vector<std::string> collectors;
  TlsFiles files;          // The current CA, certificate and key; the certificate is replaced.
  ChannelOptions channel;  // As for the peer's other calls (target_name_override).
  absl::Duration timeout = absl::Seconds(30);  // Deadline of the Renew call.
};

// Renews the certificate in `options.files.cert_path` now, over the mutual-TLS identity of the
// current files and with the same key, checks the new chain like Enroll and replaces the
// certificate file atomically (processes watching it pick it up). Asks each of
// `options.collectors` in turn until one renews. Returns the new notAfter.
// Errors: InvalidArgument (no collector), as LoadTlsMaterial for the files; when every collector
// failed, the first one's code (PermissionDenied: revoked or another identity; Unavailable;
// DataLoss: bad answer) with each collector's message; errno codes (writing).
[[nodiscard]] absl::StatusOr<absl::Time> RenewCertificate(const RenewalOptions& options);

// When the first certificate of `cert_pem` is due for renewal: two thirds into its validity.
// InvalidArgument when it does not parse.
[[nodiscard]] absl::StatusOr<absl::Time> RenewalDue(absl::string_view cert_pem);

}  // namespace synmap::common
