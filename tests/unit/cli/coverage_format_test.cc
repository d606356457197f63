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

TEST(CoverageFormatTest, HandshakesCountedWithoutOverlapDeduplicationAreSaid) {
  synmap::v1::Coverage c = Widened();
  EXPECT_THAT(CoverageFooter(c, absl::FromUnixNanos(kT0), absl::UTCTimeZone()),
              Not(HasSubstr("overlap:")));
  c.set_overlap_undeduplicated(12);
  EXPECT_THAT(CoverageFooter(c, absl::FromUnixNanos(kT0), absl::UTCTimeZone()),
              HasSubstr("overlap: 12 handshake(s) counted without deduplication"));
  std::string json;
  AppendCoverageJson(c, &json);
  EXPECT_THAT(json, HasSubstr("\"overlap_undeduplicated\": 12,"));
}

TEST(CoverageFormatTest, JsonCarriesAskedAnsweredAndResolution) {
  std::string json;
  AppendCoverageJson(Widened(), &json);
  EXPECT_THAT(json, HasSubstr("\"since\": \"2025-12-02T13:00:30Z\""));
  EXPECT_THAT(json, HasSubstr("\"answered_since\": \"2025-12-02T13:00:00Z\""));
  EXPECT_THAT(json, HasSubstr("\"answered_until\": \"2025-12-02T13:15:00Z\""));
  EXPECT_THAT(json, HasSubstr("\"resolution_seconds\": 60"));
}

TEST(CoverageFormatTest, AnUnavailableDatabaseIsSaidInTheFooterAndTheJson) {
  synmap::v1::Coverage c = Widened();
  synmap::v1::StoreStatus* store = c.mutable_store();
  store->set_backend("postgresql");
  store->set_available(false);
  store->set_unavailable_since_unix_ns(kT0 + 60 * kSecond);
  store->set_problem("connection refused");
  store->set_synced_unix_ns(kT0 + 59 * kSecond);
  const std::string footer =
      CoverageFooter(c, absl::FromUnixNanos(kT0 + 120 * kSecond), absl::UTCTimeZone());
  EXPECT_THAT(footer, HasSubstr("store: the collector's postgresql database is UNAVAILABLE since "
                                "2025-12-02 13:01:00 (connection refused)"));
  EXPECT_THAT(footer, HasSubstr("batches committed at other collectors after "
                                "2025-12-02 13:00:59 are missing from this answer"));
  std::string json;
  AppendCoverageJson(c, &json);
  EXPECT_THAT(json, HasSubstr("\"store\": {\"backend\": \"postgresql\", \"available\": false, "
                              "\"unavailable_since\": \"2025-12-02T13:01:00Z\", "
                              "\"problem\": \"connection refused\", "
                              "\"synced\": \"2025-12-02T13:00:59Z\"}"));
}

TEST(CoverageFormatTest, ACollectorBehindTheSharedDatabaseSaysSoAndAFollowingOneIsSilent) {
  synmap::v1::Coverage c = Widened();
  c.mutable_store()->set_backend("postgresql");
  c.mutable_store()->set_available(true);
  c.mutable_store()->set_synced_unix_ns(kT0);
  EXPECT_THAT(CoverageFooter(c, absl::FromUnixNanos(kT0 + 5 * kSecond), absl::UTCTimeZone()),
              Not(HasSubstr("store:")));
  EXPECT_THAT(CoverageFooter(c, absl::FromUnixNanos(kT0 + 60 * kSecond), absl::UTCTimeZone()),
              HasSubstr("store: batches committed at other collectors after 2025-12-02 13:00:00 "
                        "(60s ago) are not yet in this collector's answer"));
  // One collector on its own database (synced 0) is always current.
  c.mutable_store()->set_backend("sqlite");
  c.mutable_store()->set_synced_unix_ns(0);
  std::string json;
  AppendCoverageJson(c, &json);
  EXPECT_THAT(CoverageFooter(c, absl::FromUnixNanos(kT0 + 60 * kSecond), absl::UTCTimeZone()),
              Not(HasSubstr("store:")));
  EXPECT_THAT(json, HasSubstr("\"available\": true, \"unavailable_since\": null, "
                              "\"problem\": null, \"synced\": null}"));
}

}  // namespace
}  // namespace synmap::cli
