// `synmap export`: an allow-list of the observed inbound services (nftables, iptables,
// ip6tables or csv).

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cli/coverage_format.h"
#include "cli/expect_file.h"
#include "cli/export_rules.h"
#include "cli/query_command.h"
#include "cli/query_commands.h"
#include "cli/query_tables.h"
#include "cli/table_format.h"

namespace synmap::cli {

namespace v1 = ::synmap::v1;

namespace {

// "--nft-table FAMILY NAME" takes two arguments; the flag parser takes one value per flag, so
// the pair is joined first ("--nft-table=FAMILY NAME" works as well).
std::vector<std::string> JoinNftTableArgs(absl::Span<const std::string> args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nft-table" && i + 2 < args.size() && !absl::StartsWith(args[i + 1], "-") &&
        !absl::StartsWith(args[i + 2], "-")) {
      out.push_back(absl::StrCat("--nft-table=", args[i + 1], " ", args[i + 2]));
      i += 2;
      continue;
    }
    out.push_back(args[i]);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> ExportText(const v1::ExportResponse& resp, const std::string& format,
                                       const NftTable& nft_table, uint64_t min_connections,
                                       bool allow_empty, size_t* omitted) {
  if (!allow_empty && resp.coverage().sensors_size() == 0) {
    return absl::FailedPreconditionError(
        "no sensor reported in this window, so there is nothing to allow; an empty allow-list "
        "would block every service (choose a window with data, or --allow-empty)");
  }
  const size_t rules = RuleCount(resp, format, nft_table);
  if (!allow_empty && rules == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no service qualifies (", resp.rows_size(), " row(s) in the window, none for ", format,
        format == "nftables" ? absl::StrCat(" table ", nft_table.family, " ", nft_table.name) : "",
        "); an empty allow-list would block every service (lower --min-connections, widen the "
        "window, or --allow-empty)"));
  }
  std::string out;
  *omitted = 0;
  if (format == "nftables") {
    out = RenderNftables(resp, nft_table, min_connections, omitted);
  } else if (format == "iptables" || format == "ip6tables") {
    out = RenderIptables(resp, format == "ip6tables", min_connections, omitted);
  } else if (format == "expect") {
    std::vector<ExpectedService> services;
    std::set<std::pair<std::string, std::string>> pairs;
    for (const v1::ExportRow& r : resp.rows()) {
      if (r.connections() >= min_connections && pairs.emplace(r.server(), r.service()).second) {
        ExpectedService service;
        service.server = r.server();
        service.service = r.service();
        services.push_back(std::move(service));
      }
    }
    std::vector<std::string> comment = {
        "synmap expected services (synmap check --expect FILE): inbound services of local",
        "servers seen with at least " + absl::StrCat(min_connections) +
            " connection(s). Review it: it lists what was seen,",
        "including what should not have been there. Add 'clients: [a, b]' to a service to",
        "allow only those clients."};
    // The window and the sensors that reported in it, from the rules' header (its first line
    // and its closing lines are about rules).
    const std::vector<std::string> header = absl::StrSplit(
        ExportHeader(resp, min_connections, services.size()), '\n', absl::SkipEmpty());
    for (size_t i = 1; i < header.size(); ++i) {
      if (absl::StrContains(header[i], " rule(s), each seen")) break;
      comment.push_back(std::string(absl::StripPrefix(absl::StripPrefix(header[i], "#"), " ")));
    }
    out = RenderExpectFile(services, comment);
  } else {
    Table table;
    table.columns = {{.name = "server_ip"},   {.name = "server_port"}, {.name = "protocol"},
                     {.name = "connections"}, {.name = "clients"},     {.name = "server"},
                     {.name = "service"}};
    std::vector<std::string> sites;
    for (const v1::ExportRow& r : resp.rows()) {
      table.rows.push_back({r.server_ip(), absl::StrCat(r.port()), r.protocol(),
                            absl::StrCat(r.connections()), absl::StrCat(r.clients()), r.server(),
                            r.service()});
      sites.push_back(r.site());
    }
    // Rules of two sites are for two networks: keep them told apart.
    InsertSiteColumn(&table, 0, sites);
    AppendCsv(table, &out);
  }
  return out;
}

int RunExport(absl::Span<const std::string> args) {
  QueryCommand cmd(
      "export",
      "usage: synmap export [--format nftables|iptables|ip6tables|csv|expect]\n"
      "                     [--nft-table FAMILY NAME] [--min-connections N]\n"
      "                     [--since T] [--until T] [--sensor N] [--server X]\n"
      "                     [--service X] [--allow-empty]\n\n"
      "An allow-list of the inbound TCP services observed on local servers: one rule\n"
      "per (server address, port) with at least N connections in the window. The\n"
      "nftables form is a fragment for your own table (a chain synmap_allow and sets\n"
      "synmap_allow_v4/_v6); iptables/ip6tables load with iptables-restore --noflush.\n"
      "Refuses (exit 2) when no sensor reported in the window or the list would be\n"
      "empty, since loading an empty allow-list blocks everything; --allow-empty\n"
      "prints it anyway. Review before loading: it allows what was seen, including\n"
      "what should not have been there. --format expect writes the (server, service)\n"
      "pairs as a baseline for `synmap check --expect FILE`.\n");
  std::string format = "nftables", since, until, min_text = "1", nft_table_text = "inet filter";
  bool allow_empty = false;
  FilterFlags filters;
  FlagParser& p = cmd.parser();
  p.AddChoice("format", {"nftables", "iptables", "ip6tables", "csv", "expect"}, &format,
              "nftables (default), iptables (IPv4), ip6tables (IPv6), csv, or expect (a "
              "baseline for synmap check)");
  p.AddString("nft-table", "FAMILY NAME", &nft_table_text,
              "nftables table to put the chain and sets in (default inet filter)");
  p.AddString("min-connections", "N", &min_text, "keep services with at least N connections (1)");
  p.AddString("since", "TIME", &since, "start of the window");
  p.AddString("until", "TIME", &until, "end of the window");
  AddFilterFlags(p, &filters, /*with_client=*/false);
  p.AddBool("allow-empty", &allow_empty,
            "print the rules even when no sensor reported or none would be allowed");
  const std::vector<std::string> joined = JoinNftTableArgs(args);
  if (auto exit = cmd.Parse(joined)) return *exit;
  uint64_t min_connections = 0;
  if (!absl::SimpleAtoi(min_text, &min_connections) || min_connections == 0) {
    return cmd.UsageError(
        absl::StrCat("--min-connections: '", min_text, "' is not a whole number >= 1"));
  }
  absl::StatusOr<NftTable> nft_table = ParseNftTable(nft_table_text);
  if (!nft_table.ok()) return cmd.UsageError(nft_table.status().message());
  v1::ExportRequest req;
  if (auto exit = cmd.FillRange(since, until, req.mutable_range())) return *exit;
  FillFilters(filters, req.mutable_filters());
  req.set_min_connections(min_connections);
  v1::ExportResponse resp;
  int rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
    return stub.Export(ctx, req, &resp);
  });
  if (rc != kExitOk) return rc;
  size_t omitted = 0;
  absl::StatusOr<std::string> out =
      ExportText(resp, format, *nft_table, min_connections, allow_empty, &omitted);
  if (!out.ok()) return cmd.Fail(out.status().message());
  WriteAll(stdout, *out);
  std::fflush(stdout);
  WriteAll(stderr, CoverageFooter(resp.coverage(), absl::Now(), cmd.zone()));
  if (omitted > 0) {
    const bool v6_left_out = format == "iptables" || nft_table->family == "ip";
    WriteAll(stderr, absl::StrCat("export: ", omitted, " ", v6_left_out ? "IPv6" : "IPv4",
                                  " service(s) not in this format; run again with ",
                                  format == "nftables"
                                      ? "--nft-table inet NAME"
                                      : (v6_left_out ? "--format ip6tables" : "--format iptables"),
                                  "\n"));
  }
  return kExitOk;
}

}  // namespace synmap::cli
