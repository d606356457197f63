#include "cli/summary_rows.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "common/naming/name_table.h"
#include "tests/testing/status_matchers.h"

namespace synmap::cli {
namespace {

using common::IpAddress;
using common::Record;

Record MakeRecord(const char* client, const char* server, uint16_t port, uint64_t packets,
                  uint64_t connections, int64_t first, int64_t last) {
  Record r;
  r.key.client = *IpAddress::Parse(client);
  r.key.server = *IpAddress::Parse(server);
  r.key.server_port = port;
  r.packets = packets;
  r.connections = connections;
  r.first_seen_ns = first;
  r.last_seen_ns = last;
  return r;
}

TEST(SummaryRowsTest, RowsEqualAfterNamingAreSummed) {
  ASSERT_OK_AND_ASSIGN(common::NameTable names,
                       common::NameTable::FromYaml("local_networks: [10.0.0.0/8]\n"
                                                   "hosts:\n  web: [10.0.0.1, 10.0.0.2]\n"
                                                   "services:\n  80: http\n  8080: http\n",
                                                   "names.yaml"));
  const std::vector<Record> records = {
      MakeRecord("192.0.2.1", "10.0.0.1", 80, 3, 2, 100, 200),
      MakeRecord("192.0.2.2", "10.0.0.2", 80, 1, 1, 50, 150),     // Same "_ web http".
      MakeRecord("192.0.2.3", "10.0.0.1", 8080, 5, 4, 300, 400),  // Same labels, other port.
      MakeRecord("10.0.0.9", "10.0.0.1", 80, 7, 7, 10, 20),       // Local unnamed client.
  };
  std::vector<SummaryRow> rows = NameRecords(records, names, /*show_remote=*/false);
  SortRows(CountKind::kConnections, SortOrder::kCount, &rows);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (SummaryRow{"10.0.0.9", "web", "http", 80, 7, 7, 10, 20}));
  EXPECT_EQ(rows[1], (SummaryRow{"_", "web", "http", -1, 9, 7, 50, 400}));

  rows = NameRecords(records, names, /*show_remote=*/true);
  EXPECT_EQ(rows.size(), 4u);
}

// Regression: labels were taken by reference from a cache that the next lookup could rehash
// (use-after-free under ASan). Thousands of distinct addresses force many rehashes.
TEST(SummaryRowsTest, LabelsSurviveManyDistinctAddresses) {
  std::vector<Record> records;
  for (int i = 0; i < 3000; ++i) {
    const std::string client = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    const std::string server = "10.2." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    records.push_back(MakeRecord(client.c_str(), server.c_str(), 40000, 1, 1, i, i));
  }
  const common::NameTable names;  // No names file: every address local, shown as its IP.
  const std::vector<SummaryRow> rows = NameRecords(records, names, /*show_remote=*/false);
  ASSERT_EQ(rows.size(), records.size());
  for (const SummaryRow& row : rows) {
    const int64_t i = row.first_seen_ns;
    EXPECT_EQ(row.client, "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250));
    EXPECT_EQ(row.server, "10.2." + std::to_string(i / 250) + "." + std::to_string(i % 250));
  }
}

TEST(SummaryRowsTest, SortsByChosenCountThenNames) {
  std::vector<SummaryRow> rows = {
      {"b", "s", "http", 80, 10, 1, 0, 0},
      {"a", "s", "http", 80, 2, 2, 0, 0},
      {"c", "s", "http", 80, 2, 2, 0, 0},
  };
  SortRows(CountKind::kConnections, SortOrder::kCount, &rows);
  EXPECT_EQ(rows[0].client, "a");
  EXPECT_EQ(rows[1].client, "c");
  EXPECT_EQ(rows[2].client, "b");
  SortRows(CountKind::kPackets, SortOrder::kCount, &rows);
  EXPECT_EQ(rows[0].client, "b");
  SortRows(CountKind::kPackets, SortOrder::kName, &rows);
  EXPECT_EQ(rows[0].client, "a");
  EXPECT_EQ(rows[2].client, "c");
}

TEST(SummaryRowsTest, FormatsRfc3339WithTheFractionDigitsNeededOnly) {
  // 1700000000 s = 2023-11-14T22:13:20Z.
  EXPECT_EQ(FormatRfc3339Nanos(1'700'000'000'000'000'001), "2023-11-14T22:13:20.000000001Z");
  EXPECT_EQ(FormatRfc3339Nanos(1'700'000'000'500'000'000), "2023-11-14T22:13:20.5Z");
  EXPECT_EQ(FormatRfc3339Nanos(0), "1970-01-01T00:00:00Z");
}

TEST(SummaryRowsTest, TableHasRecipeColumnsInTextAndAllFieldsInJson) {
  const std::vector<SummaryRow> rows = {{"_", "web", "http", 80, 9, 7, 0, 1'000'000'000}};
  const Table table = RowsToTable(rows, CountKind::kPackets);
  std::string text;
  AppendText(table, &text);
  EXPECT_EQ(text, "      9 _               web                   http\n");
  std::string json;
  AppendJsonRows(table, &json);
  EXPECT_THAT(json, ::testing::HasSubstr(
                        "\"count\": 9, \"client\": \"_\", \"server\": \"web\", \"service\": "
                        "\"http\", \"server_port\": 80, \"packets\": 9, \"connections\": 7, "
                        "\"first_seen\": \"1970-01-01T00:00:00Z\", "
                        "\"last_seen\": \"1970-01-01T00:00:01Z\""));
}

}  // namespace
}  // namespace synmap::cli
