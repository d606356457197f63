// `synmap graph`: the service map from the collector, laid out by Graphviz into a file.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/coverage_format.h"
#include "cli/graph_dot.h"
#include "cli/graph_render.h"
#include "cli/query_command.h"
#include "cli/query_commands.h"
#include "cli/summary_query.h"

namespace synmap::cli {

namespace v1 = ::synmap::v1;

namespace {

// The output format of `path` from its extension, or "" when it has none of ours.
std::string FormatOf(const std::string& path) {
  for (const char* ext : {"svg", "png", "pdf", "dot"}) {
    if (absl::EndsWithIgnoreCase(path, absl::StrCat(".", ext))) {
      return ext;
    }
  }
  return "";
}

}  // namespace

int RunGraph(absl::Span<const std::string> args) {
  QueryCommand cmd(
      "graph",
      "usage: synmap graph --output FILE [--layout auto|dot|sfdp] [--max-edges N]\n"
      "                    [--since T] [--until T] [--sensor N] [--server X] [--client X]\n"
      "                    [--service X] [--show-remote] [--count connections|packets]\n\n"
      "Draws the service map of the collector's answer (as `synmap summary`) with Graphviz:\n"
      "each server a box holding its services, each client one node (remote clients '_' one\n"
      "node per service), edges weighted by count. FILE's extension picks the format: .svg,\n"
      ".png, .pdf, or .dot (the graph text, as `synmap summary --format dot`). The N largest\n"
      "rows are drawn (--max-edges, default 300); a note counts the rest. --layout auto uses\n"
      "dot (layers) up to 400 edges and sfdp (force-directed) beyond.\n");
  SummaryQueryFlags flags;
  std::string output, layout = "auto";
  FlagParser& p = cmd.parser();
  AddSummaryQueryFlags(p, &flags, /*with_by_sensor=*/false);
  p.AddString("output", "FILE", &output, "where to write the map (.svg, .png, .pdf or .dot)");
  p.AddChoice("layout", {"auto", "dot", "sfdp"}, &layout,
              "Graphviz layout engine (default auto: dot, or sfdp beyond 400 edges)");
  if (auto exit = cmd.Parse(args)) return *exit;
  if (output.empty()) {
    return cmd.UsageError("--output FILE is required (e.g. --output map.svg)");
  }
  const std::string format = FormatOf(output);
  if (format.empty()) {
    return cmd.UsageError(
        absl::StrCat("--output: '", output, "' does not end in .svg, .png, .pdf or .dot"));
  }
  size_t max_edges = 0;
  if (auto exit = ParseMaxEdges(cmd, flags.max_edges, &max_edges)) return *exit;
  v1::SummaryRequest req;
  if (auto exit = BuildSummaryRequest(cmd, flags, static_cast<uint32_t>(max_edges), &req)) {
    return *exit;
  }
  v1::SummaryResponse resp;
  int rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
    return stub.Summary(ctx, req, &resp);
  });
  if (rc != kExitOk) return rc;

  const Table table = SummaryResponseTable(resp, false, OutputFormat::kText, cmd.zone());
  const std::string dot = SummaryDot(
      table, max_edges, GraphCaption(resp.coverage(), flags.count == "packets", cmd.zone()));
  std::string out = dot;
  if (format != "dot") {
    const size_t edges = std::min<size_t>(table.rows.size(), max_edges);
    absl::StatusOr<std::string> rendered =
        RenderGraph(dot, layout == "auto" ? LayoutFor(edges) : layout, format);
    if (!rendered.ok()) return cmd.Fail(rendered.status().message());
    out = *std::move(rendered);
  }
  FILE* f = std::fopen(output.c_str(), "wb");
  if (f == nullptr) {
    return cmd.Fail(absl::StrCat("cannot write '", output, "': ", std::strerror(errno)));
  }
  const bool written = std::fwrite(out.data(), 1, out.size(), f) == out.size();
  if (std::fclose(f) != 0 || !written) {
    return cmd.Fail(absl::StrCat("cannot write '", output, "': ", std::strerror(errno)));
  }
  WriteAll(stderr, CoverageFooter(resp.coverage(), absl::Now(), cmd.zone()));
  WriteAll(stderr, absl::StrCat("graph: ", std::min<size_t>(table.rows.size(), max_edges), " of ",
                                table.TotalRows(), " rows drawn into ", output, "\n"));
  return kExitOk;
}

}  // namespace synmap::cli
