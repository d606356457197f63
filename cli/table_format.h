#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/json/json_string.h"

namespace synmap::cli {

// Output formats of every table-printing subcommand (summarize, summary, ...).
enum class OutputFormat { kText, kTsv, kCsv, kJson };

// "text", "tsv", "csv" or "json"; InvalidArgument otherwise.
absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view name);

struct TableColumn {
  std::string name;          // Header in tsv/csv, key in json.
  bool numeric = false;      // json: emitted unquoted (the cell must be a JSON number or "null").
  bool nullable = false;     // json: an empty cell is null (a time or value that does not exist).
  bool in_text = true;       // Shown in text/tsv/csv; json always has every column.
  bool right_align = false;  // text only.
  size_t min_width = 0;      // text only.
};

// A table of pre-formatted cells. Plain data.
struct Table {
  std::vector<TableColumn> columns;
  std::vector<std::vector<std::string>> rows;  // Each row has columns.size() cells.
  // Rows of the whole answer before a --top cut; unset means rows.size() (complete).
  std::optional<uint64_t> total_rows;

  uint64_t TotalRows() const { return total_rows.value_or(rows.size()); }
  bool Truncated() const { return TotalRows() > rows.size(); }
};

// Text: the in_text columns, no header, padded to the widest cell (at least min_width),
// separated by one space; the last column is not padded unless right-aligned. Appends to `out`.
void AppendText(const Table& table, std::string* out);
// Tab-separated with a header line. Tabs and newlines inside cells become spaces.
void AppendTsv(const Table& table, std::string* out);
// RFC 4180: header line, CRLF line ends, cells with a comma, quote, CR or LF are quoted
// with inner quotes doubled.
void AppendCsv(const Table& table, std::string* out);
// A JSON array of objects, one per row, keys in column order.
void AppendJsonRows(const Table& table, std::string* out);
// Appends `table` in `format`: text/tsv/csv as above; json as one object
// {"rows": [...], "total_rows": N, "truncated": false, "coverage": ...} whose coverage value
// `append_coverage_json` appends.
void AppendTable(const Table& table, OutputFormat format,
                 absl::FunctionRef<void(std::string*)> append_coverage_json, std::string* out);
// Writes a table to a stream as its rows arrive, with AppendTable's output: tsv, csv and json
// rows go out in blocks, so memory does not grow with the rows. Text pads its columns to the
// widest cell: either every row is first passed to Measure (then Add writes it at once), or Add
// keeps the rows until Finish. Thread-compatible.
class TableWriter {
 public:
  TableWriter(std::vector<TableColumn> columns, OutputFormat format, FILE* stream);
  TableWriter(const TableWriter&) = delete;
  TableWriter& operator=(const TableWriter&) = delete;

  // Whether the rows should go through Measure before Add (text): a first pass over the rows
  // then saves holding them all.
  bool measures() const { return format_ == OutputFormat::kText; }
  // Text: widens the columns to `cells` (a cell per column), before any Add. Others: nothing.
  void Measure(absl::Span<const absl::string_view> cells);
  // One row: a cell per column; the views need to live only for the call.
  void Add(absl::Span<const absl::string_view> cells);
  // Appends to `out` what Add would write for `cells` as row number `index` (0-based; json
  // separates rows after the first), so rows can be formatted on several threads and written in
  // order by AddFormatted. Text: only after Measure saw every row. Thread-safe (const).
  void Format(absl::Span<const absl::string_view> cells, uint64_t index, std::string* out) const;
  // Writes `rows` rows that Format made (with the indexes that follow the rows written so far).
  void AddFormatted(absl::string_view text, uint64_t rows);
  // Rows written so far (Add, AddFormatted).
  uint64_t rows() const { return rows_; }
  // Ends the table and flushes the stream: json's total_rows (unset = the rows added),
  // truncated and coverage (appended by `append_coverage_json`).
  void Finish(std::optional<uint64_t> total_rows,
              absl::FunctionRef<void(std::string*)> append_coverage_json);

 private:
  static constexpr size_t kFlushBytes = 1 << 16;
  Table table_;                // Columns; rows only in text without Measure.
  std::vector<size_t> shown_;  // Columns shown in text, tsv and csv.
  std::vector<size_t> width_;  // Text after Measure: the width of each shown column.
  bool measured_ = false;
  OutputFormat format_;
  FILE* stream_;
  std::string buffer_;
  uint64_t rows_ = 0;
};

// Writes `text` to `stream` (stdio-buffered).
void WriteAll(FILE* stream, absl::string_view text);

// A time cell: "2026-12-02 13:13:28" in text, RFC 3339 in machine formats ("" = null).
std::string TimeCell(int64_t unix_ns, OutputFormat format, absl::TimeZone zone);
// A port cell: "" (null) for 0.
std::string PortCell(uint32_t port);

// JSON string literals, as every JSON synmap writes.
using common::AppendJsonString;

// `text` in double quotes with quotes and backslashes escaped by a backslash and control
// characters replaced by spaces: a string Graphviz's DOT and YAML both read back as the text.
std::string DoubleQuoted(absl::string_view text);

}  // namespace synmap::cli
