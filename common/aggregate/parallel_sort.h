#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <system_error>
#include <thread>
#include <vector>

namespace synmap::common {

// Ranges shorter than this are sorted on the calling thread: below it a second thread saves
// less than it costs to start.
inline constexpr std::ptrdiff_t kParallelSortMin = std::ptrdiff_t{1} << 16;

// Sorts [first, last) by `less` (a strict weak order) as std::sort does (not stable: equal
// elements end in some order), on two threads when the range is long. The range is split
// around a pivot (the median of evenly spaced samples) into the elements below it, those equal
// to it and those above, in two passes over it; the two sides are then sorted at the same time,
// one on a second thread. No memory beyond the samples, so a big answer's peak does not grow.
// `less` is called from both threads at once: it must only read shared state. If no thread can
// be started, the rest is sorted on the calling thread.
template <typename It, typename Less>
void ParallelSort(It first, It last, Less less) {
  using T = typename std::iterator_traits<It>::value_type;
  const std::ptrdiff_t n = last - first;
  if (n < kParallelSortMin) {
    std::sort(first, last, less);
    return;
  }
  constexpr std::ptrdiff_t kSamples = 127;
  std::vector<T> samples;
  samples.reserve(kSamples);
  for (std::ptrdiff_t i = 0; i < kSamples; ++i) {
    samples.push_back(first[i * (n / kSamples)]);
  }
  std::nth_element(samples.begin(), samples.begin() + kSamples / 2, samples.end(), less);
  const T pivot = samples[kSamples / 2];
  const It below_end = std::partition(first, last, [&](const T& x) { return less(x, pivot); });
  const It above_begin =
      std::partition(below_end, last, [&](const T& x) { return !less(pivot, x); });
  std::thread below;
  try {
    below = std::thread([&] { std::sort(first, below_end, less); });
  } catch (const std::system_error&) {
    std::sort(first, below_end, less);
  }
  std::sort(above_begin, last, less);
  if (below.joinable()) {
    below.join();
  }
}

}  // namespace synmap::common
