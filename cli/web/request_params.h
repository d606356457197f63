#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/query_command.h"
#include "cli/summary_query.h"
#include "cli/web/html.h"
#include "synmap/v1/query.pb.h"

namespace synmap::cli::web {

// Query parameters as the HTTP library decodes them: name -> value, a name may repeat.
using RequestParams = std::multimap<std::string, std::string>;

// How a table view is ordered and paged: `sort` (a column name; "" keeps the collector's
// order), `order` (asc or desc), `page` (from 1).
struct TableOrder {
  std::string sort{};
  bool descending = false;
  size_t page = 1;
};

// What a summary view (the table, the map, the downloads) was asked. The filters are the CLI's
// flags of the same names, read by the CLI's own flag parser and request rules, so `since=24h`
// means what `--since 24h` means.
struct SummaryParams {
  SummaryQueryFlags flags;
  TableOrder order;
  UrlParams filters;  // The filter parameters given (non-empty), in CLI order, for links.
};

// Reads `since`, `until`, `sensor`, `server`, `client`, `service`, `count`, `sort`, `order`,
// `page`; an empty value counts as absent. InvalidArgument for any other name, a name given
// twice, or a value the CLI would refuse (the message names the flag, as the CLI does).
[[nodiscard]] absl::StatusOr<SummaryParams> ParseSummaryParams(const RequestParams& params);

// What `synmap new`/`gone` views were asked: `since` (default as the CLI: 24h for new, 30d for
// gone), `until`, `sensor`, `server`, `service`, and the table order.
struct SightingsParams {
  std::string since, until;
  FilterFlags filters;
  TableOrder order;
  UrlParams given;
};
[[nodiscard]] absl::StatusOr<SightingsParams> ParseSightingsParams(const RequestParams& params,
                                                                   bool gone);

// Sorts `table`'s rows by `order.sort` (numeric columns as numbers; ties keep their order).
// InvalidArgument when no column has that name.
[[nodiscard]] absl::Status SortTable(const TableOrder& order, Table* table);

}  // namespace synmap::cli::web
