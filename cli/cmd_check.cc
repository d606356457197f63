// `synmap check`: compares the live services with a baseline file, for cron and monitoring.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/coverage_format.h"
#include "cli/expect_file.h"
#include "cli/query_command.h"
#include "cli/query_commands.h"
#include "cli/table_format.h"

namespace synmap::cli {

namespace v1 = ::synmap::v1;

namespace {

// "web/ssh, db/up:8080" (at most `limit`, then "…and N more").
std::string Pairs(const std::vector<CheckFinding>& findings, CheckFinding::Kind kind,
                  size_t limit) {
  std::vector<std::string> out;
  size_t total = 0;
  for (const CheckFinding& f : findings) {
    if (f.kind != kind) continue;
    if (++total <= limit) {
      out.push_back(kind == CheckFinding::kUnexpectedClient
                        ? absl::StrCat(f.client, "->", f.server, "/", f.service)
                        : absl::StrCat(f.server, "/", f.service));
    }
  }
  if (total > limit) out.push_back(absl::StrCat("and ", total - limit, " more"));
  return absl::StrCat(total, " ", FindingKindName(kind), out.empty() ? "" : ": ",
                      absl::StrJoin(out, ", "));
}

}  // namespace

int RunCheck(absl::Span<const std::string> args) {
  QueryCommand cmd(
      "check",
      "usage: synmap check --expect FILE [--since T] [--until T] [--sensor N] [--site S]\n"
      "                    [--brief] [--format text|tsv|csv|json]\n\n"
      "Compares the inbound services of local servers seen in the window (default: the\n"
      "last 24h) with the baseline FILE (YAML; `synmap export --format expect` writes one):\n"
      "services seen but not expected, expected but silent, and clients not on an expected\n"
      "service's client list. Exit status: 0 as expected; 1 differences (listed); 2 error,\n"
      "including a window in which no sensor reported (silence would mean nothing).\n"
      "--brief prints one line for monitoring (\"SYNMAP CHECK OK - ...\" / \"CRITICAL - ...\").\n");
  std::string expect_path, since = "24h", until, format = "text";
  bool brief = false;
  FilterFlags filters;
  FlagParser& p = cmd.parser();
  p.AddString("expect", "FILE", &expect_path, "the baseline: services that should be live");
  p.AddString("since", "TIME", &since, "start of the window (default 24h)");
  p.AddString("until", "TIME", &until, "end of the window");
  AddSensorFilterFlags(p, &filters);
  p.AddBool("brief", &brief, "one line: OK or CRITICAL with the differences (for monitoring)");
  p.AddChoice("format", {"text", "tsv", "csv", "json"}, &format, kTableFormatsHelp);
  if (auto exit = cmd.Parse(args)) return *exit;
  if (expect_path.empty()) {
    return cmd.UsageError("--expect FILE is required (synmap export --format expect writes one)");
  }
  absl::StatusOr<std::vector<ExpectedService>> expected = LoadExpectFile(expect_path);
  if (!expected.ok()) return cmd.Fail(expected.status().message());

  v1::ExportRequest export_req;
  if (auto exit = cmd.FillRange(since, until, export_req.mutable_range())) return *exit;
  FillFilters(filters, export_req.mutable_filters());
  export_req.set_min_connections(1);
  v1::ExportResponse services;
  int rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
    return stub.Export(ctx, export_req, &services);
  });
  if (rc != kExitOk) return rc;
  if (services.coverage().sensors_size() == 0) {
    return cmd.Fail(
        "no sensor reported in this window, so which services are live cannot be told "
        "(choose a window in which sensors reported; see synmap sensors)");
  }
  SeenServices seen;
  for (const v1::ExportRow& r : services.rows()) {
    seen[{r.server(), r.service()}].connections += r.connections();
  }
  bool clients_needed = false;
  for (const ExpectedService& e : *expected) clients_needed = clients_needed || e.clients_listed;
  if (clients_needed) {
    v1::SummaryRequest req;
    *req.mutable_range() = export_req.range();
    FillFilters(filters, req.mutable_filters());
    req.set_top_n(0);
    v1::SummaryResponse summary;
    rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
      return stub.Summary(ctx, req, &summary);
    });
    if (rc != kExitOk) return rc;
    for (const v1::SummaryRow& r : summary.rows()) {
      auto it = seen.find({r.server(), r.service()});
      if (it != seen.end()) it->second.clients[r.client()] += r.connections();
    }
  }
  const std::vector<CheckFinding> findings = CheckServices(*expected, seen);
  const int exit_code = findings.empty() ? kExitOk : kExitDifferent;

  if (brief) {
    std::string line;
    if (findings.empty()) {
      line = absl::StrCat("SYNMAP CHECK OK - ", expected->size(),
                          " expected service(s) as expected, ", seen.size(), " seen, ",
                          services.coverage().sensors_size(), " sensor(s) reporting\n");
    } else {
      std::vector<std::string> parts;
      for (auto kind :
           {CheckFinding::kUnexpected, CheckFinding::kSilent, CheckFinding::kUnexpectedClient}) {
        std::string part = Pairs(findings, kind, 5);
        if (part[0] != '0') parts.push_back(std::move(part));
      }
      line = absl::StrCat("SYNMAP CHECK CRITICAL - ", absl::StrJoin(parts, "; "), "\n");
    }
    WriteAll(stdout, line);
    return exit_code;
  }
  const OutputFormat out_format = *ParseOutputFormat(format);
  Table table;
  table.columns = {
      {.name = "finding", .min_width = 17},
      {.name = "server", .min_width = 21},
      {.name = "service", .min_width = 12},
      {.name = "client", .nullable = true},
      {.name = "connections", .numeric = true, .right_align = true},
  };
  for (const CheckFinding& f : findings) {
    table.rows.push_back(
        {FindingKindName(f.kind), f.server, f.service, f.client, absl::StrCat(f.connections)});
  }
  std::string out;
  if (out_format == OutputFormat::kText) {
    out = findings.empty() ? absl::StrCat("as expected: ", expected->size(),
                                          " expected service(s), ", seen.size(), " seen\n")
                           : "# finding  server  service  client  connections\n";
  }
  AppendTable(
      table, out_format, [&](std::string* o) { AppendCoverageJson(services.coverage(), o); }, &out);
  WriteAll(stdout, out);
  std::fflush(stdout);
  if (out_format != OutputFormat::kJson) {
    WriteAll(stderr, CoverageFooter(services.coverage(), absl::Now(), cmd.zone()));
  }
  return exit_code;
}

}  // namespace synmap::cli
