#include "cli/web/request_params.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/flag_parser.h"
#include "cli/query_tables.h"
#include "common/status/status_macros.h"

namespace synmap::cli::web {
namespace {

constexpr const char* kOrderNames[] = {"sort", "order", "page"};

// Hands the parameters named in `flag_names` to `parser` as "--name=value" (so the CLI's flag
// rules apply: choices, a flag given twice), reads the table order, and refuses other names.
absl::Status ReadParams(const RequestParams& params, const std::vector<std::string>& flag_names,
                        FlagParser& parser, TableOrder* order, UrlParams* given) {
  std::vector<std::string> args;
  std::set<std::string> seen_order;
  for (const std::string& name : flag_names) {
    auto [begin, end] = params.equal_range(name);
    for (auto it = begin; it != end; ++it) {
      if (!it->second.empty()) {
        args.push_back(absl::StrCat("--", name, "=", it->second));
        given->emplace_back(name, it->second);
      }
    }
  }
  for (const auto& [name, value] : params) {
    const bool is_flag = std::find(flag_names.begin(), flag_names.end(), name) != flag_names.end();
    const bool is_order =
        std::find(std::begin(kOrderNames), std::end(kOrderNames), name) != std::end(kOrderNames);
    if (!is_flag && !is_order) {
      return absl::InvalidArgumentError(absl::StrCat("unknown parameter '", name,
                                                     "' (known: ", absl::StrJoin(flag_names, ", "),
                                                     ", sort, order, page)"));
    }
    if (is_order && !seen_order.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat("parameter '", name, "' given twice"));
    }
    if (!is_order || value.empty()) {
      continue;
    }
    if (name == "sort") {
      order->sort = value;
    } else if (name == "order") {
      if (value != "asc" && value != "desc") {
        return absl::InvalidArgumentError(absl::StrCat("order: '", value, "' is not asc or desc"));
      }
      order->descending = value == "desc";
    } else if (!absl::SimpleAtoi(value, &order->page) || order->page == 0) {
      return absl::InvalidArgumentError(absl::StrCat("page: '", value, "' is not a number >= 1"));
    }
  }
  std::vector<std::string> positional;
  SYNMAP_RETURN_IF_ERROR(parser.Parse(args, &positional));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SummaryParams> ParseSummaryParams(const RequestParams& params) {
  SummaryParams out;
  FlagParser parser;
  AddSummaryQueryFlags(parser, &out.flags, /*with_by_sensor=*/false);
  SYNMAP_RETURN_IF_ERROR(ReadParams(
      params, {"since", "until", "sensor", "site", "server", "client", "service", "count"}, parser,
      &out.order, &out.filters));
  return out;
}

absl::StatusOr<SightingsParams> ParseSightingsParams(const RequestParams& params, bool gone) {
  SightingsParams out;
  FlagParser parser;
  parser.AddString("since", "TIME", &out.since, "window start");
  parser.AddString("until", "TIME", &out.until, "window end");
  AddFilterFlags(parser, &out.filters, /*with_client=*/false);
  SYNMAP_RETURN_IF_ERROR(ReadParams(params,
                                    {"since", "until", "sensor", "site", "server", "service"},
                                    parser, &out.order, &out.given));
  if (out.since.empty()) {
    out.since = gone ? kGoneDefaultSince : kNewDefaultSince;
  }
  return out;
}

absl::Status SortTable(const TableOrder& order, Table* table) {
  if (order.sort.empty()) {
    return absl::OkStatus();
  }
  size_t column = table->columns.size();
  for (size_t i = 0; i < table->columns.size(); ++i) {
    if (table->columns[i].name == order.sort && table->columns[i].in_text) {
      column = i;
    }
  }
  if (column == table->columns.size()) {
    return absl::InvalidArgumentError(absl::StrCat("sort: no column '", order.sort, "'"));
  }
  const bool numeric = table->columns[column].numeric;
  auto less = [&](const std::vector<std::string>& a, const std::vector<std::string>& b) {
    if (numeric) {
      double x = 0, y = 0;
      if (absl::SimpleAtod(a[column], &x) && absl::SimpleAtod(b[column], &y)) {
        return order.descending ? y < x : x < y;
      }
    }
    return order.descending ? b[column] < a[column] : a[column] < b[column];
  };
  std::stable_sort(table->rows.begin(), table->rows.end(), less);
  return absl::OkStatus();
}

}  // namespace synmap::cli::web
