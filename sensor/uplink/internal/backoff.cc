#include "sensor/uplink/internal/backoff.h"

#include <algorithm>
#include <utility>

namespace synmap::sensor::internal {

Backoff::Backoff(absl::Duration initial, absl::Duration max, std::function<double()> uniform01,
                 double floor)
    : initial_(initial),
      max_(max),
      ceiling_(std::min(initial, max)),
      uniform01_(std::move(uniform01)),
      floor_(std::clamp(floor, 0.0, 1.0)) {}

absl::Duration Backoff::Next() {
  const double u = std::clamp(uniform01_(), 0.0, 1.0);
  const absl::Duration delay = ceiling_ * (floor_ + (1.0 - floor_) * u);
  ceiling_ = std::min(max_, ceiling_ * 2);
  return delay;
}

void Backoff::Reset() { ceiling_ = std::min(initial_, max_); }

}  // namespace synmap::sensor::internal
