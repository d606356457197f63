#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/tls/tls_files.h"

namespace synmap::common {

// What is wrong with the dates of `material`'s own certificate at `now`, in words a person
// can act on, or "" when nothing is: expired ("this certificate has expired (not after ...):
// the collector refuses it; get a new one (...)") or not yet valid. Makes no connection.
// `expected_role` ("reader", "sensor") names the kind of certificate to get.
std::string DescribeCertificateProblem(const TlsMaterial& material, absl::string_view expected_role,
                                       absl::Time now);

// Why the collector at `target` ("host:port") does not accept a TLS connection made with
// `material`, in words a person can act on, or "" when the handshake is accepted or the
// collector cannot be reached at all (a network problem, not a TLS one). First the certificate
// itself is checked at `now` (DescribeCertificateProblem: expired, not yet valid; then no
// connection is made). Otherwise makes one TLS connection of its own with a `timeout` on each
// step: a collector certificate that does not verify against `material.ca_pem` is named as
// such, and so is a service that does not answer in TLS at all; once the collector's
// certificate is verified, our certificate not verifying against the same CA is named before
// it is sent (so this check adds no refusal to the collector's log); a collector that closes
// the connection after our certificate was sent refused it ("the collector refused this
// certificate (connection closed): is it issued by the collector's CA, unexpired,
// OU=reader?"). `expected_role` ("reader", "sensor") goes into the words.
std::string ExplainTlsRefusal(absl::string_view target, const TlsMaterial& material,
                              absl::string_view expected_role,
                              absl::Duration timeout = absl::Seconds(5),
                              absl::Time now = absl::Now());

}  // namespace synmap::common
