#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace synmap::common {

// Label name/value pairs of one sample, in the order they are written.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A count that only goes up. Thread-safe and lock-free: Increment is one relaxed atomic add,
// cheap enough for any path.
class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};  // Relaxed: a statistic, orders nothing.
};

// A value that goes up and down. Thread-safe and lock-free.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};  // Relaxed: a statistic, orders nothing.
};

// A histogram's state at one moment: cumulative counts per upper bound (the last bound is
// +Inf), their total and the sum of the observed values. Plain data.
struct HistogramSnapshot {
  std::vector<double> upper_bounds;         // Ascending, finite; +Inf is implied.
  std::vector<uint64_t> cumulative_counts;  // One per upper bound, then one for +Inf.
  double sum = 0;
};

// Counts observations into fixed buckets (Prometheus histogram). Thread-safe and lock-free:
// Observe is a bucket search and three relaxed atomic adds. A snapshot taken while others
// observe is consistent in its buckets (the count is their total) and may lag in the sum.
class Histogram {
 public:
  // `upper_bounds` ascending and finite (checked: a wrong list is our bug).
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double value);
  HistogramSnapshot snapshot() const;

 private:
  const std::vector<double> upper_bounds_;
  // Per bucket, not cumulative: [i] counts values in (bound[i-1], bound[i]]; the last +Inf.
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// Upper bounds in seconds for durations from 100 us to 10 s (1-2.5-5 steps).
std::vector<double> DurationBucketsSeconds();

enum class MetricType { kCounter, kGauge, kHistogram };

// Receives the samples of one family at scrape time (see MetricsRegistry::AddFamily).
class SampleSink {
 public:
  virtual ~SampleSink() = default;
  // One sample of a counter or gauge family.
  virtual void Add(double value, MetricLabels labels = {}) = 0;
  // One histogram (its _bucket, _sum and _count lines) of a histogram family.
  virtual void AddHistogram(const HistogramSnapshot& histogram, MetricLabels labels = {}) = 0;
};

// The metrics of one process and their Prometheus text exposition (format 0.0.4). A metric is
// either owned here (Counter, Gauge, Histogram: updated lock-free by the code that counts) or
// read at scrape time from counters the program already keeps (AddFamily: the reader must be
// thread-safe and must not block the counting paths, e.g. relaxed atomic loads).
// Register everything before the first Render(); registration is thread-compatible, Render()
// is thread-safe afterwards. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]*, and be unique (checked: a wrong name is our bug).
class MetricsRegistry {
 public:
  using CollectFn = std::function<void(SampleSink&)>;

  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Owned metrics; the references live as long as the registry.
  Counter& AddCounter(absl::string_view name, absl::string_view help);
  Gauge& AddGauge(absl::string_view name, absl::string_view help);
  Histogram& AddHistogram(absl::string_view name, absl::string_view help,
                          std::vector<double> upper_bounds);
  // A family whose samples `collect` adds at each Render(): counters the program already
  // keeps, a labelled family (one sample per label value), a histogram owned elsewhere.
  void AddFamily(absl::string_view name, MetricType type, absl::string_view help,
                 CollectFn collect);
  // synmap_build_info{component, version} 1.
  void AddBuildInfo(absl::string_view component, absl::string_view version);

  // Every family in registration order, each with its # HELP and # TYPE lines.
  std::string Render() const;

 private:
  struct Family {
    std::string name;
    MetricType type;
    std::string help;
    CollectFn collect;
  };

  void Register(absl::string_view name, MetricType type, absl::string_view help, CollectFn collect);

  std::vector<Family> families_;
  // Owned metrics; deques keep their addresses stable.
  std::deque<Counter> counters_;
  std::deque<Gauge> gauges_;
  std::deque<std::unique_ptr<Histogram>> histograms_;
};

// Text-format pieces, exposed for tests. A label value escapes \ " and newline; a HELP text
// escapes \ and newline. A value is an integer when it is one, else the shortest decimal that
// reads back the same; +Inf, -Inf, NaN as Prometheus spells them.
std::string EscapeLabelValue(absl::string_view value);
std::string EscapeHelp(absl::string_view help);
std::string FormatMetricValue(double value);

}  // namespace synmap::common
