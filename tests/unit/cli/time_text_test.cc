#include "cli/time_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_matchers.h"

namespace synmap::cli {
namespace {

using ::synmap::testing::StatusIs;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'796'214'000);  // 2026-12-02T12:20:00Z

int64_t Parse(absl::string_view text, absl::TimeZone zone = absl::UTCTimeZone()) {
  absl::StatusOr<int64_t> ns = ParseTimeText("since", text, kNow, zone);
  EXPECT_TRUE(ns.ok()) << text << ": " << ns.status();
  return ns.value_or(-1);
}

absl::TimeZone Berlin() {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/Berlin", &tz));
  return tz;
}

TEST(TimeTextTest, EveryHelpExampleIsAccepted) {
  for (const char* example : kTimeExamples) {
    EXPECT_OK(ParseTimeText("since", example, kNow, absl::LocalTimeZone())) << example;
    EXPECT_THAT(TimeHelp(), HasSubstr(absl::StrCat("'", example, "'")));
  }
}

TEST(TimeTextTest, DurationsCountBackFromNow) {
  EXPECT_EQ(Parse("90m"), absl::ToUnixNanos(kNow - absl::Minutes(90)));
  EXPECT_EQ(Parse("24h"), absl::ToUnixNanos(kNow - absl::Hours(24)));
  EXPECT_EQ(Parse("7d"), absl::ToUnixNanos(kNow - absl::Hours(24 * 7)));
  EXPECT_EQ(Parse("7d ago"), Parse("7d"));
  EXPECT_EQ(Parse("2w"), absl::ToUnixNanos(kNow - absl::Hours(24 * 14)));
  EXPECT_EQ(Parse("1h30m"), Parse("90m"));
}

TEST(TimeTextTest, DatesAndClockTimesAreInTheGivenZone) {
  const int64_t utc_midnight = absl::ToUnixNanos(
      absl::FromCivil(absl::CivilSecond(2026, 12, 2, 0, 0, 0), absl::UTCTimeZone()));
  EXPECT_EQ(Parse("2026-12-02"), utc_midnight);
  EXPECT_EQ(Parse("2026-12-02 13:30"), utc_midnight + (13 * 3600 + 30 * 60) * 1'000'000'000LL);
  EXPECT_EQ(Parse("2026-12-02 13:30:15"), Parse("2026-12-02T13:30:15"));
  // Berlin is UTC+1 in December: its midnight is 23:00 UTC the day before.
  EXPECT_EQ(Parse("2026-12-02", Berlin()), utc_midnight - 3600 * 1'000'000'000LL);
}

TEST(TimeTextTest, Rfc3339CarriesItsOwnZone) {
  EXPECT_EQ(Parse("2026-12-02T13:30:00+01:00", Berlin()), Parse("2026-12-02T12:30:00Z"));
  EXPECT_EQ(Parse("2026-12-02T12:30:00.5Z"), Parse("2026-12-02T12:30:00Z") + 500'000'000);
}

TEST(TimeTextTest, EmptyIsOpen) { EXPECT_EQ(Parse(""), 0); }

TEST(TimeTextTest, NonsenseNamesTheFlagAndTheForms) {
  absl::StatusOr<int64_t> t = ParseTimeText("until", "yesterday-ish", kNow, absl::UTCTimeZone());
  EXPECT_THAT(t.status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(t.status().message(), HasSubstr("--until: 'yesterday-ish' is not a time"));
  EXPECT_FALSE(ParseTimeText("since", "ago", kNow, absl::UTCTimeZone()).ok());
  EXPECT_FALSE(ParseTimeText("since", "7x", kNow, absl::UTCTimeZone()).ok());
  EXPECT_FALSE(ParseTimeText("since", "2026-13-40", kNow, absl::UTCTimeZone()).ok());
}

TEST(TimeTextTest, TextTimeIsWholeSecondsInTheZone) {
  const int64_t ns = absl::ToUnixNanos(absl::FromUnixSeconds(1'796'214'808)) + 123;
  EXPECT_EQ(FormatTextTime(ns, absl::UTCTimeZone()), "2026-12-02 12:33:28");
  EXPECT_EQ(FormatTextTime(ns, Berlin()), "2026-12-02 13:33:28");
  EXPECT_EQ(FormatTextTime(0, absl::UTCTimeZone()), "-");
}

TEST(TimeTextTest, MachineTimeIsRfc3339WithoutPadding) {
  const int64_t whole = absl::ToUnixNanos(absl::FromUnixSeconds(1'796'214'808));
  EXPECT_EQ(FormatMachineTime(whole), "2026-12-02T12:33:28Z");
  EXPECT_EQ(FormatMachineTime(whole + 500'000'000), "2026-12-02T12:33:28.5Z");
  EXPECT_EQ(FormatMachineTime(0), "");
}

TEST(TimeTextTest, ZoneIsNamed) {
  EXPECT_EQ(ZoneText(absl::UTCTimeZone(), kNow), "UTC");
  EXPECT_EQ(ZoneText(Berlin(), kNow), "local time (CET, UTC+01:00)");
}

}  // namespace
}  // namespace synmap::cli
