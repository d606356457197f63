#include "common/metrics/certificate_metric.h"

#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls/peer_identity.h"
#include "common/tls/tls_files.h"

namespace synmap::common {

void AddCertificateExpiryMetric(absl::string_view cert_pem, MetricsRegistry& registry) {
  std::optional<std::pair<double, MetricLabels>> sample;
  absl::StatusOr<absl::Time> not_after = CertificateNotAfter(cert_pem);
  absl::StatusOr<PeerIdentity> identity = ParseCertificateIdentity(cert_pem);
  if (not_after.ok()) {
    sample.emplace(absl::ToDoubleSeconds(*not_after - absl::UnixEpoch()),
                   MetricLabels{{"name", identity.ok() ? identity->name : ""},
                                {"role", identity.ok() ? identity->role : ""}});
  }
  registry.AddFamily("synmap_certificate_expiry_timestamp_seconds", MetricType::kGauge,
                     "When this process's own TLS certificate expires (notAfter), Unix seconds.",
                     [sample](SampleSink& sink) {
                       if (sample.has_value()) {
                         sink.Add(sample->first, sample->second);
                       }
                     });
}

}  // namespace synmap::common
