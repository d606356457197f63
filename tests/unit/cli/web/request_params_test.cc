#include "cli/web/request_params.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/cli/web/status_has.h"

namespace synmap::cli::web {
namespace {

using ::synmap::testing::StatusHas;
using ::synmap::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(ParseSummaryParamsTest, ReadsTheCliFiltersByName) {
  ASSERT_OK_AND_ASSIGN(SummaryParams p, ParseSummaryParams({{"since", "24h"},
                                                            {"until", "2026-12-02"},
                                                            {"sensor", "s1"},
                                                            {"server", "www"},
                                                            {"client", "_"},
                                                            {"service", "https"},
                                                            {"count", "packets"}}));
  EXPECT_EQ(p.flags.since, "24h");
  EXPECT_EQ(p.flags.until, "2026-12-02");
  EXPECT_EQ(p.flags.filters.sensor, "s1");
  EXPECT_EQ(p.flags.filters.server, "www");
  EXPECT_EQ(p.flags.filters.client, "_");
  EXPECT_EQ(p.flags.filters.service, "https");
  EXPECT_EQ(p.flags.count, "packets");
  EXPECT_THAT(p.filters,
              ElementsAre(Pair("since", "24h"), Pair("until", "2026-12-02"), Pair("sensor", "s1"),
                          Pair("server", "www"), Pair("client", "_"), Pair("service", "https"),
                          Pair("count", "packets")));
}

TEST(ParseSummaryParamsTest, EmptyValuesCountAsAbsent) {
  ASSERT_OK_AND_ASSIGN(SummaryParams p, ParseSummaryParams({{"server", ""}, {"count", ""}}));
  EXPECT_EQ(p.flags.filters.server, "");
  EXPECT_EQ(p.flags.count, "connections");
  EXPECT_TRUE(p.filters.empty());
}

TEST(ParseSummaryParamsTest, RefusesACountTheCliRefuses) {
  EXPECT_THAT(ParseSummaryParams({{"count", "bytes"}}),
              StatusHas(absl::StatusCode::kInvalidArgument, "--count"));
}

TEST(ParseSummaryParamsTest, RefusesAFilterGivenTwice) {
  EXPECT_THAT(ParseSummaryParams({{"server", "a"}, {"server", "b"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseSummaryParamsTest, RefusesUnknownAndCliOnlyNames) {
  EXPECT_THAT(ParseSummaryParams({{"top", "3"}}),
              StatusHas(absl::StatusCode::kInvalidArgument, "unknown parameter 'top'"));
  EXPECT_THAT(ParseSummaryParams({{"by-sensor", ""}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseSummaryParamsTest, ReadsSortOrderAndPage) {
  ASSERT_OK_AND_ASSIGN(SummaryParams p,
                       ParseSummaryParams({{"sort", "client"}, {"order", "desc"}, {"page", "3"}}));
  EXPECT_EQ(p.order.sort, "client");
  EXPECT_TRUE(p.order.descending);
  EXPECT_EQ(p.order.page, 3u);
  EXPECT_TRUE(p.filters.empty());
}

TEST(ParseSummaryParamsTest, RefusesABadOrderOrPage) {
  EXPECT_THAT(ParseSummaryParams({{"order", "up"}}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSummaryParams({{"page", "0"}}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseSummaryParams({{"page", "x"}}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseSummaryParamsTest, TimesFollowTheCliRulesWhenTheRequestIsBuilt) {
  ASSERT_OK_AND_ASSIGN(SummaryParams p, ParseSummaryParams({{"since", "2d ago"}}));
  synmap::v1::SummaryRequest req;
  const absl::Time now = absl::FromUnixSeconds(1'000'000);
  ASSERT_OK(FillSummaryRequest(p.flags, 0, now, absl::UTCTimeZone(), &req));
  EXPECT_EQ(req.range().since_unix_ns(), absl::ToUnixNanos(now - absl::Hours(48)));
  EXPECT_EQ(req.top_n(), 0u);

  ASSERT_OK_AND_ASSIGN(SummaryParams bad, ParseSummaryParams({{"since", "yesterday-ish"}}));
  EXPECT_THAT(FillSummaryRequest(bad.flags, 0, now, absl::UTCTimeZone(), &req),
              StatusHas(absl::StatusCode::kInvalidArgument, "--since"));
}

TEST(ParseSightingsParamsTest, DefaultsTheWindowAsTheCli) {
  ASSERT_OK_AND_ASSIGN(SightingsParams fresh, ParseSightingsParams({}, /*gone=*/false));
  EXPECT_EQ(fresh.since, "24h");
  ASSERT_OK_AND_ASSIGN(SightingsParams gone, ParseSightingsParams({}, /*gone=*/true));
  EXPECT_EQ(gone.since, "30d");
}

TEST(ParseSightingsParamsTest, HasNoClientFilter) {
  EXPECT_THAT(ParseSightingsParams({{"client", "x"}}, false),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SortTableTest, SortsNumbersAsNumbersAndKeepsTiesInOrder) {
  Table table;
  table.columns = {{.name = "count", .numeric = true}, {.name = "client"}};
  table.rows = {{"9", "b"}, {"10", "a"}, {"9", "a"}};
  ASSERT_OK(SortTable({.sort = "count", .descending = true}, &table));
  EXPECT_THAT(table.rows,
              ElementsAre(ElementsAre("10", "a"), ElementsAre("9", "b"), ElementsAre("9", "a")));
  ASSERT_OK(SortTable({.sort = "client"}, &table));
  EXPECT_EQ(table.rows[0][1], "a");
  EXPECT_EQ(table.rows[2][1], "b");
}

TEST(SortTableTest, RefusesAnUnknownColumn) {
  Table table;
  table.columns = {{.name = "count"}};
  EXPECT_THAT(SortTable({.sort = "nope"}, &table), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace synmap::cli::web
