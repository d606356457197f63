#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace synmap::sensor::internal {

// The sensor's batch seq counter. The highest seq ever assigned is kept in dir/seq (decimal
// text), written durably before any batch file using it, so seqs stay strictly increasing
// across restarts even when the spool is empty. Thread-compatible: callers serialize.
class SeqCounter {
 public:
  // Reads dir/seq; the next seq will exceed both it and `floor` (the highest seq found in
  // the spool). A missing file counts as 0; a garbled one is logged and counted as 0.
  // Errno-derived status if the file exists but cannot be read.
  [[nodiscard]] static absl::StatusOr<SeqCounter> Open(std::string dir, uint64_t floor);

  // Persists and returns the next seq. Errno-derived status (nothing assigned) on failure.
  [[nodiscard]] absl::StatusOr<uint64_t> Next();
  // Makes every later seq exceed `seq`, persisting it if that moves the counter.
  [[nodiscard]] absl::Status AdvancePast(uint64_t seq);
  // The highest seq assigned (or advanced past) so far.
  uint64_t last() const { return last_; }

 private:
  SeqCounter(std::string dir, uint64_t last) : dir_(std::move(dir)), last_(last) {}
  std::string dir_;
  uint64_t last_ = 0;
};

}  // namespace synmap::sensor::internal
