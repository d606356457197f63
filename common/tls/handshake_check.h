#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/tls/tls_files.h"

namespace synmap::common {

// Why the collector at `target` ("host:port") does not accept a TLS connection made with
// `material`, in words a person can act on, or "" when the handshake is accepted or the
// collector cannot be reached at all (a network problem, not a TLS one). Makes one TLS
// connection of its own with a `timeout` on each step: a collector that closes it after the
// client certificate was sent refused that certificate ("the collector refused this
// certificate (tlsv1 alert unknown ca): is it issued by the collector's CA, unexpired,
// OU=reader?"); a collector certificate that does not verify against `material.ca_pem` is
// named as such. `expected_role` ("reader", "sensor") goes into the question.
std::string ExplainTlsRefusal(absl::string_view target, const TlsMaterial& material,
                              absl::string_view expected_role,
                              absl::Duration timeout = absl::Seconds(5));

}  // namespace synmap::common
