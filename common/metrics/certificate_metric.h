#pragma once

#include "absl/strings/string_view.h"
#include "common/metrics/metrics.h"

namespace synmap::common {

// Registers synmap_certificate_expiry_timestamp_seconds{name, role}: the notAfter (Unix
// seconds) of the first certificate in `cert_pem`, the process's own, with its CN and OU.
// A certificate that does not parse gives no sample. Certificates are read at start, so the
// value is the one in use until the process restarts.
void AddCertificateExpiryMetric(absl::string_view cert_pem, MetricsRegistry& registry);

}  // namespace synmap::common
