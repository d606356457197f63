#include "cli/table_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/time_text.h"

namespace synmap::cli {

absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view name) {
  if (name == "text") {
    return OutputFormat::kText;
  }
  if (name == "tsv") {
    return OutputFormat::kTsv;
  }
  if (name == "csv") {
    return OutputFormat::kCsv;
  }
  if (name == "json") {
    return OutputFormat::kJson;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown format '", name, "' (text, tsv, csv or json)"));
}

namespace {

std::vector<size_t> TextColumns(const Table& table) {
  std::vector<size_t> shown;
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (table.columns[c].in_text) {
      shown.push_back(c);
    }
  }
  return shown;
}

// One tsv (csv = false) or csv cell.
void AppendDelimitedCell(absl::string_view text, bool csv, std::string* out) {
  if (!csv) {
    // Almost every cell has no control character: one branch-free scan, then one append (a
    // push_back per character was a tenth of the rows' time on big summaries).
    bool control = false;
    for (char ch : text) {
      control |= static_cast<unsigned char>(ch) < 0x20;
    }
    if (!control) {
      out->append(text.data(), text.size());
      return;
    }
    for (char ch : text) {
      out->push_back(ch == '\t' || ch == '\n' || ch == '\r' ? ' ' : ch);
    }
    return;
  }
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) {
    out->append(text.data(), text.size());
    return;
  }
  out->push_back('"');
  for (char ch : text) {
    if (ch == '"') {
      out->push_back('"');
    }
    out->push_back(ch);
  }
  out->push_back('"');
}

// One tsv or csv line of the `shown` cells of `row` (a cell per column).
template <typename Cells>
void AppendDelimitedLine(const std::vector<size_t>& shown, const Cells& row, bool csv,
                         std::string* out) {
  for (size_t i = 0; i < shown.size(); ++i) {
    if (i > 0) {
      out->push_back(csv ? ',' : '\t');
    }
    AppendDelimitedCell(row[shown[i]], csv, out);
  }
  out->append(csv ? "\r\n" : "\n");
}

void AppendDelimitedHeader(const std::vector<TableColumn>& columns,
                           const std::vector<size_t>& shown, bool csv, std::string* out) {
  std::vector<absl::string_view> names;
  names.reserve(columns.size());
  for (const TableColumn& c : columns) {
    names.push_back(c.name);
  }
  AppendDelimitedLine(shown, names, csv, out);
}

void AppendDelimited(const Table& table, bool csv, std::string* out) {
  const std::vector<size_t> shown = TextColumns(table);
  AppendDelimitedHeader(table.columns, shown, csv, out);
  for (const auto& row : table.rows) {
    AppendDelimitedLine(shown, row, csv, out);
  }
}

// One JSON row object, preceded by the separator of row number `index`.
template <typename Cells>
void AppendJsonRow(const std::vector<TableColumn>& columns, const Cells& row, uint64_t index,
                   std::string* out) {
  out->append(index == 0 ? "\n  {" : ",\n  {");
  for (size_t c = 0; c < columns.size(); ++c) {
    if (c > 0) {
      out->append(", ");
    }
    AppendJsonString(columns[c].name, out);
    out->append(": ");
    if (row[c].empty() && (columns[c].nullable || columns[c].numeric)) {
      out->append("null");
    } else if (columns[c].numeric) {
      out->append(row[c].data(), row[c].size());
    } else {
      AppendJsonString(row[c], out);
    }
  }
  out->push_back('}');
}

// Text column widths before any row: each shown column's min_width.
std::vector<size_t> MinTextWidths(const std::vector<TableColumn>& columns,
                                  const std::vector<size_t>& shown) {
  std::vector<size_t> width(shown.size());
  for (size_t i = 0; i < shown.size(); ++i) {
    width[i] = columns[shown[i]].min_width;
  }
  return width;
}

// Widens the text `width` of each shown column to `row`'s cell.
template <typename Cells>
void WidenText(const std::vector<size_t>& shown, const Cells& row, std::vector<size_t>* width) {
  for (size_t i = 0; i < shown.size(); ++i) {
    (*width)[i] = std::max((*width)[i], row[shown[i]].size());
  }
}

// One text line: the shown cells of `row` padded to `width`, separated by one space; the last
// column is not padded unless right-aligned.
template <typename Cells>
void AppendTextLine(const std::vector<TableColumn>& columns, const std::vector<size_t>& shown,
                    const std::vector<size_t>& width, const Cells& row, std::string* out) {
  for (size_t i = 0; i < shown.size(); ++i) {
    const absl::string_view text = row[shown[i]];
    const size_t pad = width[i] - text.size();
    const bool last = i + 1 == shown.size();
    if (i > 0) {
      out->push_back(' ');
    }
    if (columns[shown[i]].right_align) {
      out->append(pad, ' ');
      out->append(text.data(), text.size());
    } else {
      out->append(text.data(), text.size());
      if (!last) {
        out->append(pad, ' ');
      }
    }
  }
  out->push_back('\n');
}

