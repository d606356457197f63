#include "cli/summary_rows.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "cli/summary_table.h"
#include "cli/table_format.h"
#include "common/naming/name_table.h"
#include "tests/testing/status_matchers.h"

namespace synmap::cli {
namespace {

using common::CountKind;
using common::IpAddress;
using common::Record;
using common::RowOrder;

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

Table Summarize(const std::vector<Record>& records, const common::NameTable& names,
                bool show_remote, CountKind count = CountKind::kConnections,
                RowOrder order = RowOrder::kCount) {
  return SummarizeRecords(RecordBlocks{records}, names, show_remote, count, order,
                          OutputFormat::kJson, absl::UTCTimeZone());
}

// Cells: count, client, server, service, server_port, server_ip, client_ip, packets,
// connections, first_seen, last_seen.
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
  const Table table = Summarize(records, names, /*show_remote=*/false);
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0],
            (std::vector<std::string>{"7", "10.0.0.9", "web", "http", "80", "10.0.0.1", "10.0.0.9",
                                      "7", "7", "1970-01-01T00:00:00.00000001Z",
                                      "1970-01-01T00:00:00.00000002Z"}));
  // Merged: several ports, server and client addresses -> empty (null in json).
  EXPECT_EQ(table.rows[1], (std::vector<std::string>{"7", "_", "web", "http", "", "", "", "9", "7",
                                                     "1970-01-01T00:00:00.00000005Z",
                                                     "1970-01-01T00:00:00.0000004Z"}));
  EXPECT_EQ(Summarize(records, names, /*show_remote=*/true).rows.size(), 4u);
}

// Regression: labels were taken by reference from a cache that the next lookup could rehash
// (use-after-free under ASan). Thousands of distinct addresses force many rehashes.
TEST(SummaryRowsTest, LabelsSurviveManyDistinctAddresses) {
  std::vector<Record> records;
  for (int i = 0; i < 3000; ++i) {
    const std::string client = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    const std::string server = "10.2." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    records.push_back(MakeRecord(client.c_str(), server.c_str(), 40000, 1, 1, i + 1, i + 1));
  }
  const common::NameTable names;  // No names file: every address local, shown as its IP.
  const Table table = Summarize(records, names, /*show_remote=*/false);
  ASSERT_EQ(table.rows.size(), records.size());
  for (const std::vector<std::string>& row : table.rows) {
    EXPECT_EQ(row[1], row[6]);  // The client label is its address.
    EXPECT_EQ(row[2], row[5]);
    EXPECT_EQ(row[1].substr(5), row[2].substr(5));
  }
}

TEST(SummaryRowsTest, SortsByChosenCountThenNames) {
  ASSERT_OK_AND_ASSIGN(common::NameTable names,
                       common::NameTable::FromYaml("hosts:\n  a: [10.0.0.1]\n  b: [10.0.0.2]\n"
                                                   "  c: [10.0.0.3]\n  s: [10.0.0.9]\n",
                                                   "names.yaml"));
  const std::vector<Record> records = {
      MakeRecord("10.0.0.2", "10.0.0.9", 80, 10, 1, 1, 1),
      MakeRecord("10.0.0.1", "10.0.0.9", 80, 2, 2, 1, 1),
      MakeRecord("10.0.0.3", "10.0.0.9", 80, 2, 2, 1, 1),
  };
  auto clients = [](const Table& t) {
    std::string out;
    for (const auto& row : t.rows) out += row[1];
    return out;
  };
  EXPECT_EQ(clients(Summarize(records, names, false, CountKind::kConnections)), "acb");
  EXPECT_EQ(clients(Summarize(records, names, false, CountKind::kPackets)), "bac");
  EXPECT_EQ(clients(Summarize(records, names, false, CountKind::kPackets, RowOrder::kName)), "abc");
}

