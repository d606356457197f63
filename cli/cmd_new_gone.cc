// `synmap new` and `synmap gone`: services first seen inside a window, and services seen
// before a window and silent in it. Both share flags and output.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/query_command.h"
#include "cli/query_commands.h"
#include "cli/query_tables.h"
#include "cli/table_format.h"

namespace synmap::cli {

namespace v1 = ::synmap::v1;

Table SightingsTable(const google::protobuf::RepeatedPtrField<v1::ServiceSighting>& rows,
                     uint64_t total_rows, bool gone, OutputFormat out_format, absl::TimeZone zone) {
  Table table;
  table.total_rows = total_rows;
  table.columns = {
      {.name = gone ? "last_seen" : "first_seen", .nullable = true},
      {.name = "server", .min_width = 15},
      {.name = "service", .min_width = 10},
      {.name = "connections", .numeric = true, .right_align = true},
      {.name = "clients", .numeric = true, .right_align = true},
      {.name = gone ? "first_seen" : "last_seen", .nullable = true, .in_text = false},
      {.name = "server_port", .numeric = true, .in_text = false},
      {.name = "server_ip", .in_text = false},
      {.name = "packets", .numeric = true, .in_text = false},
  };
  std::vector<std::string> sites;
  for (const v1::ServiceSighting& r : rows) {
    const int64_t shown = gone ? r.last_seen_unix_ns() : r.first_seen_unix_ns();
    const int64_t other = gone ? r.first_seen_unix_ns() : r.last_seen_unix_ns();
    table.rows.push_back({TimeCell(shown, out_format, zone), r.server(), r.service(),
                          absl::StrCat(r.connections()), absl::StrCat(r.clients()),
                          TimeCell(other, out_format, zone), PortCell(r.server_port()),
                          r.server_ip(), absl::StrCat(r.packets())});
    sites.push_back(r.site());
  }
  InsertSiteColumn(&table, 1, sites);
  return table;
}

grpc::Status AskSightings(v1::Query::Stub& stub, grpc::ClientContext* context, bool gone,
                          const v1::TimeRange& range, const FilterFlags& filters, bool show_remote,
                          uint32_t top_n, SightingsAnswer* answer) {
  // The two requests and answers have the same fields.
  auto ask = [&](auto request, auto response, auto rpc) {
    *request.mutable_range() = range;
    FillFilters(filters, request.mutable_filters());
    request.set_show_remote(show_remote);
    request.set_top_n(top_n);
    const grpc::Status status = (stub.*rpc)(context, request, &response);
    answer->rows = response.rows();
    answer->coverage = response.coverage();
    answer->total_rows = response.total_rows();
    return status;
  };
  if (gone) {
    return ask(v1::GoneServicesRequest(), v1::GoneServicesResponse(),
               &v1::Query::Stub::GoneServices);
  }
  return ask(v1::NewServicesRequest(), v1::NewServicesResponse(), &v1::Query::Stub::NewServices);
}

namespace {

// new and gone share flags and output: a list of (server, service) sightings.
int RunSightings(absl::Span<const std::string> args, bool gone) {
  const std::string name = gone ? "gone" : "new";
  QueryCommand cmd(
      name, gone ? "usage: synmap gone [--since 30d] [--until T] [--sensor N] [--server X]\n"
                   "                   [--service X] [--show-remote] [--top N] [--format ..]\n\n"
                   "Services (server, service) seen before the window and silent inside it.\n"
                 : "usage: synmap new [--since 24h] [--until T] [--sensor N] [--server X]\n"
                   "                  [--service X] [--show-remote] [--top N] [--format ..]\n\n"
                   "Services (server, service) whose first SYN/ACK ever stored is inside the "
                   "window.\n");
  std::string since = gone ? kGoneDefaultSince : kNewDefaultSince, until, top, format = "text";
  bool show_remote = false;
  FilterFlags filters;
  FlagParser& p = cmd.parser();
  p.AddString("since", "TIME", &since,
              gone ? "start of the silent window (default 30d)" : "window start (default 24h)");
  p.AddString("until", "TIME", &until, "end of the window (default now)");
  AddFilterFlags(p, &filters, /*with_client=*/false);
  p.AddBool("show-remote", &show_remote, "show non-local servers by IP instead of _");
  p.AddString("top", "N", &top, "at most N rows (default all)");
  p.AddChoice("format", {"text", "tsv", "csv", "json"}, &format, kTableFormatsHelp);
  if (auto exit = cmd.Parse(args)) return *exit;
  if (since.empty()) return cmd.UsageError("--since is required");
  const OutputFormat out_format = *ParseOutputFormat(format);
  v1::TimeRange range;
  if (auto exit = cmd.FillRange(since, until, &range)) return *exit;
  uint32_t top_n = 0;
  if (auto exit = ParseTop(cmd, top, &top_n)) return *exit;

  SightingsAnswer answer;
  const int rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
    return AskSightings(stub, ctx, gone, range, filters, show_remote, top_n, &answer);
  });
  if (rc != kExitOk) return rc;
  const Table table = SightingsTable(answer.rows, answer.total_rows, gone, out_format, cmd.zone());
  PrintTable(table, out_format, answer.coverage, cmd.zone(),
             format == "text" ? absl::StrCat(gone ? "# last_seen" : "# first_seen",
                                             table.columns[1].name == "site" ? "  site" : "",
                                             "  server  service  connections  clients\n")
                              : "");
  return kExitOk;
}

}  // namespace

int RunNew(absl::Span<const std::string> args) { return RunSightings(args, /*gone=*/false); }
int RunGone(absl::Span<const std::string> args) { return RunSightings(args, /*gone=*/true); }

}  // namespace synmap::cli
