// `synmap hosts`: inventory of local hosts.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/query_command.h"
#include "cli/query_commands.h"
#include "cli/table_format.h"

namespace synmap::cli {

namespace v1 = ::synmap::v1;

int RunHosts(absl::Span<const std::string> args) {
  QueryCommand cmd("hosts",
                   "usage: synmap hosts [--since T] [--until T] [--sensor N] [--server X]\n"
                   "                    [--client X] [--service X] [--top N]\n"
                   "                    [--format text|tsv|csv|json]\n\n"
                   "Local hosts seen as servers or clients: the services they offer and how many\n"
                   "connections they served and made.\n");
  std::string since, until, top, format = "text";
  FilterFlags filters;
  FlagParser& p = cmd.parser();
  p.AddString("since", "TIME", &since, "start of the window");
  p.AddString("until", "TIME", &until, "end of the window");
  AddFilterFlags(p, &filters, /*with_client=*/true);
  p.AddString("top", "N", &top, "at most N rows (default all)");
  p.AddChoice("format", {"text", "tsv", "csv", "json"}, &format, kTableFormatsHelp);
  if (auto exit = cmd.Parse(args)) return *exit;
  v1::HostsRequest req;
  if (auto exit = cmd.FillRange(since, until, req.mutable_range())) return *exit;
  uint32_t top_n = 0;
  if (auto exit = ParseTop(cmd, top, &top_n)) return *exit;
  req.set_top_n(top_n);
  FillFilters(filters, req.mutable_filters());
  v1::HostsResponse resp;
  int rc = cmd.Run(
      [&](v1::Query::Stub& stub, grpc::ClientContext* ctx) { return stub.Hosts(ctx, req, &resp); });
  if (rc != kExitOk) return rc;
  const OutputFormat out_format = *ParseOutputFormat(format);
  Table table;
  table.total_rows = resp.total_rows();
  table.columns = {
      {.name = "host", .min_width = 15},
      {.name = "host_ip", .min_width = 15},
      {.name = "connections_served", .numeric = true, .right_align = true},
      {.name = "connections_made", .numeric = true, .right_align = true},
      {.name = "services"},
      {.name = "first_seen", .nullable = true, .in_text = false},
      {.name = "last_seen", .nullable = true, .in_text = false},
  };
  std::vector<std::string> sites;
  for (const v1::HostRow& r : resp.rows()) {
    table.rows.push_back({r.name(), r.ip(), absl::StrCat(r.connections_as_server()),
                          absl::StrCat(r.connections_as_client()), absl::StrJoin(r.services(), ","),
                          TimeCell(r.first_seen_unix_ns(), out_format, cmd.zone()),
                          TimeCell(r.last_seen_unix_ns(), out_format, cmd.zone())});
    sites.push_back(r.site());
  }
  // One row per site and address: the same address at two sites is two hosts.
  const bool with_site = InsertSiteColumn(&table, 0, sites);
  PrintTable(table, out_format, resp.coverage(), cmd.zone(),
             format == "text" ? absl::StrCat("# ", with_site ? "site  " : "",
                                             "host  host_ip  connections_served  connections_made  "
                                             "services\n")
                              : "");
  return kExitOk;
}

}  // namespace synmap::cli
