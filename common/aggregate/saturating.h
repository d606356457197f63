#pragma once

#include <cstdint>
#include <limits>

namespace synmap::common {

// a + b, held at UINT64_MAX instead of wrapping. Sets `*saturated` (if not null) when it
// held. For every count summed from data a peer sent (records are bounded at 2^40 each, but
// a sum over enough of them, or a peer's capture statistics, is not).
inline uint64_t SaturatingAdd(uint64_t a, uint64_t b, bool* saturated = nullptr) {
  if (b > std::numeric_limits<uint64_t>::max() - a) {
    if (saturated != nullptr) {
      *saturated = true;
    }
    return std::numeric_limits<uint64_t>::max();
  }
  return a + b;
}

}  // namespace synmap::common