TEST(SummaryRowsTest, TableHasRecipeColumnsInTextAndAllFieldsInJson) {
  ASSERT_OK_AND_ASSIGN(common::NameTable names,
                       common::NameTable::FromYaml("local_networks: [10.0.0.0/8]\n"
                                                   "hosts:\n  web: [10.0.0.1]\n"
                                                   "services:\n  80: http\n",
                                                   "names.yaml"));
  const std::vector<Record> records = {
      MakeRecord("192.0.2.1", "10.0.0.1", 80, 9, 7, 1, 1'000'000'000)};
  const Table table = SummarizeRecords(RecordBlocks{records}, names, false, CountKind::kPackets,
                                       RowOrder::kCount, OutputFormat::kJson, absl::UTCTimeZone());
  std::string text;
  AppendText(table, &text);
  EXPECT_EQ(text, "      9 _               web                   http\n");
  std::string json;
  AppendJsonRows(table, &json);
  EXPECT_THAT(json, ::testing::HasSubstr(
                        "\"count\": 9, \"client\": \"_\", \"server\": \"web\", \"service\": "
                        "\"http\", \"server_port\": 80, \"server_ip\": \"10.0.0.1\", "
                        "\"client_ip\": \"192.0.2.1\", \"packets\": 9, \"connections\": 7, "
                        "\"first_seen\": \"1970-01-01T00:00:00.000000001Z\", "
                        "\"last_seen\": \"1970-01-01T00:00:01Z\""));
}

// What SummarizeRecordsTo writes for `records` in `format` (coverage "{}").
std::string Written(const std::vector<Record>& records, OutputFormat format) {
  char* written = nullptr;
  size_t size = 0;
  FILE* stream = open_memstream(&written, &size);
  TableWriter writer(SummaryTableColumns(/*by_sensor=*/false), format, stream);
  SummarizeRecordsTo(RecordBlocks{records}, common::NameTable(), /*show_remote=*/true,
                     CountKind::kPackets, RowOrder::kCount, format, absl::UTCTimeZone(), writer);
  writer.Finish(std::nullopt, [](std::string* o) { o->append("{}"); });
  std::fclose(stream);
  std::string out(written, size);
  std::free(written);
  return out;
}

TEST(SummaryRowsTest, RowsFormattedOnTwoThreadsAreWrittenInOrderInEveryFormat) {
  // Rows for three chunks of the two formatting threads (4,096 rows each); counts that need
  // sorting.
  std::vector<Record> records;
  for (int i = 0; i < 10'000; ++i) {
    const std::string client = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    records.push_back(MakeRecord(client.c_str(), i % 2 == 0 ? "10.2.0.1" : "2001:db8::1",
                                 static_cast<uint16_t>(1 + i % 7), 1 + (i * 7919) % 1000, 1, i + 1,
                                 i + 2));
  }
  for (const OutputFormat format :
       {OutputFormat::kText, OutputFormat::kTsv, OutputFormat::kCsv, OutputFormat::kJson}) {
    SCOPED_TRACE(static_cast<int>(format));
    const Table table =
        SummarizeRecords(RecordBlocks{records}, common::NameTable(), /*show_remote=*/true,
                         CountKind::kPackets, RowOrder::kCount, format, absl::UTCTimeZone());
    ASSERT_EQ(table.rows.size(), records.size());
    std::string expected;
    AppendTable(
        table, format, [](std::string* o) { o->append("{}"); }, &expected);
    EXPECT_EQ(Written(records, format), expected);
  }
}

TEST(SummaryRowsTest, NamesFileRefusesAHostNamedLikeAnAddress) {
  // Unnamed hosts show as their address: a host named "10.0.0.7" would be indistinguishable.
  const absl::StatusOr<common::NameTable> names =
      common::NameTable::FromYaml("hosts:\n  10.0.0.7: [10.0.0.1]\n", "names.yaml");
  ASSERT_FALSE(names.ok());
  EXPECT_EQ(names.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(names.status().message(), ::testing::HasSubstr("is an IP address"));
}

}  // namespace
}  // namespace synmap::cli
