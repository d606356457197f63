// `synmap summary`: connections per client, server and service, from the collector.

#include <string>
#include <vector>

#include "cli/query_command.h"
#include "cli/query_commands.h"
#include "cli/summary_table.h"
#include "cli/table_format.h"

namespace synmap::cli {

namespace v1 = ::synmap::v1;

namespace {

// Summary text shows the largest rows first and stops here unless --top says otherwise.
constexpr uint32_t kTextDefaultTop = 1000;

}  // namespace

int RunSummary(absl::Span<const std::string> args) {
  QueryCommand cmd("summary",
                   "usage: synmap summary [--since T] [--until T] [--sensor N] [--server X]\n"
                   "                      [--client X] [--service X] [--top N] [--show-remote]\n"
                   "                      [--by-sensor] [--count connections|packets]\n"
                   "                      [--format text|tsv|csv|json]\n\n"
                   "Connections per client, server and service as stored by the collector, named\n"
                   "with the collector's names file. Without --since/--until: all stored data.\n"
                   "The coverage footer (stderr) says which sensors reported and what was lost.\n");
  std::string since, until, top, count = "connections", format = "text";
  bool show_remote = false, by_sensor = false;
  FilterFlags filters;
  FlagParser& p = cmd.parser();
  p.AddString("since", "TIME", &since, "start of the window (e.g. 24h, '7d ago', 2026-12-02)");
  p.AddString("until", "TIME", &until, "end of the window (exclusive)");
  AddFilterFlags(p, &filters, /*with_client=*/true);
  p.AddString("top", "N", &top, "at most N rows, largest first (default: all; text 1000)");
  p.AddBool("show-remote", &show_remote, "show non-local hosts' IPs instead of _");
  p.AddBool("by-sensor", &by_sensor, "keep each sensor's rows apart (adds a sensor column)");
  p.AddChoice("count", {"connections", "packets"}, &count, "what to count");
  p.AddChoice("format", {"text", "tsv", "csv", "json"}, &format, kTableFormatsHelp);
  if (auto exit = cmd.Parse(args)) return *exit;
  v1::SummaryRequest req;
  if (auto exit = cmd.FillRange(since, until, req.mutable_range())) return *exit;
  uint32_t top_n = format == "text" ? kTextDefaultTop : 0;
  if (auto exit = ParseTop(cmd, top, &top_n)) return *exit;
  req.set_top_n(top_n);
  FillFilters(filters, req.mutable_filters());
  req.set_show_remote(show_remote);
  req.set_by_sensor(by_sensor);
  const bool packets = count == "packets";
  req.set_count(packets ? v1::COUNT_KIND_PACKETS : v1::COUNT_KIND_CONNECTIONS);

  v1::SummaryResponse resp;
  int rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
    return stub.Summary(ctx, req, &resp);
  });
  if (rc != kExitOk) return rc;

  const OutputFormat out_format = *ParseOutputFormat(format);
  Table table;
  table.total_rows = resp.total_rows();
  table.columns = SummaryTableColumns(by_sensor);
  for (const v1::SummaryRow& r : resp.rows()) {
    AppendSummaryRow({.count = r.count(),
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
                      .last_seen_ns = r.last_seen_unix_ns()},
                     by_sensor, out_format, cmd.zone(), &table);
  }
  PrintTable(table, out_format, resp.coverage(), cmd.zone());
  return kExitOk;
}

}  // namespace synmap::cli
