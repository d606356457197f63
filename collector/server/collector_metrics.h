#pragma once

#include "absl/strings/string_view.h"
#include "collector/server/collector_server.h"
#include "common/metrics/metrics.h"

namespace synmap::collector {

// Registers the collector's metrics (docs/operations.md, "Monitoring") in `registry`, read
// from the counters the server already keeps: batches and records committed, duplicates,
// conflicts, open streams, refusals by reason (calls and TLS handshakes), the commit-time
// histogram, the collector's certificate expiry and build info. Borrows `server`, which must
// outlive every Render() of the registry (stop the metrics endpoint first).
void AddCollectorMetrics(const CollectorServer& server, absl::string_view cert_pem,
                         absl::string_view version, common::MetricsRegistry& registry);

}  // namespace synmap::collector
