#include "cli/coverage_format.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace synmap::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'764'680'400 * kSecond;  // 2025-12-02 13:00:00 UTC.

synmap::v1::Coverage Widened() {
  synmap::v1::Coverage c;
  c.mutable_requested()->set_since_unix_ns(kT0 + 30 * kSecond);
  c.mutable_requested()->set_until_unix_ns(kT0 + 890 * kSecond);
  c.mutable_answered()->set_since_unix_ns(kT0);
  c.mutable_answered()->set_until_unix_ns(kT0 + 900 * kSecond);
  c.set_resolution_seconds(60);
  c.set_bucket_ns(60 * kSecond);
  c.add_sensors()->set_sensor("s1");
  return c;
}

TEST(CoverageFormatTest, FooterSaysWhenTheWindowWasWidenedAndToWhat) {
  const std::string footer =
      CoverageFooter(Widened(), absl::FromUnixNanos(kT0), absl::UTCTimeZone());
  EXPECT_THAT(footer, HasSubstr("window widened to bucket edges: asked 2025-12-02 13:00:30 to "
                                "2025-12-02 13:14:50, answered 2025-12-02 13:00:00 to "
                                "2025-12-02 13:15:00 (resolution 1m)\n"));
}

TEST(CoverageFormatTest, FooterIsSilentWhenTheWindowFitsTheBuckets) {
  synmap::v1::Coverage c = Widened();
  *c.mutable_requested() = c.answered();
  EXPECT_THAT(CoverageFooter(c, absl::FromUnixNanos(kT0), absl::UTCTimeZone()),
              Not(HasSubstr("widened")));
}

TEST(CoverageFormatTest, JsonCarriesAskedAnsweredAndResolution) {
  std::string json;
  AppendCoverageJson(Widened(), &json);
  EXPECT_THAT(json, HasSubstr("\"since\": \"2025-12-02T13:00:30Z\""));
  EXPECT_THAT(json, HasSubstr("\"answered_since\": \"2025-12-02T13:00:00Z\""));
  EXPECT_THAT(json, HasSubstr("\"answered_until\": \"2025-12-02T13:15:00Z\""));
  EXPECT_THAT(json, HasSubstr("\"resolution_seconds\": 60"));
}

}  // namespace
}  // namespace synmap::cli
