#include "collector/server/collector_metrics.h"

#include <cstdint>
#include <map>
#include <string>

#include "common/metrics/certificate_metric.h"

namespace synmap::collector {
namespace {

using common::MetricType;
using common::SampleSink;

// One counter read from IngestStats at each scrape (relaxed atomic loads, no lock on the
// commit path).
void AddIngestCounter(const CollectorServer& server, absl::string_view name, absl::string_view help,
                      uint64_t IngestStats::*field, common::MetricsRegistry& registry) {
  registry.AddFamily(name, MetricType::kCounter, help, [&server, field](SampleSink& sink) {
    sink.Add(static_cast<double>(server.ingest_stats().*field));
  });
}

}  // namespace

void AddCollectorMetrics(const CollectorServer& server, absl::string_view cert_pem,
                         absl::string_view version, common::MetricsRegistry& registry) {
  registry.AddBuildInfo("collector", version);
  AddIngestCounter(server, "synmap_collector_batches_committed_total",
                   "Batches committed to the store (not counting duplicates).",
                   &IngestStats::batches_committed, registry);
  AddIngestCounter(server, "synmap_collector_records_committed_total",
                   "Records of the batches committed to the store.",
                   &IngestStats::records_committed, registry);
  AddIngestCounter(
      server, "synmap_collector_batches_duplicate_total",
      "Batches acknowledged as duplicates of committed ones (resent after a lost ack).",
      &IngestStats::duplicates, registry);
  AddIngestCounter(server, "synmap_collector_batches_conflict_total",
                   "Batches answered CONFLICT: their seq was used by other content.",
                   &IngestStats::conflicts, registry);
  registry.AddFamily("synmap_collector_streams_open", MetricType::kGauge,
                     "Sensor ingest streams open now.", [&server](SampleSink& sink) {
                       sink.Add(static_cast<double>(server.ingest_stats().streams_open));
                     });
  registry.AddFamily(
      "synmap_collector_refusals_total", MetricType::kCounter,
      "Refused TLS handshakes, calls, streams and batches, by reason (docs/operations.md).",
      [&server](SampleSink& sink) {
        // Handshake reasons (client_certificate_expired, not_tls, ...) and call reasons
        // (permission_denied, records_per_batch, ...) have distinct names; a name in both
        // would be summed.
        std::map<std::string, uint64_t> reasons = CollectorServer::tls_refusals().Snapshot();
        for (const auto& [reason, count] : server.refusals().Snapshot()) {
          reasons[reason] += count;
        }
        for (const auto& [reason, count] : reasons) {
          sink.Add(static_cast<double>(count), {{"reason", reason}});
        }
      });
  registry.AddFamily(
      "synmap_collector_commit_seconds", MetricType::kHistogram,
      "Time one store commit of a sensor's batch took, in seconds.",
      [&server](SampleSink& sink) { sink.AddHistogram(server.commit_seconds().snapshot()); });
  common::AddCertificateExpiryMetric(cert_pem, registry);
}

}  // namespace synmap::collector
