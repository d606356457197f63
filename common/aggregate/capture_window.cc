#include "common/aggregate/capture_window.h"

#include <limits>

#include "common/log/log.h"

namespace synmap::common {

CaptureWindower::CaptureWindower(absl::Duration interval)
    : interval_ns_(absl::ToInt64Nanoseconds(interval)) {
  SYNMAP_CHECK(interval_ns_ >= 1) << "flush interval must be >= 1ns";
}

CaptureWindow CaptureWindower::WindowOf(int64_t timestamp_ns) const {
  // Floor division, so pre-1970 timestamps land in the window below them, not above.
  int64_t index = timestamp_ns / interval_ns_;
  if (timestamp_ns % interval_ns_ < 0) {
    --index;
  }
  const int64_t start_ns = index * interval_ns_;
  // The last window is cut at INT64_MAX rather than overflowing.
  const int64_t end_ns = start_ns > std::numeric_limits<int64_t>::max() - interval_ns_
                             ? std::numeric_limits<int64_t>::max()
                             : start_ns + interval_ns_;
  return CaptureWindow{start_ns, end_ns};
}

std::optional<CaptureWindow> CaptureWindower::Advance(int64_t timestamp_ns) {
  if (!current_.has_value()) {
    current_ = WindowOf(timestamp_ns);
    return std::nullopt;
  }
  if (timestamp_ns < current_->end_ns) {
    return std::nullopt;
  }
  std::optional<CaptureWindow> closed = current_;
  current_ = WindowOf(timestamp_ns);
  return closed;
}

std::optional<CaptureWindow> CaptureWindower::Close() {
  std::optional<CaptureWindow> closed = current_;
  current_.reset();
  return closed;
}

}  // namespace synmap::common
