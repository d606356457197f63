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

void AppendDelimited(const Table& table, bool csv, std::string* out) {
  const std::vector<size_t> shown = TextColumns(table);
  const char* separator = csv ? "," : "\t";
  const char* line_end = csv ? "\r\n" : "\n";
  auto cell = [&](absl::string_view text) {
    if (!csv) {
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
  };
  for (size_t i = 0; i < shown.size(); ++i) {
    if (i > 0) {
      out->append(separator);
    }
    cell(table.columns[shown[i]].name);
  }
  out->append(line_end);
  for (const auto& row : table.rows) {
    for (size_t i = 0; i < shown.size(); ++i) {
      if (i > 0) {
        out->append(separator);
      }
      cell(row[shown[i]]);
    }
    out->append(line_end);
  }
}

}  // namespace

void AppendText(const Table& table, std::string* out) {
  const std::vector<size_t> shown = TextColumns(table);
  std::vector<size_t> width(shown.size());
  for (size_t i = 0; i < shown.size(); ++i) {
    width[i] = table.columns[shown[i]].min_width;
    for (const auto& row : table.rows) {
      width[i] = std::max(width[i], row[shown[i]].size());
    }
  }
  for (const auto& row : table.rows) {
    for (size_t i = 0; i < shown.size(); ++i) {
      const std::string& text = row[shown[i]];
      const size_t pad = width[i] - text.size();
      const bool last = i + 1 == shown.size();
      if (i > 0) {
        out->push_back(' ');
      }
      if (table.columns[shown[i]].right_align) {
        out->append(pad, ' ');
        out->append(text);
      } else {
        out->append(text);
        if (!last) {
          out->append(pad, ' ');
        }
      }
    }
    out->push_back('\n');
  }
}

void AppendTsv(const Table& table, std::string* out) { AppendDelimited(table, false, out); }

void AppendCsv(const Table& table, std::string* out) { AppendDelimited(table, true, out); }

void AppendJsonRows(const Table& table, std::string* out) {
  out->push_back('[');
  for (size_t r = 0; r < table.rows.size(); ++r) {
    out->append(r == 0 ? "\n  {" : ",\n  {");
    for (size_t c = 0; c < table.columns.size(); ++c) {
      if (c > 0) {
        out->append(", ");
      }
      AppendJsonString(table.columns[c].name, out);
      out->append(": ");
      if (table.rows[r][c].empty() && (table.columns[c].nullable || table.columns[c].numeric)) {
        out->append("null");
      } else if (table.columns[c].numeric) {
        out->append(table.rows[r][c]);
      } else {
        AppendJsonString(table.rows[r][c], out);
      }
    }
    out->push_back('}');
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
      out->append("{\n  \"rows\": ");
      AppendJsonRows(table, out);
      absl::StrAppend(out, ",\n  \"total_rows\": ", table.TotalRows(),
                      ", \"truncated\": ", table.Truncated() ? "true" : "false");
      out->append(",\n  \"coverage\": ");
      append_coverage_json(out);
      out->append("\n}\n");
      break;
  }
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
