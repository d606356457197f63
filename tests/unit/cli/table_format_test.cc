#include "cli/table_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/testing/status_matchers.h"

namespace synmap::cli {
namespace {

using ::synmap::testing::StatusIs;

Table RecipeTable() {
  Table t;
  t.columns = {{.name = "count", .numeric = true, .right_align = true, .min_width = 7},
               {.name = "client", .min_width = 15},
               {.name = "server", .min_width = 21},
               {.name = "service", .right_align = true},
               {.name = "port", .numeric = true, .in_text = false}};
  t.rows = {{"62", "_", "minnie", "http", "80"},
            {"2496", "_", "pluto", "ssh", "22"},
            {"324", "dumbo", "_", "smtp", "25"}};
  return t;
}

TEST(TableFormatTest, TextReproducesTheRecipeSample) {
  std::string out;
  AppendText(RecipeTable(), &out);
  // The three lines of DESIGN.md's sample, byte for byte.
  EXPECT_EQ(out,
            "     62 _               minnie                http\n"
            "   2496 _               pluto                  ssh\n"
            "    324 dumbo           _                     smtp\n");
}

TEST(TableFormatTest, TextWidensColumnsForLongCells) {
  Table t = RecipeTable();
  t.rows[0][1] = "2001:db8:10::1234";  // 17 > 15.
  t.rows[1][0] = "123456789";          // 9 > 7.
  std::string out;
  AppendText(t, &out);
  EXPECT_EQ(out,
            "       62 2001:db8:10::1234 minnie                http\n"
            "123456789 _                 pluto                  ssh\n"
            "      324 dumbo             _                     smtp\n");
}

TEST(TableFormatTest, TsvHasHeaderAndFlattensTabs) {
  Table t = RecipeTable();
  t.rows[2][1] = "a\tb\nc";
  std::string out;
  AppendTsv(t, &out);
  EXPECT_EQ(out,
            "count\tclient\tserver\tservice\n"
            "62\t_\tminnie\thttp\n"
            "2496\t_\tpluto\tssh\n"
            "324\ta b c\t_\tsmtp\n");
}

TEST(TableFormatTest, CsvQuotesOnlyWhatRfc4180Requires) {
  Table t = RecipeTable();
  t.rows[0][1] = "a,b";
  t.rows[1][1] = "say \"hi\"";
  t.rows[2][1] = "two\nlines";
  std::string out;
  AppendCsv(t, &out);
  EXPECT_EQ(out,
            "count,client,server,service\r\n"
            "62,\"a,b\",minnie,http\r\n"
            "2496,\"say \"\"hi\"\"\",pluto,ssh\r\n"
            "324,\"two\nlines\",_,smtp\r\n");
}

TEST(TableFormatTest, JsonRowsHaveEveryColumnTyped) {
  Table t = RecipeTable();
  t.rows.resize(1);
  t.rows[0][2] = "m\"in\\nie\x01";
  std::string out;
  AppendJsonRows(t, &out);
  EXPECT_EQ(out,
            "[\n  {\"count\": 62, \"client\": \"_\", \"server\": \"m\\\"in\\\\nie\\u0001\", "
            "\"service\": \"http\", \"port\": 80}\n]");
  out.clear();
  AppendJsonRows(Table{.columns = t.columns, .rows = {}, .total_rows = std::nullopt}, &out);
  EXPECT_EQ(out, "[]");
}

TEST(TableFormatTest, JsonEmptyNullableAndNumericCellsAreNull) {
  Table t;
  t.columns = {
      {.name = "port", .numeric = true}, {.name = "seen", .nullable = true}, {.name = "ip"}};
  t.rows = {{"", "", ""}};
  std::string out;
  AppendJsonRows(t, &out);
  EXPECT_EQ(out, "[\n  {\"port\": null, \"seen\": null, \"ip\": \"\"}\n]");
}

TEST(TableFormatTest, JsonSaysWhetherTopCutTheAnswer) {
  Table t = RecipeTable();
  std::string complete;
  AppendTable(
      t, OutputFormat::kJson, [](std::string* o) { o->append("{}"); }, &complete);
  EXPECT_THAT(complete, ::testing::HasSubstr("\n  \"total_rows\": 3, \"truncated\": false,\n"));
  t.total_rows = 1400;
  std::string cut;
  AppendTable(
      t, OutputFormat::kJson, [](std::string* o) { o->append("{}"); }, &cut);
  EXPECT_THAT(cut, ::testing::HasSubstr("\n  \"total_rows\": 1400, \"truncated\": true,\n"));
}

// What a TableWriter writes to a temporary stream for `table`'s rows, measured first or not.
std::string Written(const Table& table, OutputFormat format, bool measure) {
  FILE* stream = std::tmpfile();
  TableWriter writer(table.columns, format, stream);
  auto cells = [](const std::vector<std::string>& row) {
    return std::vector<absl::string_view>(row.begin(), row.end());
  };
  if (measure && writer.measures()) {
    for (const auto& row : table.rows) {
      writer.Measure(cells(row));
    }
  }
  for (const auto& row : table.rows) {
    writer.Add(cells(row));
  }
  writer.Finish(std::nullopt, [](std::string* o) { o->append("{}"); });
  std::string out(static_cast<size_t>(std::ftell(stream)), '\0');
  std::rewind(stream);
  out.resize(std::fread(out.data(), 1, out.size(), stream));
  std::fclose(stream);
  return out;
}

TEST(TableFormatTest, WriterStreamsMeasuredTextAsAppendTextPadsIt) {
  Table t = RecipeTable();
  t.rows[2][2] = "a-server-name-of-30-characters";  // The last row widens a column.
  std::string text;
  AppendText(t, &text);
  EXPECT_EQ(Written(t, OutputFormat::kText, /*measure=*/true), text);
  EXPECT_EQ(Written(t, OutputFormat::kText, /*measure=*/false), text);
  for (const OutputFormat format : {OutputFormat::kTsv, OutputFormat::kCsv, OutputFormat::kJson}) {
    std::string expected;
    AppendTable(
        t, format, [](std::string* o) { o->append("{}"); }, &expected);
    EXPECT_EQ(Written(t, format, /*measure=*/true), expected);
  }
}

TEST(TableFormatTest, ParsesFormatNames) {
  EXPECT_EQ(*ParseOutputFormat("text"), OutputFormat::kText);
  EXPECT_EQ(*ParseOutputFormat("tsv"), OutputFormat::kTsv);
  EXPECT_EQ(*ParseOutputFormat("csv"), OutputFormat::kCsv);
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_THAT(ParseOutputFormat("xml"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace synmap::cli
