#pragma once

#include <functional>

#include "absl/time/time.h"

namespace synmap::sensor::internal {

// Exponential backoff with jitter: the n-th delay since Reset() (n = 0, 1, ...) is uniform in
// [floor * c, c] with c = min(max, initial * 2^n); floor 0 is "full jitter". Thread-compatible.
class Backoff {
 public:
  // `uniform01` returns doubles in [0, 1); it is called once per Next(). `floor` is in [0, 1].
  Backoff(absl::Duration initial, absl::Duration max, std::function<double()> uniform01,
          double floor = 0.0);

  absl::Duration Next();
  // The ceiling the next Next() draws under.
  absl::Duration ceiling() const { return ceiling_; }
  void Reset();

 private:
  absl::Duration initial_;
  absl::Duration max_;
  absl::Duration ceiling_;
  std::function<double()> uniform01_;
  double floor_;
};

}  // namespace synmap::sensor::internal
