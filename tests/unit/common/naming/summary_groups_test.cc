#include "common/naming/summary_groups.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
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

const std::string& NoSensorName(uint32_t) {
  static const std::string kNone;
  return kNone;
}

std::vector<Row> Rows(std::vector<SummaryGroup> groups, const Labeler& labeler) {
  SortGroups(groups, CountKind::kConnections, RowOrder::kCount, 100, labeler, NoSensorName);
  std::vector<Row> rows;
  for (const SummaryGroup& g : groups) {
    rows.push_back(Row{labeler.SiteName(g.site), labeler.Label(g.client), labeler.Label(g.server),
                       labeler.Label(g.service), g.totals.connections});
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
  for (const auto& [site, connections] : keys) {
    grouper.Add(0, 1, 5432, kNoSensor, site, KeyTotals{connections, connections, 10, 20});
  }
  EXPECT_THAT(Rows(grouper.Sum(), labeler),
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
  grouper.Add(0, 1, 5432, kNoSensor, b, KeyTotals{1, 1, 10, 20});
  grouper.Add(0, 1, 5432, kNoSensor, a, KeyTotals{1, 1, 10, 20});
  const std::vector<Row> rows = Rows(grouper.Sum(), labeler);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].site, "a");
  EXPECT_EQ(rows[1].site, "b");
}

// Names that tie on their first 16 bytes and past them, a name longer than 16 + 255 bytes, and
// IPv4 and IPv6 addresses whose texts share prefixes: rows sort as their texts do.
TEST(SummaryGrouperTest, RowsSortByTheTextsOfTheirLabels) {
  const std::string long_name(300, 'n');
  std::string names_yaml = "local_networks: [10.0.0.0/8, 2001:db8::/32]\nhosts:\n";
  const std::vector<std::string> host_names = {"host-with-a-long-name-a",
                                               "host-with-a-long-name-b",
                                               "host-with-a-long-name",
                                               "h",
                                               long_name + "a",
                                               long_name + "b",
                                               long_name,
                                               "10.0.0.1x"};
  std::vector<IpAddress> ips;
  for (size_t i = 0; i < host_names.size(); ++i) {
    const std::string ip = absl::StrCat("10.1.0.", i);
    names_yaml += absl::StrCat("  ", host_names[i], ": [", ip, "]\n");
    ips.push_back(*IpAddress::Parse(ip));
  }
  for (const char* ip :
       {"10.0.0.1", "10.0.0.10", "10.0.0.100", "10.0.0.2", "2001:db8::1", "2001:db8::1:0:0:1",
        "2001:db8::10", "2001:db8:0:0:1::2", "::ffff:1.2.3.4"}) {
    ips.push_back(*IpAddress::Parse(ip));
  }
  ASSERT_OK_AND_ASSIGN(const NameTable names, NameTable::FromYaml(names_yaml, "names.yaml"));
  Labeler labeler(names, ips, /*show_remote=*/true);
  SummaryGrouper grouper(labeler);
  uint32_t ref = 0;
  for (uint32_t client = 0; client < ips.size(); ++client) {
    for (uint32_t server = 0; server < ips.size(); server += 3) {
      grouper.Add(client, server, static_cast<uint16_t>(1 + client % 2), kNoSensor, 0,
                  KeyTotals{1, 1, 10, 20});
      ++ref;
    }
  }
  std::vector<SummaryGroup> groups = grouper.Sum();
  ASSERT_EQ(groups.size(), ref);
  std::vector<std::tuple<std::string, std::string, std::string>> got, want;
  for (const SummaryGroup& g : groups) {
    want.emplace_back(labeler.Label(g.client), labeler.Label(g.server), labeler.Label(g.service));
  }
  std::sort(want.begin(), want.end());
  SortGroups(groups, CountKind::kConnections, RowOrder::kName, groups.size(), labeler,
             NoSensorName);
  for (const SummaryGroup& g : groups) {
    got.emplace_back(labeler.Label(g.client), labeler.Label(g.server), labeler.Label(g.service));
  }
  EXPECT_EQ(got, want);
}

