#include "sensor/sensor_metrics.h"

#include <cstdint>

#include "common/metrics/certificate_metric.h"

namespace synmap::sensor {
namespace {

using common::MetricType;
using common::SampleSink;

double AsDouble(uint64_t value) { return static_cast<double>(value); }

void AddCaptureFamilies(const Pipeline& pipeline, common::MetricsRegistry& registry) {
  registry.AddFamily("synmap_sensor_packets_received_total", MetricType::kCounter,
                     "Packets the capture filter passed to the sensor (counted per closed window).",
                     [&pipeline](SampleSink& sink) {
                       sink.Add(AsDouble(pipeline.capture_totals().packets_received));
                     });
  registry.AddFamily(
      "synmap_sensor_packets_dropped_total", MetricType::kCounter,
      "Packets lost before the sensor saw them: kernel = capture buffer full, interface = "
      "NIC/driver.",
      [&pipeline](SampleSink& sink) {
        const common::CaptureStats c = pipeline.capture_totals();
        sink.Add(AsDouble(c.kernel_drops), {{"stage", "kernel"}});
        sink.Add(AsDouble(c.interface_drops), {{"stage", "interface"}});
      });
  registry.AddFamily(
      "synmap_sensor_packets_malformed_total", MetricType::kCounter,
      "Frames that could not be decoded (truncated or bad headers).",
      [&pipeline](SampleSink& sink) { sink.Add(AsDouble(pipeline.capture_totals().malformed)); });
  registry.AddFamily(
      "synmap_sensor_synacks_total", MetricType::kCounter,
      "SYN/ACK packets counted (retransmissions included).",
      [&pipeline](SampleSink& sink) { sink.Add(AsDouble(pipeline.capture_totals().synacks)); });
}

void AddUplinkFamilies(const Uplink& uplink, common::MetricsRegistry& registry) {
  registry.AddFamily(
      "synmap_sensor_spool_batches", MetricType::kGauge,
      "Batches in the spool not yet acknowledged by a collector (the backlog).",
      [&uplink](SampleSink& sink) { sink.Add(AsDouble(uplink.stats().spool_batches)); });
  registry.AddFamily(
      "synmap_sensor_spool_bytes", MetricType::kGauge, "Bytes the spool holds.",
      [&uplink](SampleSink& sink) { sink.Add(AsDouble(uplink.stats().spool_bytes)); });
  registry.AddFamily(
      "synmap_sensor_batches_acked_total", MetricType::kCounter,
      "Batches a collector acknowledged (committed or duplicate); their spool files are deleted.",
      [&uplink](SampleSink& sink) { sink.Add(AsDouble(uplink.stats().batches_acked)); });
  registry.AddFamily(
      "synmap_sensor_batches_lost_total", MetricType::kCounter,
      "Batches lost by the sensor: spool_full = dropped past --spool-max-bytes after merging, "
      "write_failed = never spooled (disk error), quarantined = spool file corrupt or refused.",
      [&uplink](SampleSink& sink) {
        const UplinkStats u = uplink.stats();
        sink.Add(AsDouble(u.batches_dropped), {{"reason", "spool_full"}});
        sink.Add(AsDouble(u.batches_lost_write_failed), {{"reason", "write_failed"}});
        sink.Add(AsDouble(u.batches_quarantined), {{"reason", "quarantined"}});
      });
  registry.AddFamily("synmap_sensor_uplink_connected", MetricType::kGauge,
                     "1 while a collector has accepted this sensor's stream (HelloAck), else 0.",
                     [&uplink](SampleSink& sink) { sink.Add(uplink.stats().connected ? 1 : 0); });
  registry.AddFamily("synmap_sensor_uplink_reconnects_total", MetricType::kCounter,
                     "Stream attempts after the first.", [&uplink](SampleSink& sink) {
                       sink.Add(AsDouble(uplink.stats().reconnects));
                     });
}

}  // namespace

void AddSensorMetrics(const Pipeline& pipeline, const Uplink& uplink, absl::string_view cert_pem,
                      absl::string_view version, common::MetricsRegistry& registry) {
  registry.AddBuildInfo("sensor", version);
  AddCaptureFamilies(pipeline, registry);
  AddUplinkFamilies(uplink, registry);
  common::AddCertificateExpiryMetric(cert_pem, registry);
}

}  // namespace synmap::sensor
