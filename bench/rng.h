#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace synmap::bench {

// Deterministic pseudo-random numbers: xoshiro256** seeded through splitmix64. Every draw is
// defined here rather than by <random>'s distributions (which differ between standard
// libraries), so one seed yields the same capture wherever it runs. Thread-compatible.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : state_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }
  uint32_t Next32() { return static_cast<uint32_t>(Next() >> 32); }
  // Uniform in [0, n); n must be > 0. The modulo bias is below 2^-40 for the n used here.
  uint64_t Below(uint64_t n) { return Next() % n; }
  // Uniform in [lo, hi]; lo <= hi.
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // True with probability p (always for p >= 1, never for p <= 0).
  bool Chance(double p) { return Unit() < p; }
  // Exponentially distributed with the given mean (Poisson arrivals).
  double Exponential(double mean) { return -std::log1p(-Unit()) * mean; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

// Picks an index with probability proportional to its weight. Immutable after construction.
class WeightedChoice {
 public:
  explicit WeightedChoice(const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) {
      total += w;
      cumulative_.push_back(total);
    }
  }
  // Weights 1 / (i + 1)^exponent for i in [0, n): a few popular items and a long tail, like
  // services and talkers on a real network.
  static WeightedChoice Zipf(size_t n, double exponent) {
    std::vector<double> weights;
    for (size_t i = 0; i < n; ++i) {
      weights.push_back(1.0 / std::pow(static_cast<double>(i + 1), exponent));
    }
    return WeightedChoice(weights);
  }

  // Requires size() > 0.
  size_t Pick(Rng& rng) const {
    const double x = rng.Unit() * cumulative_.back();
    const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), x);
    return std::min(static_cast<size_t>(it - cumulative_.begin()), cumulative_.size() - 1);
  }
  size_t size() const { return cumulative_.size(); }

 private:
  std::vector<double> cumulative_;
};

}  // namespace synmap::bench
