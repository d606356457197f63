// `synmap services`: inventory of services.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/query_command.h"
#include "cli/query_commands.h"
#include "cli/table_format.h"

namespace synmap::cli {

namespace v1 = ::synmap::v1;

int RunServices(absl::Span<const std::string> args) {
  QueryCommand cmd("services",
                   "usage: synmap services [--since T] [--until T] [--sensor N] [--server X]\n"
                   "                       [--client X] [--service X] [--local] [--top N]\n"
                   "                       [--format text|tsv|csv|json]\n\n"
                   "Services seen: how many servers offer each, how many clients use it.\n");
  std::string since, until, top, format = "text";
  bool local = false;
  FilterFlags filters;
  FlagParser& p = cmd.parser();
  p.AddString("since", "TIME", &since, "start of the window");
  p.AddString("until", "TIME", &until, "end of the window");
  AddFilterFlags(p, &filters, /*with_client=*/true);
  p.AddBool("local", &local, "count only servers on local networks");
  p.AddString("top", "N", &top, "at most N rows (default all)");
  p.AddChoice("format", {"text", "tsv", "csv", "json"}, &format, kTableFormatsHelp);
  if (auto exit = cmd.Parse(args)) return *exit;
  v1::ServicesRequest req;
  if (auto exit = cmd.FillRange(since, until, req.mutable_range())) return *exit;
  uint32_t top_n = 0;
  if (auto exit = ParseTop(cmd, top, &top_n)) return *exit;
  req.set_top_n(top_n);
  req.set_local_servers_only(local);
  FillFilters(filters, req.mutable_filters());
  v1::ServicesResponse resp;
  int rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
    return stub.Services(ctx, req, &resp);
  });
  if (rc != kExitOk) return rc;
  const OutputFormat out_format = *ParseOutputFormat(format);
  Table table;
  table.total_rows = resp.total_rows();
  table.columns = {
      {.name = "service", .min_width = 12},
      {.name = "port", .numeric = true, .right_align = true},
      {.name = "servers", .numeric = true, .right_align = true},
      {.name = "clients", .numeric = true, .right_align = true},
      {.name = "connections", .numeric = true, .right_align = true},
      {.name = "packets", .numeric = true, .in_text = false},
      {.name = "first_seen", .nullable = true, .in_text = false},
      {.name = "last_seen", .nullable = true, .in_text = false},
  };
  for (const v1::ServiceRow& r : resp.rows()) {
    table.rows.push_back({r.service(), PortCell(r.port()), absl::StrCat(r.servers()),
                          absl::StrCat(r.clients()), absl::StrCat(r.connections()),
                          absl::StrCat(r.packets()),
                          TimeCell(r.first_seen_unix_ns(), out_format, cmd.zone()),
                          TimeCell(r.last_seen_unix_ns(), out_format, cmd.zone())});
  }
  PrintTable(table, out_format, resp.coverage(), cmd.zone(),
             format == "text" ? "# service  port  servers  clients  connections\n" : "");
  return kExitOk;
}

}  // namespace synmap::cli
