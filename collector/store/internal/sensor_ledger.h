#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "collector/store/snapshot.h"
#include "common/aggregate/record.h"
#include "common/batch/batch.h"

namespace synmap::collector::internal {

// Metadata of one committed batch, kept for coverage and exactly-once checks.
struct BatchInfo {
  uint64_t seq = 0;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int64_t commit_ns = 0;  // Collector time of the commit.
  uint64_t records = 0;
  common::CaptureStats stats;          // As sent (per-window deltas).
  uint64_t spool_batches_dropped = 0;  // Increase of the sensor's cumulative counter.
  uint64_t spool_records_dropped = 0;
  friend bool operator==(const BatchInfo&, const BatchInfo&) = default;
};

// Builds the BatchInfo of `batch` committed at `commit_ns`; spool counters become increases
// over `before.batch_health` (a decrease means the sensor restarted: the new value counts).
BatchInfo MakeBatchInfo(const common::SequencedBatch& batch, const SensorState& before,
                        int64_t commit_ns);

// Adds a committed batch to a sensor's totals and last-batch fields.
void AccountBatch(const common::SequencedBatch& batch, const BatchInfo& info, SensorState& state);

// Every known sensor (index = sensors.id - 1 in the database) with its batch metadata.
// Thread-compatible: the store guards it with its lock.
class SensorLedger {
 public:
  std::optional<uint32_t> Find(absl::string_view name) const;
  // Adds a sensor named `name` (not yet known); returns its index.
  uint32_t Add(const std::string& name);
  size_t size() const { return sensors_.size(); }
  SensorState& state(uint32_t sensor) { return sensors_[sensor].state; }
  const SensorState& state(uint32_t sensor) const { return sensors_[sensor].state; }

  // True when `seq` of `sensor` was committed (and not removed by retention).
  bool IsCommitted(uint32_t sensor, uint64_t seq) const;
  // Appends a batch; seqs of one sensor must be appended in increasing order.
  void AppendBatch(uint32_t sensor, const BatchInfo& info);
  // Forgets batches whose window ended at or before `cutoff_ns`.
  void DropBatchesBefore(int64_t cutoff_ns);
  // Sums of the batches overlapping [since_ns, until_ns) (0 = open), per sensor with any.
  std::vector<SensorWindowCoverage> Coverage(int64_t since_ns, int64_t until_ns) const;
  std::vector<SensorState> States() const;

 private:
  struct Entry {
    SensorState state;
    std::vector<BatchInfo> batches;  // Sorted by seq.
  };
  std::vector<Entry> sensors_;
  absl::flat_hash_map<std::string, uint32_t> ids_;
};

}  // namespace synmap::collector::internal
