#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "cli/query_command.h"
#include "cli/table_format.h"
#include "synmap/v1/query.pb.h"

namespace synmap::cli {

// What `synmap summary` and `synmap graph` share: the flags of a summary request, the request,
// the table of the answer and the caption of its graph.
struct SummaryQueryFlags {
  std::string since, until, top, count = "connections", max_edges;
  bool show_remote = false;
  bool by_sensor = false;
  FilterFlags filters;
};

// --since, --until, the filters, --top, --show-remote, --count, --max-edges; --by-sensor when
// `with_by_sensor`.
void AddSummaryQueryFlags(FlagParser& parser, SummaryQueryFlags* flags, bool with_by_sensor);

// The request for `flags`; `default_top` applies when --top is absent (0 = every row). Returns
// an exit code on a bad flag value.
std::optional<int> BuildSummaryRequest(const QueryCommand& cmd, const SummaryQueryFlags& flags,
                                       uint32_t default_top, synmap::v1::SummaryRequest* request);

// BuildSummaryRequest's rules as a Status (for callers that are not a command line, such as
// synmap web): times read in `zone`, durations back from `now`. InvalidArgument naming the flag.
[[nodiscard]] absl::Status FillSummaryRequest(const SummaryQueryFlags& flags, uint32_t default_top,
                                              absl::Time now, absl::TimeZone zone,
                                              synmap::v1::SummaryRequest* request);

// --max-edges (default kDefaultMaxEdges); an exit code on a bad value.
std::optional<int> ParseMaxEdges(const QueryCommand& cmd, const std::string& text, size_t* out);

// The answer as a table in SummaryTableColumns(by_sensor) order.
Table SummaryResponseTable(const synmap::v1::SummaryResponse& response, bool by_sensor,
                           OutputFormat format, absl::TimeZone zone);

// Prints the answer on stdout as PrintTable(SummaryResponseTable(...)) would, footer included,
// but row by row as it formats them (no table of every cell: a big answer's memory is its
// message, not that twice over).
void PrintSummary(const synmap::v1::SummaryResponse& response, bool by_sensor, OutputFormat format,
                  absl::TimeZone zone);

// "connections per client and service, 2026-12-01 10:00:00 to 2026-12-02 10:00:00 (UTC)": the
// caption of a map of `coverage`'s answered window.
std::string GraphCaption(const synmap::v1::Coverage& coverage, bool packets, absl::TimeZone zone);

}  // namespace synmap::cli
