#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/batch/batch.h"

namespace synmap::sensor::internal {

// The sensor's batch seq counter. The highest seq ever assigned is kept in dir/seq (decimal
// text), written durably before any batch file using it, so seqs stay strictly increasing
// across restarts even when the spool is empty. Thread-compatible: callers serialize.
//
// The counter is *fresh* when it started from nothing (no dir/seq and no spool files): its
// seqs are then unrelated to any collector's history for this sensor (the spool directory
// was lost or replaced). Freshness is kept on disk (dir/seq-unconfirmed) until
// ConfirmHistory(), so a restart before the first HelloAck still knows it; no batch is ever
// sent before that, so no collector can have committed a seq of a fresh counter.
class SeqCounter {
 public:
  // The highest seq a collector accepts (2^63 - 1). The counter never goes past it, and so
  // never wraps: a sensor there stops spooling with a clear error instead.
  static constexpr uint64_t kMaxSeq = common::kMaxSeq;

  // Reads dir/seq; the next seq will exceed both it and `floor` (the highest seq found in
  // the spool). A missing file counts as 0; a garbled one is logged and counted as 0.
  // Writes dir/seq-unconfirmed if the counter starts fresh (see above). Errno-derived
  // status if a file exists but cannot be read, or the marker cannot be written.
  [[nodiscard]] static absl::StatusOr<SeqCounter> Open(std::string dir, uint64_t floor);

  // Persists and returns the next seq. ResourceExhausted once kMaxSeq is assigned;
  // errno-derived status on a write failure (nothing assigned either way).
  [[nodiscard]] absl::StatusOr<uint64_t> Next();
  // Makes every later seq exceed `seq`, persisting it if that moves the counter.
  // ResourceExhausted (counter unchanged) if `seq` >= kMaxSeq: no seq would be left.
  [[nodiscard]] absl::Status AdvancePast(uint64_t seq);
  // The highest seq assigned (or advanced past) so far.
  uint64_t last() const { return last_; }
  // True until ConfirmHistory(): the counter started fresh (in this process or in one that
  // ended before confirming).
  bool fresh() const { return fresh_; }
  // Records that a collector's history has been reconciled with this counter (after the
  // first HelloAck): removes dir/seq-unconfirmed durably. No-op if not fresh.
  // Errno-derived status (still fresh) on failure.
  [[nodiscard]] absl::Status ConfirmHistory();

 private:
  SeqCounter(std::string dir, uint64_t last, bool fresh)
      : dir_(std::move(dir)), last_(last), fresh_(fresh) {}
  std::string dir_;
  uint64_t last_ = 0;
  bool fresh_ = false;
};

}  // namespace synmap::sensor::internal
