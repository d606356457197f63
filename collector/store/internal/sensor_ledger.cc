#include "collector/store/internal/sensor_ledger.h"

#include <algorithm>
#include <cstdint>

#include "common/aggregate/saturating.h"

namespace synmap::collector::internal {
namespace {

uint64_t Increase(uint64_t now, uint64_t before) { return now >= before ? now - before : now; }

bool Overlaps(const BatchInfo& b, int64_t since_ns, int64_t until_ns) {
  // An empty window (start == end) is an instant at start.
  const int64_t end = std::max(b.end_ns, b.start_ns + 1);
  return (since_ns == 0 || end > since_ns) && (until_ns == 0 || b.start_ns < until_ns);
}

// Batches and records a sensor's health says it lost, cumulatively (saturating).
uint64_t SpoolBatchesLost(const common::SensorHealth& h) {
  const uint64_t parts[] = {h.batches_dropped, h.batches_lost_write_failed, h.batches_quarantined};
  uint64_t sum = 0;
  for (uint64_t p : parts) {
    sum = p > UINT64_MAX - sum ? UINT64_MAX : sum + p;
  }
  return sum;
}
uint64_t SpoolRecordsLost(const common::SensorHealth& h) {
  const uint64_t a = h.records_dropped;
  const uint64_t b = h.records_lost_write_failed;
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

}  // namespace

BatchInfo MakeBatchInfo(const common::SequencedBatch& batch, const SensorState& before,
                        int64_t commit_ns) {
  BatchInfo info;
  info.seq = batch.seq;
  info.start_ns = batch.batch.start_ns;
  info.end_ns = batch.batch.end_ns;
  info.commit_ns = commit_ns;
  info.records = static_cast<uint64_t>(batch.batch.records.size());
  info.stats = batch.batch.stats;
  // Every way a sensor loses batches counts: dropped at the spool cap, never written (disk
  // full), and quarantined (corrupt, or refused by a collector).
  info.spool_batches_dropped =
      Increase(SpoolBatchesLost(batch.health), SpoolBatchesLost(before.batch_health));
  info.spool_records_dropped =
      Increase(SpoolRecordsLost(batch.health), SpoolRecordsLost(before.batch_health));
  return info;
}

void AccountBatch(const common::SequencedBatch& batch, const BatchInfo& info, SensorState& state) {
  state.last_commit_ns = info.commit_ns;
  state.last_batch_end_ns = info.end_ns;
  state.last_seq = std::max(state.last_seq, info.seq);
  state.batches += 1;
  state.records = common::SaturatingAdd(state.records, info.records);
  state.totals.MergeFrom(info.stats);
  state.health = batch.health;
  state.batch_health = batch.health;
}

std::optional<uint32_t> SensorLedger::Find(absl::string_view name) const {
  auto it = ids_.find(name);
  if (it == ids_.end()) {
    return std::nullopt;
  }
  return it->second;
}

uint32_t SensorLedger::Add(const std::string& name) {
  const auto id = static_cast<uint32_t>(sensors_.size());
  sensors_.emplace_back();
  sensors_.back().state.name = name;
  ids_.emplace(name, id);
  return id;
}

bool SensorLedger::IsCommitted(uint32_t sensor, uint64_t seq) const {
  const std::vector<BatchInfo>& batches = sensors_[sensor].batches;
  auto it = std::lower_bound(batches.begin(), batches.end(), seq,
                             [](const BatchInfo& b, uint64_t s) { return b.seq < s; });
  return it != batches.end() && it->seq == seq;
}

void SensorLedger::AppendBatch(uint32_t sensor, const BatchInfo& info) {
  sensors_[sensor].batches.push_back(info);
}

void SensorLedger::DropBatchesBefore(int64_t cutoff_ns) {
  for (Entry& entry : sensors_) {
    std::erase_if(entry.batches, [cutoff_ns](const BatchInfo& b) { return b.end_ns <= cutoff_ns; });
  }
}

std::vector<SensorWindowCoverage> SensorLedger::Coverage(int64_t since_ns, int64_t until_ns) const {
  std::vector<SensorWindowCoverage> out;
  for (uint32_t id = 0; id < sensors_.size(); ++id) {
    SensorWindowCoverage c;
    c.sensor = id;
    for (const BatchInfo& b : sensors_[id].batches) {
      if (!Overlaps(b, since_ns, until_ns)) {
        continue;
      }
      if (c.batches == 0 || b.start_ns < c.first_batch_start_ns) {
        c.first_batch_start_ns = b.start_ns;
      }
      ++c.batches;
      if (b.seq >= c.last_seq) {
        c.last_seq = b.seq;
        c.last_batch_end_ns = b.end_ns;
        c.last_commit_ns = b.commit_ns;
      }
      c.stats.MergeFrom(b.stats);
      c.spool_batches_dropped =
          common::SaturatingAdd(c.spool_batches_dropped, b.spool_batches_dropped);
      c.spool_records_dropped =
          common::SaturatingAdd(c.spool_records_dropped, b.spool_records_dropped);
    }
    if (c.batches > 0) {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<SensorState> SensorLedger::States() const {
  std::vector<SensorState> out;
  out.reserve(sensors_.size());
  for (const Entry& entry : sensors_) {
    out.push_back(entry.state);
  }
  return out;
}

}  // namespace synmap::collector::internal
