#pragma once

#include "absl/strings/string_view.h"
#include "common/metrics/metrics.h"
#include "sensor/pipeline/pipeline.h"
#include "sensor/uplink/uplink.h"

namespace synmap::sensor {

// Registers the sensor's metrics (docs/operations.md, "Monitoring") in `registry`, read from
// the counters the pipeline and the uplink already keep: packets received, dropped (kernel,
// interface) and malformed, SYN/ACKs, spool backlog, batches acked and lost, the uplink's
// connection, the sensor's certificate expiry and build info. Capture counters come from
// Pipeline::capture_totals() (no lock shared with the capture threads) and move when a window
// closes; uplink counters take the uplink's lock briefly, which no per-packet path holds.
// Borrows `pipeline` and `uplink`, which must outlive every Render() of the registry.
void AddSensorMetrics(const Pipeline& pipeline, const Uplink& uplink, absl::string_view cert_pem,
                      absl::string_view version, common::MetricsRegistry& registry);

}  // namespace synmap::sensor
