// `synmap summary`: connections per client, server and service, from the collector.

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "cli/coverage_format.h"
#include "cli/graph_dot.h"
#include "cli/query_command.h"
#include "cli/query_commands.h"
#include "cli/summary_query.h"
#include "cli/table_format.h"
#include "google/protobuf/arena.h"

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
                   "                      [--format text|tsv|csv|json|dot] [--max-edges N]\n\n"
                   "Connections per client, server and service as stored by the collector, named\n"
                   "with the collector's names file. Without --since/--until: all stored data.\n"
                   "The coverage footer (stderr) says which sensors reported and what was lost.\n"
                   "--format dot prints the map as a Graphviz graph (see synmap graph).\n");
  SummaryQueryFlags flags;
  std::string format = "text";
  FlagParser& p = cmd.parser();
  AddSummaryQueryFlags(p, &flags, /*with_by_sensor=*/true);
  p.AddChoice("format", {"text", "tsv", "csv", "json", "dot"}, &format,
              "output format: text (default), tsv, csv, json or dot (Graphviz)");
  if (auto exit = cmd.Parse(args)) return *exit;
  size_t max_edges = 0;
  if (auto exit = ParseMaxEdges(cmd, flags.max_edges, &max_edges)) return *exit;
  const bool dot = format == "dot";
  v1::SummaryRequest req;
  const uint32_t default_top =
      dot ? static_cast<uint32_t>(max_edges) : (format == "text" ? kTextDefaultTop : 0);
  if (auto exit = BuildSummaryRequest(cmd, flags, default_top, &req)) return *exit;

  // The answer is parsed into an arena: a big map is millions of small strings, which one
  // malloc and one free each made a third of the command's time.
  google::protobuf::ArenaOptions arena_options;
  arena_options.max_block_size = size_t{1} << 20;
  google::protobuf::Arena arena(arena_options);
  v1::SummaryResponse& resp = *google::protobuf::Arena::CreateMessage<v1::SummaryResponse>(&arena);
  int rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
    return stub.Summary(ctx, req, &resp);
  });
  if (rc != kExitOk) return rc;

  if (dot) {
    const Table table =
        SummaryResponseTable(resp, flags.by_sensor, OutputFormat::kText, cmd.zone());
    WriteAll(stdout,
             SummaryDot(table, max_edges,
                        GraphCaption(resp.coverage(), flags.count == "packets", cmd.zone())));
    std::fflush(stdout);
    WriteAll(stderr, CoverageFooter(resp.coverage(), absl::Now(), cmd.zone()));
    return kExitOk;
  }
  const OutputFormat out_format = *ParseOutputFormat(format);
  PrintSummary(resp, flags.by_sensor, out_format, cmd.zone());
  return kExitOk;
}

}  // namespace synmap::cli
