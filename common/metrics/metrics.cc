#include "common/metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace synmap::common {
namespace {

bool IsValidName(absl::string_view name, bool colon_allowed) {
  if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [colon_allowed](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
           (colon_allowed && c == ':');
  });
}

absl::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// Writes `name{labels} value` lines for one family into `out`.
class TextSink final : public SampleSink {
 public:
  TextSink(absl::string_view name, MetricType type, std::string& out)
      : name_(name), type_(type), out_(out) {}

  void Add(double value, MetricLabels labels) override {
    SYNMAP_CHECK(type_ != MetricType::kHistogram) << name_ << ": histogram family takes histograms";
    Line(name_, labels, value);
  }

  void AddHistogram(const HistogramSnapshot& h, MetricLabels labels) override {
    SYNMAP_CHECK(type_ == MetricType::kHistogram) << name_ << ": not a histogram family";
    SYNMAP_CHECK(h.cumulative_counts.size() == h.upper_bounds.size() + 1) << name_;
    const std::string bucket = absl::StrCat(name_, "_bucket");
    for (size_t i = 0; i <= h.upper_bounds.size(); ++i) {
      MetricLabels with_le = labels;
      with_le.emplace_back(
          "le", i < h.upper_bounds.size() ? FormatMetricValue(h.upper_bounds[i]) : "+Inf");
      Line(bucket, with_le, static_cast<double>(h.cumulative_counts[i]));
    }
    Line(absl::StrCat(name_, "_sum"), labels, h.sum);
    Line(absl::StrCat(name_, "_count"), labels, static_cast<double>(h.cumulative_counts.back()));
  }

 private:
  void Line(absl::string_view name, const MetricLabels& labels, double value) {
    absl::StrAppend(&out_, name);
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        SYNMAP_CHECK(IsValidName(labels[i].first, /*colon_allowed=*/false))
            << name_ << ": bad label name " << labels[i].first;
        absl::StrAppend(&out_, i == 0 ? "" : ",", labels[i].first, "=\"",
                        EscapeLabelValue(labels[i].second), "\"");
      }
      out_ += '}';
    }
    absl::StrAppend(&out_, " ", FormatMetricValue(value), "\n");
  }

  const std::string name_;
  const MetricType type_;
  std::string& out_;
};

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_.size() + 1)) {
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    SYNMAP_CHECK(std::isfinite(upper_bounds_[i]) &&
                 (i == 0 || upper_bounds_[i - 1] < upper_bounds_[i]))
        << "histogram bounds must be finite and ascending";
  }
}

void Histogram::Observe(double value) {
  // First bound >= value: Prometheus buckets are "less than or equal".
  const size_t bucket =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot s;
  s.upper_bounds = upper_bounds_;
  s.cumulative_counts.resize(upper_bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative_counts[i] = total;
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> DurationBucketsSeconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

Counter& MetricsRegistry::AddCounter(absl::string_view name, absl::string_view help) {
  Counter& counter = counters_.emplace_back();
  Register(name, MetricType::kCounter, help,
           [&counter](SampleSink& sink) { sink.Add(static_cast<double>(counter.value())); });
  return counter;
}

Gauge& MetricsRegistry::AddGauge(absl::string_view name, absl::string_view help) {
  Gauge& gauge = gauges_.emplace_back();
  Register(name, MetricType::kGauge, help, [&gauge](SampleSink& sink) { sink.Add(gauge.value()); });
  return gauge;
}

Histogram& MetricsRegistry::AddHistogram(absl::string_view name, absl::string_view help,
                                         std::vector<double> upper_bounds) {
  Histogram& histogram =
      *histograms_.emplace_back(std::make_unique<Histogram>(std::move(upper_bounds)));
  Register(name, MetricType::kHistogram, help,
           [&histogram](SampleSink& sink) { sink.AddHistogram(histogram.snapshot()); });
  return histogram;
}

void MetricsRegistry::AddFamily(absl::string_view name, MetricType type, absl::string_view help,
                                CollectFn collect) {
  Register(name, type, help, std::move(collect));
}

void MetricsRegistry::AddBuildInfo(absl::string_view component, absl::string_view version) {
  MetricLabels labels = {{"component", std::string(component)}, {"version", std::string(version)}};
  Register("synmap_build_info", MetricType::kGauge,
           "Always 1; the labels name the program and its version.",
           [labels](SampleSink& sink) { sink.Add(1, labels); });
}

void MetricsRegistry::Register(absl::string_view name, MetricType type, absl::string_view help,
                               CollectFn collect) {
  SYNMAP_CHECK(IsValidName(name, /*colon_allowed=*/true)) << "bad metric name " << name;
  for (const Family& f : families_) {
    SYNMAP_CHECK(f.name != name) << "metric registered twice: " << name;
  }
  families_.push_back(Family{std::string(name), type, std::string(help), std::move(collect)});
}

std::string MetricsRegistry::Render() const {
  std::string out;
  for (const Family& f : families_) {
    absl::StrAppend(&out, "# HELP ", f.name, " ", EscapeHelp(f.help), "\n", "# TYPE ", f.name, " ",
                    TypeName(f.type), "\n");
    TextSink sink(f.name, f.type, out);
    f.collect(sink);
  }
  return out;
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeHelp(absl::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  // Integers print exactly (counters up to 2^53 are exact in a double).
  if (value == std::trunc(value) && std::fabs(value) < 9.007199254740992e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // Plain decimals where they are short ("0.0001", as Prometheus' own clients write bucket
  // bounds), exponents for the very small and very large.
  const double magnitude = std::fabs(value);
  const std::chars_format format =
      magnitude >= 1e-6 && magnitude < 1e21 ? std::chars_format::fixed : std::chars_format::general;
  char buffer[400];
  const std::to_chars_result r = std::to_chars(buffer, buffer + sizeof(buffer), value, format);
  return std::string(buffer, r.ptr);
}

}  // namespace synmap::common
