// How long the service map takes to lay out and render, for maps of growing size: the DOT text
// (SummaryDot) and Graphviz's layout + SVG (RenderGraph), with the engine `synmap graph
// --layout auto` picks and with the other one. Synthetic summaries: servers with a few services
// each, named clients and remote clients ("_"), counts spread over four orders of magnitude.
// Usage: synmap-graph-layout-bench [EDGES...]   (default 100 500 2000)

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/graph_dot.h"
#include "cli/graph_render.h"
#include "cli/summary_table.h"

namespace {

synmap::cli::Table Summary(size_t edges) {
  synmap::cli::Table table;
  table.columns = synmap::cli::SummaryTableColumns(false);
  const char* services[] = {"https", "ssh", "http", "pg", "smtp", "up:8443"};
  uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  for (size_t i = 0; i < edges; ++i) {
    const size_t server = next() % (edges / 10 + 1);
    const std::string client =
        next() % 3 == 0 ? "_" : absl::StrCat("client-", next() % (edges / 4 + 1));
    table.rows.push_back({absl::StrCat(1 + next() % 10000), client, absl::StrCat("server-", server),
                          services[(server + next() % 2) % 6], "", "", "", "", "", "", ""});
  }
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes = {100, 500, 2000};
  if (argc > 1) {
    sizes.clear();
    for (int i = 1; i < argc; ++i) {
      size_t n = 0;
      if (!absl::SimpleAtoi(argv[i], &n) || n == 0) {
        std::fprintf(stderr, "usage: %s [EDGES...]\n", argv[0]);
        return 64;
      }
      sizes.push_back(n);
    }
  }
  std::printf("%-7s %-6s %10s %12s %10s\n", "edges", "layout", "dot_text_s", "layout_svg_s",
              "svg_bytes");
  for (const size_t edges : sizes) {
    const synmap::cli::Table table = Summary(edges);
    const absl::Time t0 = absl::Now();
    const std::string dot = synmap::cli::SummaryDot(table, edges, "bench");
    const double text_s = absl::ToDoubleSeconds(absl::Now() - t0);
    for (const char* layout : {synmap::cli::LayoutFor(edges), edges > 400 ? "dot" : "sfdp"}) {
      if (edges > 2000 && std::string(layout) == "dot") {
        continue;  // Minutes: the reason auto switches to sfdp.
      }
      const absl::Time t1 = absl::Now();
      absl::StatusOr<std::string> svg = synmap::cli::RenderGraph(dot, layout, "svg");
      const double layout_s = absl::ToDoubleSeconds(absl::Now() - t1);
      if (!svg.ok()) {
        std::fprintf(stderr, "render failed: %s\n", std::string(svg.status().message()).c_str());
        return 1;
      }
      std::printf("%-7zu %-6s %10.3f %12.3f %10zu%s\n", edges, layout, text_s, layout_s,
                  svg->size(),
                  std::string(layout) == synmap::cli::LayoutFor(edges) ? "  (auto)" : "");
    }
  }
  return 0;
}
