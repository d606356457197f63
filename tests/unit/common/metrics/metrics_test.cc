#include "common/metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace synmap::common {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CounterFamilyHasHelpTypeAndSampleLines) {
  MetricsRegistry registry;
  Counter& acked = registry.AddCounter("synmap_sensor_batches_acked_total", "Batches acked.");
  acked.Increment();
  acked.Increment(41);
  EXPECT_EQ(registry.Render(),
            "# HELP synmap_sensor_batches_acked_total Batches acked.\n"
            "# TYPE synmap_sensor_batches_acked_total counter\n"
            "synmap_sensor_batches_acked_total 42\n");
}

TEST(MetricsTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  MetricsRegistry registry;
  registry.AddFamily("refusals_total", MetricType::kCounter, "By reason.", [](SampleSink& sink) {
    sink.Add(3, {{"reason", "a\\b\"c\nd"}, {"stage", "tls"}});
  });
  EXPECT_THAT(registry.Render(),
              HasSubstr("refusals_total{reason=\"a\\\\b\\\"c\\nd\",stage=\"tls\"} 3\n"));
}

TEST(MetricsTest, HelpEscapesBackslashAndNewlineButNotQuotes) {
  EXPECT_EQ(EscapeHelp("line \"one\"\nback\\slash"), "line \"one\"\\nback\\\\slash");
  MetricsRegistry registry;
  registry.AddGauge("g", "two\nlines");
  EXPECT_THAT(registry.Render(), HasSubstr("# HELP g two\\nlines\n# TYPE g gauge\ng 0\n"));
}

TEST(MetricsTest, ValuesPrintIntegersExactlyAndFractionsShortest) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(1234567890123), "1234567890123");
  EXPECT_EQ(FormatMetricValue(-2), "-2");
  EXPECT_EQ(FormatMetricValue(0.0025), "0.0025");
  EXPECT_EQ(FormatMetricValue(0.0001), "0.0001");
  EXPECT_EQ(FormatMetricValue(0.011603784999999998), "0.011603784999999998");
  EXPECT_EQ(FormatMetricValue(1.5e-7), "1.5e-07");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  MetricsRegistry registry;
  Histogram& h = registry.AddHistogram("commit_seconds", "Commit time.", {0.125, 0.5, 1});
  for (double v : {0.0625, 0.125, 0.25, 0.75, 0.75, 8.0}) {  // Exact in binary: exact sum.
    h.Observe(v);
  }
  EXPECT_EQ(registry.Render(),
            "# HELP commit_seconds Commit time.\n"
            "# TYPE commit_seconds histogram\n"
            "commit_seconds_bucket{le=\"0.125\"} 2\n"  // 0.0625 and 0.125: le includes it.
            "commit_seconds_bucket{le=\"0.5\"} 3\n"
            "commit_seconds_bucket{le=\"1\"} 5\n"
            "commit_seconds_bucket{le=\"+Inf\"} 6\n"
            "commit_seconds_sum 9.9375\n"
            "commit_seconds_count 6\n");
}

TEST(MetricsTest, HistogramLabelsPrecedeLe) {
  MetricsRegistry registry;
  registry.AddFamily("h", MetricType::kHistogram, "x", [](SampleSink& sink) {
    sink.AddHistogram(HistogramSnapshot{{1}, {1, 2}, 3.5}, {{"store", "sqlite"}});
  });
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("h_bucket{store=\"sqlite\",le=\"1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("h_bucket{store=\"sqlite\",le=\"+Inf\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("h_sum{store=\"sqlite\"} 3.5\nh_count{store=\"sqlite\"} 2\n"));
}

TEST(MetricsTest, FamiliesAreReadAtEachRenderFromExistingCounters) {
  uint64_t kernel = 1;
  MetricsRegistry registry;
  registry.AddFamily("dropped_total", MetricType::kCounter, "Drops.", [&kernel](SampleSink& s) {
    s.Add(static_cast<double>(kernel), {{"stage", "kernel"}});
    s.Add(0, {{"stage", "interface"}});
  });
  EXPECT_THAT(registry.Render(), HasSubstr("dropped_total{stage=\"kernel\"} 1\n"));
  kernel = 9;
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("dropped_total{stage=\"kernel\"} 9\n"
                              "dropped_total{stage=\"interface\"} 0\n"));
  EXPECT_EQ(text.find("# TYPE dropped_total"), text.rfind("# TYPE dropped_total"));
}

TEST(MetricsTest, BuildInfoIsOneWithComponentAndVersion) {
  MetricsRegistry registry;
  registry.AddBuildInfo("sensor", "0.1.0");
  EXPECT_THAT(registry.Render(),
              HasSubstr("synmap_build_info{component=\"sensor\",version=\"0.1.0\"} 1\n"));
}

TEST(MetricsDeathTest, BadOrDuplicateNamesAreBugs) {
  MetricsRegistry registry;
  registry.AddCounter("a_total", "x");
  EXPECT_DEATH(registry.AddCounter("a_total", "x"), "registered twice");
  EXPECT_DEATH(registry.AddCounter("9lives", "x"), "bad metric name");
  EXPECT_DEATH(registry.AddGauge("has-dash", "x"), "bad metric name");
}

}  // namespace
}  // namespace synmap::common
