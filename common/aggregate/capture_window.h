#pragma once

#include <cstdint>
#include <optional>

#include "absl/time/time.h"

namespace synmap::common {

// A flush window of capture time: [start_ns, end_ns), Unix nanoseconds.
struct CaptureWindow {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  friend bool operator==(const CaptureWindow&, const CaptureWindow&) = default;
};

// Cuts capture time into flush windows aligned to multiples of `interval` since the Unix epoch
// (10 s windows start at ...:00, :10, :20), so a replayed file is bucketed by its packets'
// timestamps exactly as it was live. With an interval dividing 60 s no window straddles a
// minute edge, so a batch lies inside one of the collector's buckets (1 min, 1 h, 1 d); with
// another interval the collector files a straddling batch in the bucket of its start. The caller
// feeds each event's timestamp (and, on a live interface with no traffic, the clock's now) to
// Advance(); when it returns a window, the caller closes it (SynAckTable::TakeRecords() -> Batch)
// before counting the event. Timestamps earlier than the open window (slightly out of order) stay
// in the open window; a jump over several windows closes only the open one (empty windows make no
// batch). Thread-compatible.
class CaptureWindower {
 public:
  // `interval` must be >= 1 ns; anything else aborts (validate options first).
  explicit CaptureWindower(absl::Duration interval);

  // Feeds a capture timestamp. If a window is open and `timestamp_ns` is at or past its end,
  // returns that window and opens the one holding `timestamp_ns`. The first call only opens.
  std::optional<CaptureWindow> Advance(int64_t timestamp_ns);

  // Closes and returns the open window, if any (end of input, shutdown).
  std::optional<CaptureWindow> Close();

  // The open window, if any.
  std::optional<CaptureWindow> current() const { return current_; }

  // The aligned window holding `timestamp_ns`.
  CaptureWindow WindowOf(int64_t timestamp_ns) const;

 private:
  int64_t interval_ns_;
  std::optional<CaptureWindow> current_;
};

}  // namespace synmap::common
