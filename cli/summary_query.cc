#include "cli/summary_query.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/coverage_format.h"
#include "cli/graph_dot.h"
#include "cli/summary_table.h"
#include "cli/time_text.h"
#include "common/status/status_macros.h"

namespace synmap::cli {

namespace v1 = ::synmap::v1;

void AddSummaryQueryFlags(FlagParser& p, SummaryQueryFlags* flags, bool with_by_sensor) {
  p.AddString("since", "TIME", &flags->since,
              "start of the window (e.g. 24h, '7d ago', 2026-12-02)");
  p.AddString("until", "TIME", &flags->until, "end of the window (exclusive)");
  AddFilterFlags(p, &flags->filters, /*with_client=*/true);
  p.AddString("top", "N", &flags->top, "at most N rows, largest first (default: all; text 1000)");
  p.AddBool("show-remote", &flags->show_remote, "show non-local hosts' IPs instead of _");
  if (with_by_sensor) {
    p.AddBool("by-sensor", &flags->by_sensor,
              "keep each sensor's rows apart (adds a sensor column)");
  }
  p.AddChoice("count", {"connections", "packets"}, &flags->count, "what to count");
  p.AddString("max-edges", "N", &flags->max_edges,
              "graphs: draw the N largest rows, count the rest in a note (default 300)");
}

std::optional<int> ParseMaxEdges(const QueryCommand& cmd, const std::string& text, size_t* out) {
  *out = kDefaultMaxEdges;
  if (text.empty()) {
    return std::nullopt;
  }
  if (!absl::SimpleAtoi(text, out) || *out == 0) {
    return cmd.UsageError(absl::StrCat("--max-edges: '", text, "' is not a whole number >= 1"));
  }
  return std::nullopt;
}

std::optional<int> BuildSummaryRequest(const QueryCommand& cmd, const SummaryQueryFlags& flags,
                                       uint32_t default_top, v1::SummaryRequest* req) {
  if (absl::Status s = FillSummaryRequest(flags, default_top, absl::Now(), cmd.zone(), req);
      !s.ok()) {
    return cmd.UsageError(s.message());
  }
  return std::nullopt;
}

absl::Status FillSummaryRequest(const SummaryQueryFlags& flags, uint32_t default_top,
                                absl::Time now, absl::TimeZone zone, v1::SummaryRequest* req) {
  SYNMAP_RETURN_IF_ERROR(ParseTimeRange(flags.since, flags.until, now, zone, req->mutable_range()));
  uint32_t top_n = default_top;
  SYNMAP_RETURN_IF_ERROR(ParseTopText(flags.top, &top_n));
  req->set_top_n(top_n);
  FillFilters(flags.filters, req->mutable_filters());
  req->set_show_remote(flags.show_remote);
  req->set_by_sensor(flags.by_sensor);
  req->set_count(flags.count == "packets" ? v1::COUNT_KIND_PACKETS : v1::COUNT_KIND_CONNECTIONS);
  return absl::OkStatus();
}

namespace {

// A site column only in answers with sites: without them the table is as it always was.
bool HasSites(const v1::SummaryResponse& resp) {
  return std::any_of(resp.rows().begin(), resp.rows().end(),
                     [](const v1::SummaryRow& r) { return !r.site().empty(); });
}

SummaryRowCells RowCells(const v1::SummaryRow& r) {
  return {.count = r.count(),
          .site = r.site(),
          .client = r.client(),
          .server = r.server(),
          .service = r.service(),
          .sensor = r.sensor(),
          .server_port = r.server_port(),
          .server_ip = r.server_ip(),
          .client_ip = r.client_ip(),
          .packets = r.packets(),
          .connections = r.connections(),
          .first_seen_ns = r.first_seen_unix_ns(),
          .last_seen_ns = r.last_seen_unix_ns()};
}

}  // namespace

Table SummaryResponseTable(const v1::SummaryResponse& resp, bool by_sensor, OutputFormat format,
                           absl::TimeZone zone) {
  Table table;
  table.total_rows = resp.total_rows();
  const bool with_site = HasSites(resp);
  table.columns = SummaryTableColumns(by_sensor, with_site);
  for (const v1::SummaryRow& r : resp.rows()) {
    AppendSummaryRow(RowCells(r), by_sensor, format, zone, &table, with_site);
  }
  return table;
}

void PrintSummary(const v1::SummaryResponse& resp, bool by_sensor, OutputFormat format,
                  absl::TimeZone zone) {
  const bool with_site = HasSites(resp);
  TableWriter writer(SummaryTableColumns(by_sensor, with_site), format, stdout);
  SummaryCellScratch scratch;
  auto cells = [&](const v1::SummaryRow& r) {
    return SummaryCellViews(RowCells(r), by_sensor, format, zone, with_site, scratch);
  };
  if (writer.measures()) {
    for (const v1::SummaryRow& r : resp.rows()) {
      writer.Measure(cells(r));
    }
  }
  for (const v1::SummaryRow& r : resp.rows()) {
    writer.Add(cells(r));
  }
  // An answer cut by --top says so: its total (json) or a line on stderr (the others).
  const uint64_t total_rows = std::max<uint64_t>(resp.total_rows(), resp.rows_size());
  writer.Finish(total_rows, [&](std::string* o) { AppendCoverageJson(resp.coverage(), o); });
  PrintFooter(format, resp.coverage(), zone, resp.rows_size(), total_rows);
}

std::string GraphCaption(const v1::Coverage& coverage, bool packets, absl::TimeZone zone) {
  auto edge = [&](int64_t ns, const char* open) {
    return ns == 0 ? std::string(open) : FormatTextTime(ns, zone);
  };
  return absl::StrCat(packets ? "SYN/ACK packets" : "connections", " per client and service, ",
                      edge(coverage.answered().since_unix_ns(), "oldest data"), " to ",
                      edge(coverage.answered().until_unix_ns(), "now"), " (",
                      ZoneText(zone, absl::Now()), "), ", coverage.sensors_size(),
                      " sensor(s) reporting");
}

}  // namespace synmap::cli
