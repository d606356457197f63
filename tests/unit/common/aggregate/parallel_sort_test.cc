#include "common/aggregate/parallel_sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace synmap::common {
namespace {

// Sorts a copy with ParallelSort and one with std::stable_sort: equal under `less`, element by
// element (ParallelSort is not stable, so ties are compared by key only).
template <typename T, typename Less>
void ExpectSortsLikeStd(std::vector<T> input, Less less) {
  std::vector<T> expected = input;
  std::stable_sort(expected.begin(), expected.end(), less);
  ParallelSort(input.begin(), input.end(), less);
  ASSERT_EQ(input.size(), expected.size());
  for (size_t i = 0; i < input.size(); ++i) {
    ASSERT_FALSE(less(input[i], expected[i]) || less(expected[i], input[i])) << "at " << i;
  }
}

constexpr size_t kLong = 3 * static_cast<size_t>(kParallelSortMin);

TEST(ParallelSortTest, SortsShortAndLongRandomRanges) {
  std::mt19937_64 rng(7);
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, kLong}) {
    std::vector<uint64_t> v(n);
    for (uint64_t& x : v) {
      x = rng();
    }
    ExpectSortsLikeStd(v, std::less<>());
  }
}

TEST(ParallelSortTest, SortsRangesFullOfTies) {
  std::mt19937_64 rng(8);
  // A few distinct keys (a pivot's equal run is most of the range), all equal, sorted, reversed.
  std::vector<uint32_t> few(kLong), equal(kLong, 5), sorted(kLong), reversed(kLong);
  for (size_t i = 0; i < kLong; ++i) {
    few[i] = static_cast<uint32_t>(rng() % 3);
    sorted[i] = static_cast<uint32_t>(i);
    reversed[i] = static_cast<uint32_t>(kLong - i);
  }
  for (const auto& v : {few, equal, sorted, reversed}) {
    ExpectSortsLikeStd(v, std::less<>());
  }
}

TEST(ParallelSortTest, OrdersByTheComparatorOnlyAndKeepsEveryElement) {
  // Pairs ordered by their first member only, descending: the second members are a payload
  // that must all still be there.
  std::mt19937_64 rng(9);
  std::vector<std::pair<uint32_t, uint32_t>> v(kLong);
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = {static_cast<uint32_t>(rng() % 1000), static_cast<uint32_t>(i)};
  }
  auto by_first_descending = [](const auto& a, const auto& b) { return a.first > b.first; };
  ExpectSortsLikeStd(v, by_first_descending);
  ParallelSort(v.begin(), v.end(), by_first_descending);
  std::vector<uint32_t> payload;
  for (const auto& [key, index] : v) {
    payload.push_back(index);
  }
  std::sort(payload.begin(), payload.end());
  for (size_t i = 0; i < payload.size(); ++i) {
    ASSERT_EQ(payload[i], i);
  }
}

}  // namespace
}  // namespace synmap::common
