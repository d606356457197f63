#include "cli/summary_table.h"

#include <utility>

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

std::vector<std::string> SummaryCells(SummaryRowCells row, bool by_sensor, OutputFormat format,
                                      absl::TimeZone zone, bool with_site) {
  const size_t columns = (by_sensor ? 12 : 11) + (with_site ? 1 : 0);
  std::vector<std::string> cells;
  cells.reserve(columns);
  cells.push_back(absl::StrCat(row.count));
  if (with_site) {
    cells.push_back(std::move(row.site));
  }
  cells.push_back(std::move(row.client));
  cells.push_back(std::move(row.server));
  cells.push_back(std::move(row.service));
  if (by_sensor) {
    cells.push_back(std::move(row.sensor));
  }
  if (format != OutputFormat::kJson) {
    // Only json shows the rest: no time formatting or copies for cells nobody prints.
    cells.resize(columns);
    return cells;
  }
  cells.push_back(PortCell(row.server_port));
  cells.push_back(std::move(row.server_ip));
  cells.push_back(std::move(row.client_ip));
  cells.push_back(absl::StrCat(row.packets));
  cells.push_back(absl::StrCat(row.connections));
  cells.push_back(TimeCell(row.first_seen_ns, format, zone));
  cells.push_back(TimeCell(row.last_seen_ns, format, zone));
  return cells;
}

void AppendSummaryRow(SummaryRowCells row, bool by_sensor, OutputFormat format, absl::TimeZone zone,
                      Table* table, bool with_site) {
  table->rows.push_back(SummaryCells(std::move(row), by_sensor, format, zone, with_site));
}

}  // namespace synmap::cli
