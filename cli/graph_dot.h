#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "cli/table_format.h"

namespace synmap::cli {

// The service map as a Graphviz DOT graph, from summary rows (a Table in SummaryTableColumns
// order: count, client, server, service first). Each server is a cluster holding one node per
// service it offers; each client label is one node, except the remote client "_", which gets
// its own node next to each service so it does not pull the whole map into one hub; an edge
// client -> service carries the row's count (label, and a pen width growing with it). At most
// `max_edges` rows are drawn, largest first; the rest, and rows the answer left out
// (table.total_rows), are counted in a note node. `caption` (what and which window) labels the
// graph. Every name is escaped, so any text a names file or sensor supplies is shown as text.
// With `links`, a click on a server's box, a service or a client leads to the URL it returns
// (DOT URL attributes: <a> elements in SVG).
struct GraphLinks {
  std::function<std::string(absl::string_view server)> server;
  std::function<std::string(absl::string_view server, absl::string_view service)> service;
  std::function<std::string(absl::string_view client)> client;
};
std::string SummaryDot(const Table& summary, size_t max_edges, absl::string_view caption,
                       const GraphLinks* links = nullptr);

// Default of --max-edges.
inline constexpr size_t kDefaultMaxEdges = 300;

}  // namespace synmap::cli
