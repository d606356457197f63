#pragma once

// Conversion between the sensor's domain Batch and the wire synmap.v1.Batch, and the
// associative merge the spool uses to stay under its size cap.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/aggregate/record.h"
#include "common/batch/batch.h"
#include "synmap/v1/ingest.pb.h"

namespace synmap::sensor::internal {

// Most records a merged batch may hold: the collector's per-batch limit (ingest.proto).
inline constexpr uint64_t kMaxRecordsPerBatch = common::kMaxRecordsPerBatch;

// The wire form of `batch` with `seq` and merged_from = 1; health is left unset (it is
// filled in when the batch is sent).
v1::Batch BatchToProto(const common::Batch& batch, uint64_t seq);

// The domain form of `proto` (seq, health, merged_from and handshake fingerprints are dropped:
// a merged batch goes without fingerprints). InvalidArgument if an address is not 4 or 16
// bytes or a port is outside 0..65535.
[[nodiscard]] absl::StatusOr<common::Batch> BatchFromProto(const v1::Batch& proto);

// Accumulates wire batches into one: records summed per key (sorted by key on output),
// capture stats summed, window = union of the parts' windows, merged_from = sum of the
// parts' merged_from (0 counts as 1), seq = the highest part seq, no handshake fingerprints
// (the collector counts a merged batch's records without deduplicating them across sensors).
// Thread-compatible.
class BatchMerger {
 public:
  // Adds one part. InvalidArgument (nothing added) if the part does not decode.
  [[nodiscard]] absl::Status Add(const v1::Batch& part);
  // Distinct keys so far.
  uint64_t keys() const { return static_cast<uint64_t>(records_.size()); }
  uint64_t parts() const { return parts_; }
  // The merged batch (health unset).
  v1::Batch Result() const;

 private:
  std::vector<common::Record> records_;  // Kept sorted by key.
  common::CaptureStats stats_;
  int64_t start_ns_ = 0;
  int64_t end_ns_ = 0;
  uint64_t seq_ = 0;
  uint64_t merged_from_ = 0;
  uint64_t parts_ = 0;
};

}  // namespace synmap::sensor::internal
