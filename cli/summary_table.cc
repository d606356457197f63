#include "cli/summary_table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace synmap::cli {

std::vector<TableColumn> SummaryTableColumns(bool by_sensor, bool with_site) {
  // Minimum widths reproduce the recipe's layout: "     62 _               minnie   ...".
  std::vector<TableColumn> columns = {
      {.name = "count", .numeric = true, .right_align = true, .min_width = 7},
      {.name = "client", .min_width = 15},
      {.name = "server", .min_width = 21},
      {.name = "service", .right_align = !by_sensor},
  };
  if (with_site) {
    columns.insert(columns.begin() + 1, TableColumn{.name = "site"});
  }
  if (by_sensor) {
    columns.push_back({.name = "sensor"});
  }
  for (const char* name : {"server_port", "server_ip", "client_ip", "packets", "connections",
                           "first_seen", "last_seen"}) {
    const std::string n = name;
    const bool numeric = n == "server_port" || n == "packets" || n == "connections";
    columns.push_back({.name = n, .numeric = numeric, .nullable = !numeric, .in_text = false});
  }
  return columns;
}

namespace {

absl::string_view NumberCell(uint64_t value, std::array<char, 24>& buffer) {
  const char* end = absl::numbers_internal::FastIntToBuffer(value, buffer.data());
  return absl::string_view(buffer.data(), static_cast<size_t>(end - buffer.data()));
}

}  // namespace

absl::Span<const absl::string_view> SummaryCellViews(const SummaryRowCells& row, bool by_sensor,
                                                     OutputFormat format, absl::TimeZone zone,
                                                     bool with_site, SummaryCellScratch& scratch) {
  const size_t columns = (by_sensor ? 12 : 11) + (with_site ? 1 : 0);
  absl::string_view* cell = scratch.cells.data();
  *cell++ = NumberCell(row.count, scratch.count);
  if (with_site) {
    *cell++ = row.site;
  }
  *cell++ = row.client;
  *cell++ = row.server;
  *cell++ = row.service;
  if (by_sensor) {
    *cell++ = row.sensor;
  }
  if (format != OutputFormat::kJson) {
    // Only json shows the rest: no time formatting for cells nobody prints.
    std::fill(cell, scratch.cells.data() + columns, absl::string_view());
    return absl::MakeConstSpan(scratch.cells.data(), columns);
  }
  scratch.server_port = PortCell(row.server_port);  // Short strings: no allocation.
  *cell++ = scratch.server_port;
  *cell++ = row.server_ip;
  *cell++ = row.client_ip;
  *cell++ = NumberCell(row.packets, scratch.packets);
  *cell++ = NumberCell(row.connections, scratch.connections);
  scratch.first_seen = TimeCell(row.first_seen_ns, format, zone);
  scratch.last_seen = TimeCell(row.last_seen_ns, format, zone);
  *cell++ = scratch.first_seen;
  *cell++ = scratch.last_seen;
  return absl::MakeConstSpan(scratch.cells.data(), columns);
}

std::vector<std::string> SummaryCells(const SummaryRowCells& row, bool by_sensor,
                                      OutputFormat format, absl::TimeZone zone, bool with_site) {
  SummaryCellScratch scratch;
  const absl::Span<const absl::string_view> cells =
      SummaryCellViews(row, by_sensor, format, zone, with_site, scratch);
  return std::vector<std::string>(cells.begin(), cells.end());
}

void AppendSummaryRow(const SummaryRowCells& row, bool by_sensor, OutputFormat format,
                      absl::TimeZone zone, Table* table, bool with_site) {
  table->rows.push_back(SummaryCells(row, by_sensor, format, zone, with_site));
}

}  // namespace synmap::cli