// An answer big enough that the members, the labels and the rows are each sorted on two threads
// (common/aggregate/parallel_sort.h), with many equal counts and keys that share their labels:
// the rows are summed and ordered exactly as a plain sort of their texts orders them.
TEST(SummaryGrouperTest, BigAnswersGroupAndSortAsTheirTexts) {
  std::mt19937 rng(5);
  std::vector<IpAddress> ips;
  for (int i = 0; i < 150'000; ++i) {
    const uint32_t r = static_cast<uint32_t>(rng());
    const std::string text =
        i % 3 == 0
            ? absl::StrCat("2001:db8::", absl::Hex(r & 0xffff), ":", absl::Hex(r >> 16))
            : absl::StrCat(r >> 24, ".", (r >> 16) & 0xff, ".", (r >> 8) & 0xff, ".", r & 0xff);
    ips.push_back(*IpAddress::Parse(text));
  }
  ASSERT_OK_AND_ASSIGN(const NameTable names, NameTable::FromYaml("{}", "names.yaml"));
  Labeler labeler(names, ips, /*show_remote=*/true);
  SummaryGrouper grouper(labeler);
  // Keys: random client, server and one of 4 ports; some repeat (two keys, one row).
  struct Key {
    uint32_t client, server;
    uint16_t port;
    uint64_t connections;
  };
  std::vector<Key> keys;
  for (uint32_t i = 0; i < 300'000; ++i) {
    if (i > 0 && rng() % 8 == 0) {
      Key again = keys[rng() % keys.size()];
      again.connections = 1 + rng() % 4;
      keys.push_back(again);
    } else {
      keys.push_back(Key{static_cast<uint32_t>(rng() % ips.size()),
                         static_cast<uint32_t>(rng() % ips.size()),
                         static_cast<uint16_t>(80 + rng() % 4), 1 + rng() % 4});
    }
    grouper.Add(keys[i].client, keys[i].server, keys[i].port, kNoSensor, 0,
                KeyTotals{keys[i].connections, keys[i].connections, 10, 20});
  }
  std::vector<SummaryGroup> groups = grouper.Sum();
  // The reference: texts summed in a map, then sorted by count descending, then texts.
  using Texts = std::tuple<std::string, std::string, std::string>;
  std::map<Texts, uint64_t> sums;
  for (const Key& k : keys) {
    sums[Texts(ips[k.client].ToString(), ips[k.server].ToString(),
               labeler.Label(labeler.ServiceLabelId(k.port)))] += k.connections;
  }
  std::vector<std::pair<uint64_t, Texts>> want;
  for (const auto& [texts, connections] : sums) {
    want.emplace_back(connections, texts);
  }
  std::sort(want.begin(), want.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  ASSERT_EQ(groups.size(), want.size());
  ASSERT_GT(groups.size(), 3u * 65'536);
  SortGroups(groups, CountKind::kConnections, RowOrder::kCount, groups.size(), labeler,
             NoSensorName);
  const std::vector<SummaryGroup>& rows = groups;
  ASSERT_EQ(rows.size(), want.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const Texts got(labeler.Label(rows[i].client), labeler.Label(rows[i].server),
                    labeler.Label(rows[i].service));
    ASSERT_EQ(rows[i].totals.connections, want[i].first) << "row " << i;
    ASSERT_EQ(got, want[i].second) << "row " << i;
  }
}

// A row's ids share the tail padding of its totals: assigning or adding to the totals must
// leave them alone.
TEST(SummaryGroupTest, AssigningTheTotalsKeepsTheIds) {
  std::vector<SummaryGroup> rows(3);
  for (uint32_t i = 0; i < rows.size(); ++i) {
    rows[i] = SummaryGroup{.totals = {},
                           .client = i + 1,
                           .server = i + 2,
                           .service = i + 3,
                           .sensor = i + 4,
                           .site = i + 5};
    rows[i].totals.Add(i, i + 1, 80, KeyTotals{i + 1, 1, 10, 20});
  }
  rows[0].totals = rows[2].totals;
  rows[1].totals = GroupTotals();
  rows[2].totals.Add(7, 8, 443, KeyTotals{1, 1, 5, 30});
  for (uint32_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].client, i + 1);
    EXPECT_EQ(rows[i].server, i + 2);
    EXPECT_EQ(rows[i].service, i + 3);
    EXPECT_EQ(rows[i].sensor, i + 4);
    EXPECT_EQ(rows[i].site, i + 5);
  }
  EXPECT_EQ(rows[0].totals.packets, 3u);
  EXPECT_EQ(rows[0].totals.server_ip, 3);
  EXPECT_EQ(rows[1].totals.port, GroupTotals::kUnset);
  EXPECT_EQ(rows[2].totals.port, GroupTotals::kSeveral);
  EXPECT_EQ(rows[2].totals.first_ns, 5);
}

