#include "common/naming/summary_groups.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/naming/labeler.h"
#include "common/naming/name_table.h"
#include "common/packet/ip_address.h"
#include "tests/testing/status_matchers.h"

namespace synmap::common {
namespace {

// Site a names 10.0.0.5 "alpha-db", site b "beta-web"; both reuse 10.0.0.0/24.
constexpr char kNames[] = R"(local_networks: [10.0.0.0/24]
services:
  5432: postgres
sites:
  a:
    hosts:
      alpha-db: [10.0.0.5]
  b:
    hosts:
      beta-web: [10.0.0.5]
)";

struct Row {
  std::string site, client, server, service;
  uint64_t connections;
  bool operator==(const Row&) const = default;
};

std::vector<Row> Rows(const std::vector<SummaryGroup>& groups, const Labeler& labeler) {
  std::vector<Row> rows;
  for (const SummaryGroup* g : SortGroups(groups, CountKind::kConnections, RowOrder::kCount, 100,
                                          labeler, [](uint32_t) -> const std::string& {
                                            static const std::string kNone;
                                            return kNone;
                                          })) {
    rows.push_back(Row{labeler.SiteName(g->site), labeler.Label(g->client),
                       labeler.Label(g->server), labeler.Label(g->service), g->totals.connections});
  }
  return rows;
}

TEST(SummaryGrouperTest, TheSameAddressAtTwoSitesIsTwoRowsNamedByEachSite) {
  ASSERT_OK_AND_ASSIGN(const NameTable names, NameTable::FromYaml(kNames, "names.yaml"));
  const std::vector<IpAddress> ips = {*IpAddress::Parse("10.0.0.7"), *IpAddress::Parse("10.0.0.5")};
  Labeler labeler(names, ips, /*show_remote=*/false);
  const uint32_t a = labeler.SiteId("a");
  const uint32_t b = labeler.SiteId("b");
  EXPECT_EQ(labeler.SiteId(""), 0u);
  EXPECT_EQ(labeler.SiteId("a"), a);
  SummaryGrouper grouper(labeler);
  // The same key (10.0.0.7 -> 10.0.0.5:5432) at site a (3 + 1 connections in two keys), at
  // site b (2) and at no site (5).
  const std::vector<std::pair<uint32_t, uint64_t>> keys = {{a, 3}, {a, 1}, {b, 2}, {0, 5}};
  for (uint32_t i = 0; i < keys.size(); ++i) {
    grouper.Add(i, 0, 1, 5432, kNoSensor, keys[i].first);
  }
  const std::vector<SummaryGroup> groups = grouper.Sum([&](uint32_t i, GroupTotals& t) {
    t.Add(0, 1, 5432, KeyTotals{keys[i].second, keys[i].second, 10, 20});
  });
  EXPECT_THAT(Rows(groups, labeler),
              ::testing::ElementsAre(Row{"", "10.0.0.7", "10.0.0.5", "postgres", 5},
                                     Row{"a", "10.0.0.7", "alpha-db", "postgres", 4},
                                     Row{"b", "10.0.0.7", "beta-web", "postgres", 2}));
}

TEST(SummaryGrouperTest, RowsOfEqualCountsSortBySiteFirst) {
  ASSERT_OK_AND_ASSIGN(const NameTable names, NameTable::FromYaml(kNames, "names.yaml"));
  const std::vector<IpAddress> ips = {*IpAddress::Parse("10.0.0.7"), *IpAddress::Parse("10.0.0.5")};
  Labeler labeler(names, ips, /*show_remote=*/false);
  const uint32_t b = labeler.SiteId("b");  // Given the first id: order must still be by name.
  const uint32_t a = labeler.SiteId("a");
  SummaryGrouper grouper(labeler);
  grouper.Add(0, 0, 1, 5432, kNoSensor, b);
  grouper.Add(1, 0, 1, 5432, kNoSensor, a);
  const std::vector<SummaryGroup> groups = grouper.Sum([&](uint32_t, GroupTotals& t) {
    t.Add(0, 1, 5432, KeyTotals{1, 1, 10, 20});
  });
  const std::vector<Row> rows = Rows(groups, labeler);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].site, "a");
  EXPECT_EQ(rows[1].site, "b");
}

}  // namespace
}  // namespace synmap::common
