#pragma once

// The batch contract shared by sensor and collector: a sensor's numbered batch and what it says
// about itself, as plain data, and the named limits every batch must meet (ingest.proto).

#include <cstdint>
#include <string>
#include <vector>

#include "common/aggregate/record.h"

namespace synmap::common {

// The limits of ingest.proto, one copy for the sensor, the ingest service and every store.
inline constexpr uint64_t kMaxBatchBytes = 16u << 20;  // Encoded size of one batch.
inline constexpr int kMaxRecordsPerBatch = 200'000;
inline constexpr int64_t kMaxFutureNs = 86'400'000'000'000;  // 1 day past the collector clock.
inline constexpr size_t kMaxSensorNameBytes = 256;
// Highest seq: 2^63 - 1, so every seq is also a non-negative signed 64-bit database integer.
inline constexpr uint64_t kMaxSeq = (uint64_t{1} << 63) - 1;
// Highest packets (and connections) of one record: 2^40, about 10^12. A sum of 2^23 such
// records still fits a uint64; sums saturate anyway (common/aggregate/saturating.h).
inline constexpr uint64_t kMaxRecordCount = uint64_t{1} << 40;
// Most handshake fingerprints in one batch (one per connection; 8 bytes or fewer each on the
// wire, so they fit kMaxBatchBytes beside the records). A window with more connections is sent
// without fingerprints (counted, not deduplicated across sensors).
inline constexpr size_t kMaxHandshakesPerBatch = 1'000'000;

// The tunable part of the limits (collector options). Plain data; the defaults are the contract.
struct BatchLimits {
  int max_records_per_batch = kMaxRecordsPerBatch;
  int64_t max_future_ns = kMaxFutureNs;
  friend bool operator==(const BatchLimits&, const BatchLimits&) = default;
};

// A sensor's own state, reported with every batch, heartbeat and hello (v1.SensorHealth).
struct SensorHealth {
  uint64_t spool_batches = 0;              // Batches in the spool, not yet acked.
  uint64_t spool_bytes = 0;                // Bytes used by the spool.
  uint64_t batches_merged = 0;             // Total spooled batches merged to stay under the cap.
  uint64_t batches_dropped = 0;            // Total batches dropped (spool full after merging).
  uint64_t records_dropped = 0;            // Records in those dropped batches.
  uint64_t batches_quarantined = 0;        // Spool files found corrupt or refused by a collector.
  int64_t uptime_ns = 0;                   // Time since the sensor process started.
  uint64_t batches_lost_write_failed = 0;  // Closed but never spooled (cumulative).
  uint64_t records_lost_write_failed = 0;  // Records in those batches.
  friend bool operator==(const SensorHealth&, const SensorHealth&) = default;
};

// Who a sensor runs as and what it captures (v1.Hello). Informational.
struct SensorInfo {
  uint32_t protocol_version = 0;
  std::string software_version;
  std::vector<std::string> interfaces;  // Interface names, or "file:NAME" for replayed captures.
  std::string filter;                   // The BPF filter expression in use.
  std::string boot_id;                  // Random per sensor process start.
  int64_t flush_interval_ns = 0;        // The sensor's aggregation window.
  SensorHealth health;                  // At connect time.
  std::string site;  // The sensor's site ("" = none): its claim, or its certificate's.
  // The end of its certificate's validity (set by the collector); 0: unknown.
  int64_t certificate_not_after_ns = 0;
  friend bool operator==(const SensorInfo&, const SensorInfo&) = default;
};

// One numbered batch of one sensor (v1.Batch): the window's records and stats, its seq (per
// sensor, strictly increasing) and the sensor's health when it was sent. Identified by its
// content (BatchDigest in batch_codec.h): everything but seq and health.
struct SequencedBatch {
  uint64_t seq = 0;
  Batch batch;               // Window [start_ns, end_ns), stats, records (sorted by key).
  SensorHealth health;       // Not content: changes at every send.
  uint32_t merged_from = 0;  // >1 when a spool merged this many batches into this one.
  friend bool operator==(const SequencedBatch&, const SequencedBatch&) = default;
};

}  // namespace synmap::common