// The JSON answer object's parts around the rows array.
constexpr char kJsonHead[] = "{\n  \"rows\": [";
void AppendJsonTail(uint64_t rows, uint64_t total_rows,
                    absl::FunctionRef<void(std::string*)> append_coverage_json, std::string* out) {
  out->append(rows == 0 ? "]" : "\n]");
  absl::StrAppend(out, ",\n  \"total_rows\": ", total_rows,
                  ", \"truncated\": ", total_rows > rows ? "true" : "false");
  out->append(",\n  \"coverage\": ");
  append_coverage_json(out);
  out->append("\n}\n");
}

}  // namespace

void AppendText(const Table& table, std::string* out) {
  const std::vector<size_t> shown = TextColumns(table);
  std::vector<size_t> width = MinTextWidths(table.columns, shown);
  for (const auto& row : table.rows) {
    WidenText(shown, row, &width);
  }
  for (const auto& row : table.rows) {
    AppendTextLine(table.columns, shown, width, row, out);
  }
}

void AppendTsv(const Table& table, std::string* out) { AppendDelimited(table, false, out); }

void AppendCsv(const Table& table, std::string* out) { AppendDelimited(table, true, out); }

void AppendJsonRows(const Table& table, std::string* out) {
  out->push_back('[');
  for (size_t r = 0; r < table.rows.size(); ++r) {
    AppendJsonRow(table.columns, table.rows[r], r, out);
  }
  out->append(table.rows.empty() ? "]" : "\n]");
}

void AppendTable(const Table& table, OutputFormat format,
                 absl::FunctionRef<void(std::string*)> append_coverage_json, std::string* out) {
  switch (format) {
    case OutputFormat::kText:
      AppendText(table, out);
      break;
    case OutputFormat::kTsv:
      AppendTsv(table, out);
      break;
    case OutputFormat::kCsv:
      AppendCsv(table, out);
      break;
    case OutputFormat::kJson:
      out->append(kJsonHead);
      for (size_t r = 0; r < table.rows.size(); ++r) {
        AppendJsonRow(table.columns, table.rows[r], r, out);
      }
      AppendJsonTail(table.rows.size(), table.TotalRows(), append_coverage_json, out);
      break;
  }
}

TableWriter::TableWriter(std::vector<TableColumn> columns, OutputFormat format, FILE* stream)
    : format_(format), stream_(stream) {
  table_.columns = std::move(columns);
  shown_ = TextColumns(table_);
  if (format_ == OutputFormat::kTsv || format_ == OutputFormat::kCsv) {
    AppendDelimitedHeader(table_.columns, shown_, format_ == OutputFormat::kCsv, &buffer_);
  } else if (format_ == OutputFormat::kJson) {
    buffer_.append(kJsonHead);
  }
}

void TableWriter::Measure(absl::Span<const absl::string_view> cells) {
  if (format_ != OutputFormat::kText) {
    return;
  }
  if (!measured_) {
    width_ = MinTextWidths(table_.columns, shown_);
    measured_ = true;
  }
  WidenText(shown_, cells, &width_);
}

void TableWriter::Add(absl::Span<const absl::string_view> cells) {
  if (format_ == OutputFormat::kText && !measured_) {
    table_.rows.emplace_back(cells.begin(), cells.end());  // Padding needs every row first.
  } else {
    Format(cells, rows_, &buffer_);
  }
  ++rows_;
  if (buffer_.size() >= kFlushBytes) {
    WriteAll(stream_, buffer_);
    buffer_.clear();
  }
}

void TableWriter::Format(absl::Span<const absl::string_view> cells, uint64_t index,
                         std::string* out) const {
  switch (format_) {
    case OutputFormat::kText:
      AppendTextLine(table_.columns, shown_, width_, cells, out);
      break;
    case OutputFormat::kTsv:
    case OutputFormat::kCsv:
      AppendDelimitedLine(shown_, cells, format_ == OutputFormat::kCsv, out);
      break;
    case OutputFormat::kJson:
      AppendJsonRow(table_.columns, cells, index, out);
      break;
  }
}

void TableWriter::AddFormatted(absl::string_view text, uint64_t rows) {
  if (buffer_.size() + text.size() >= kFlushBytes) {
    WriteAll(stream_, buffer_);
    buffer_.clear();
    WriteAll(stream_, text);
  } else {
    buffer_.append(text.data(), text.size());
  }
  rows_ += rows;
}

void TableWriter::Finish(std::optional<uint64_t> total_rows,
                         absl::FunctionRef<void(std::string*)> append_coverage_json) {
  if (format_ == OutputFormat::kText && !measured_) {
    AppendText(table_, &buffer_);
    table_.rows = {};
  } else if (format_ == OutputFormat::kJson) {
    AppendJsonTail(rows_, total_rows.value_or(rows_), append_coverage_json, &buffer_);
  }
  WriteAll(stream_, buffer_);
  buffer_ = {};
  std::fflush(stream_);
}

void WriteAll(FILE* stream, absl::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stream);
}

std::string TimeCell(int64_t unix_ns, OutputFormat format, absl::TimeZone zone) {
  if (format == OutputFormat::kText) {
    return FormatTextTime(unix_ns, zone);
  }
  return FormatMachineTime(unix_ns);
}

std::string PortCell(uint32_t port) { return port == 0 ? "" : absl::StrCat(port); }

std::string DoubleQuoted(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace synmap::cli