// Keys that land in one row sum their counts and times, and the row keeps an address or port
// only when all its keys share it.
TEST(SummaryGrouperTest, ARowKeepsWhatAllItsKeysShare) {
  ASSERT_OK_AND_ASSIGN(const NameTable names,
                       NameTable::FromYaml("local_networks: [10.0.0.0/24]\n"
                                           "services:\n  80: http\n  8080: http\n",
                                           "names.yaml"));
  const std::vector<IpAddress> ips = {*IpAddress::Parse("192.0.2.1"),
                                      *IpAddress::Parse("192.0.2.2"), *IpAddress::Parse("10.0.0.1"),
                                      *IpAddress::Parse("10.0.0.2")};
  Labeler labeler(names, ips, /*show_remote=*/false);
  SummaryGrouper grouper(labeler);
  grouper.Reserve(4);
  // Two remote clients ("_") of 10.0.0.1:80 and :8080 (both "http"): one row.
  grouper.Add(0, 2, 80, kNoSensor, 0, KeyTotals{5, 2, 300, 400});
  grouper.Add(1, 2, 8080, kNoSensor, 0, KeyTotals{7, 3, 100, 350});
  // One remote client of 10.0.0.2:80, twice (as two sensors' keys merged): one row.
  grouper.Add(0, 3, 80, kNoSensor, 0, KeyTotals{1, 1, 500, 500});
  grouper.Add(0, 3, 80, kNoSensor, 0, KeyTotals{2, 1, 450, 600});
  EXPECT_EQ(grouper.size(), 2u);
  const std::vector<SummaryGroup> groups = grouper.Sum();
  EXPECT_EQ(grouper.size(), 0u);
  ASSERT_EQ(groups.size(), 2u);
  const SummaryGroup& first = groups[0];  // In the order of their first key.
  EXPECT_EQ(labeler.Label(first.client), "_");
  EXPECT_EQ(labeler.Label(first.server), "10.0.0.1");
  EXPECT_EQ(labeler.Label(first.service), "http");
  EXPECT_EQ(first.totals.packets, 12u);
  EXPECT_EQ(first.totals.connections, 5u);
  EXPECT_EQ(first.totals.first_ns, 100);
  EXPECT_EQ(first.totals.last_ns, 400);
  EXPECT_EQ(first.totals.port, GroupTotals::kSeveral);
  EXPECT_EQ(first.totals.client_ip, GroupTotals::kSeveral);
  EXPECT_EQ(first.totals.server_ip, 2);
  const SummaryGroup& second = groups[1];
  EXPECT_EQ(labeler.Label(second.server), "10.0.0.2");
  EXPECT_EQ(second.totals.packets, 3u);
  EXPECT_EQ(second.totals.connections, 2u);
  EXPECT_EQ(second.totals.first_ns, 450);
  EXPECT_EQ(second.totals.last_ns, 600);
  EXPECT_EQ(second.totals.port, 80);
  EXPECT_EQ(second.totals.client_ip, 0);
  EXPECT_EQ(second.totals.server_ip, 3);
}

// Rows kept apart by sensor are separate rows even with equal labels.
TEST(SummaryGrouperTest, SensorsKeptApartAreSeparateRows) {
  ASSERT_OK_AND_ASSIGN(const NameTable names, NameTable::FromYaml("{}", "names.yaml"));
  const std::vector<IpAddress> ips = {*IpAddress::Parse("10.0.0.7"), *IpAddress::Parse("10.0.0.5")};
  Labeler labeler(names, ips, /*show_remote=*/true);
  SummaryGrouper grouper(labeler);
  grouper.Add(0, 1, 22, /*sensor=*/3, 0, KeyTotals{1, 1, 10, 20});
  grouper.Add(0, 1, 22, /*sensor=*/4, 0, KeyTotals{2, 2, 10, 20});
  grouper.Add(0, 1, 22, /*sensor=*/3, 0, KeyTotals{4, 4, 10, 20});
  const std::vector<SummaryGroup> groups = grouper.Sum();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].sensor, 3u);
  EXPECT_EQ(groups[0].totals.connections, 5u);
  EXPECT_EQ(groups[1].sensor, 4u);
  EXPECT_EQ(groups[1].totals.connections, 2u);
}

// Asked for fewer rows than there are, SortGroups keeps the first ones of the whole order.
TEST(SummaryGrouperTest, TheTopRowsAreTheFirstOfTheWholeOrder) {
  std::vector<IpAddress> ips;
  for (int i = 0; i < 200; ++i) {
    ips.push_back(*IpAddress::Parse(absl::StrCat("10.0.", i / 100, ".", i % 100)));
  }
  ASSERT_OK_AND_ASSIGN(const NameTable names, NameTable::FromYaml("{}", "names.yaml"));
  Labeler labeler(names, ips, /*show_remote=*/true);
  SummaryGrouper grouper(labeler);
  std::mt19937 rng(11);
  for (uint32_t i = 0; i + 1 < ips.size(); ++i) {
    const uint64_t n = 1 + rng() % 5;  // Many equal counts: ties go by the labels' texts.
    grouper.Add(i, i + 1, 443, kNoSensor, 0, KeyTotals{n, n, 10, 20});
  }
  std::vector<SummaryGroup> all = grouper.Sum();
  std::vector<SummaryGroup> top = all;
  SortGroups(all, CountKind::kPackets, RowOrder::kCount, all.size(), labeler, NoSensorName);
  SortGroups(top, CountKind::kPackets, RowOrder::kCount, 17, labeler, NoSensorName);
  ASSERT_EQ(top.size(), 17u);
  for (size_t i = 0; i < top.size(); ++i) {
    EXPECT_EQ(top[i].client, all[i].client) << i;
    EXPECT_EQ(top[i].totals.packets, all[i].totals.packets) << i;
  }
}

}  // namespace
}  // namespace synmap::common
