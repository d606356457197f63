// `synmap diff`: what changed between two windows of the collector's summary.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/coverage_format.h"
#include "cli/query_command.h"
#include "cli/query_commands.h"
#include "cli/summary_diff.h"
#include "cli/table_format.h"

namespace synmap::cli {

namespace v1 = ::synmap::v1;

namespace {

// "SINCE..UNTIL" (either side may be empty: open) into `since` and `until`.
bool SplitWindow(const std::string& text, std::string* since, std::string* until) {
  const size_t dots = text.find("..");
  if (dots == std::string::npos || text.find("..", dots + 2) != std::string::npos) {
    return false;
  }
  *since = text.substr(0, dots);
  *until = text.substr(dots + 2);
  return true;
}

}  // namespace

int RunDiff(absl::Span<const std::string> args) {
  QueryCommand cmd(
      "diff",
      "usage: synmap diff --a SINCE..UNTIL --b SINCE..UNTIL [--factor F] [--sensor N]\n"
      "                   [--server X] [--client X] [--service X] [--show-remote]\n"
      "                   [--count connections|packets] [--format text|tsv|csv|json]\n\n"
      "Compares the summary (client, server, service) of window a with that of window b:\n"
      "rows that appeared in b, disappeared from it, or whose count changed by at least a\n"
      "factor F (default 2). A window is SINCE..UNTIL with either side open, each a time as\n"
      "--since takes (e.g. --a '2026-12-01..2026-12-02' --b '24h..'). Refuses (exit 2) when\n"
      "no sensor reported in either window: a diff against nothing would list everything.\n"
      "Both windows' coverage goes to stderr (json: \"coverage\": {\"a\": ..., \"b\": ...}).\n");
  std::string a_text, b_text, factor_text = "2", count = "connections", format = "text";
  bool show_remote = false;
  FilterFlags filters;
  FlagParser& p = cmd.parser();
  p.AddString("a", "SINCE..UNTIL", &a_text, "the first (earlier) window");
  p.AddString("b", "SINCE..UNTIL", &b_text, "the second window");
  p.AddString("factor", "F", &factor_text,
              "list rows in both windows whose count changed by at least F times (default 2)");
  AddFilterFlags(p, &filters, /*with_client=*/true);
  p.AddBool("show-remote", &show_remote, "show non-local hosts' IPs instead of _");
  p.AddChoice("count", {"connections", "packets"}, &count, "what to count");
  p.AddChoice("format", {"text", "tsv", "csv", "json"}, &format, kTableFormatsHelp);
  if (auto exit = cmd.Parse(args)) return *exit;
  double factor = 0;
  if (!absl::SimpleAtod(factor_text, &factor) || !(factor > 1.0)) {
    return cmd.UsageError(absl::StrCat("--factor: '", factor_text, "' is not a number > 1"));
  }
  std::string windows[2][2];
  for (int w = 0; w < 2; ++w) {
    const std::string& text = w == 0 ? a_text : b_text;
    const char* flag = w == 0 ? "--a" : "--b";
    if (text.empty()) {
      return cmd.UsageError(absl::StrCat(flag, " SINCE..UNTIL is required"));
    }
    if (!SplitWindow(text, &windows[w][0], &windows[w][1])) {
      return cmd.UsageError(
          absl::StrCat(flag, ": '", text, "' is not SINCE..UNTIL (e.g. '48h..24h', '24h..')"));
    }
  }
  v1::SummaryResponse resp[2];
  for (int w = 0; w < 2; ++w) {
    v1::SummaryRequest req;
    if (auto exit = cmd.FillRange(windows[w][0], windows[w][1], req.mutable_range())) {
      return *exit;
    }
    FillFilters(filters, req.mutable_filters());
    req.set_show_remote(show_remote);
    req.set_count(count == "packets" ? v1::COUNT_KIND_PACKETS : v1::COUNT_KIND_CONNECTIONS);
    req.set_top_n(0);  // Every row: a cut would show rows as disappeared.
    int rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
      return stub.Summary(ctx, req, &resp[w]);
    });
    if (rc != kExitOk) return rc;
  }
  for (int w = 0; w < 2; ++w) {
    if (resp[w].coverage().sensors_size() == 0) {
      return cmd.Fail(absl::StrCat(
          "no sensor reported in window ", w == 0 ? "a" : "b", " (", w == 0 ? a_text : b_text,
          "), so what appeared or disappeared cannot be told; choose windows in which sensors "
          "reported (see synmap sensors)"));
    }
  }
  std::vector<CountedRow> rows[2];
  for (int w = 0; w < 2; ++w) {
    for (const v1::SummaryRow& r : resp[w].rows()) {
      rows[w].push_back({r.client(), r.server(), r.service(), r.count(), r.site()});
    }
  }
  const std::vector<DiffRow> diff = DiffSummaries(rows[0], rows[1], factor);

  const OutputFormat out_format = *ParseOutputFormat(format);
  Table table;
  table.columns = {
      {.name = "change", .min_width = 11},
      {.name = "client", .min_width = 15},
      {.name = "server", .min_width = 21},
      {.name = "service", .min_width = 12},
      {.name = "count_a", .numeric = true, .right_align = true},
      {.name = "count_b", .numeric = true, .right_align = true},
      {.name = "factor", .numeric = true, .right_align = true},
  };
  std::vector<std::string> sites;
  for (const DiffRow& d : diff) {
    std::string ratio;
    if (d.count_a > 0 && d.count_b > 0) {
      ratio =
          absl::StrFormat("%.2f", static_cast<double>(d.count_b) / static_cast<double>(d.count_a));
    }
    table.rows.push_back({RowChangeName(d.change), d.client, d.server, d.service,
                          absl::StrCat(d.count_a), absl::StrCat(d.count_b), ratio});
    sites.push_back(d.site);
  }
  InsertSiteColumn(&table, 1, sites);
  std::string out = format == "text"
                        ? "# change     client          server                service      a  b  "
                          "b/a\n"
                        : "";
  AppendTable(
      table, out_format,
      [&](std::string* o) {
        o->append("{\"a\": ");
        AppendCoverageJson(resp[0].coverage(), o);
        o->append(", \"b\": ");
        AppendCoverageJson(resp[1].coverage(), o);
        o->append("}");
      },
      &out);
  WriteAll(stdout, out);
  std::fflush(stdout);
  if (out_format != OutputFormat::kJson) {
    for (int w = 0; w < 2; ++w) {
      WriteAll(stderr, absl::StrCat(w == 0 ? "window a: " : "window b: ",
                                    CoverageFooter(resp[w].coverage(), absl::Now(), cmd.zone())));
    }
  }
  return kExitOk;
}

}  // namespace synmap::cli
