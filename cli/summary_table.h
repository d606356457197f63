#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cli/table_format.h"

namespace synmap::cli {

// One row of a summary, from the collector (`synmap summary`) or from capture files
// (`synmap summarize`): both print it through SummaryTableColumns / SummaryCellViews, so the
// two answers have the same columns and cells. The texts are views: they live in the caller.
struct SummaryRowCells {
  uint64_t count = 0;
  absl::string_view site;  // Only with with_site; "" for a row without a site.
  absl::string_view client;
  absl::string_view server;
  absl::string_view service;
  absl::string_view sensor;     // Only with by_sensor.
  uint32_t server_port = 0;     // 0 when the row merged several ports.
  absl::string_view server_ip;  // "" when the row merged several server addresses.
  absl::string_view client_ip;  // "" when the row merged several client addresses.
  uint64_t packets = 0;
  uint64_t connections = 0;
  int64_t first_seen_ns = 0;
  int64_t last_seen_ns = 0;
};

// Text, tsv and csv: count, client, server, service (the recipe's layout), then sensor with
// `by_sensor`; json adds server_port, server_ip, client_ip, packets, connections, first_seen,
// last_seen (RFC 3339; null when unknown), and sensor only with `by_sensor`. With `with_site`
// (an answer with sites) a site column follows count, in every format.
std::vector<TableColumn> SummaryTableColumns(bool by_sensor, bool with_site = false);

// The cells of `row` in SummaryTableColumns(by_sensor, with_site) order. Columns that only json
// shows are left empty in the other formats.
std::vector<std::string> SummaryCells(const SummaryRowCells& row, bool by_sensor,
                                      OutputFormat format, absl::TimeZone zone,
                                      bool with_site = false);

// Room for the cells SummaryCellViews formats (numbers, times) and the views it returns; one per
// writer, reused for every row.
struct SummaryCellScratch {
  std::array<absl::string_view, 13> cells;
  std::array<char, 24> count, packets, connections;
  std::string server_port, first_seen, last_seen;
};

// The cells of `row` in SummaryTableColumns(by_sensor, with_site) order, as views into `row`'s
// texts and `scratch`, valid until `scratch` is reused: SummaryCells without a string per cell.
absl::Span<const absl::string_view> SummaryCellViews(const SummaryRowCells& row, bool by_sensor,
                                                     OutputFormat format, absl::TimeZone zone,
                                                     bool with_site, SummaryCellScratch& scratch);

// Appends `row` to `table` (whose columns are SummaryTableColumns(by_sensor, with_site)).
void AppendSummaryRow(const SummaryRowCells& row, bool by_sensor, OutputFormat format,
                      absl::TimeZone zone, Table* table, bool with_site = false);

}  // namespace synmap::cli
