// synmap: the command-line tool. This file only dispatches a subcommand to its Run function;
// each subcommand lives in its own file (summarize.cc, ...). To add one, add its header and
// one line to kCommands.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "cli/cmd_enroll.h"
#include "cli/exit_codes.h"
#include "cli/query_commands.h"
#include "cli/summarize.h"
#include "cli/time_text.h"

#ifndef SYNMAP_VERSION
#define SYNMAP_VERSION "unknown"
#endif

namespace synmap::cli {
namespace {

struct Command {
  const char* name;
  int (*run)(absl::Span<const std::string> args);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"summarize", &RunSummarize, kSummarizeSummary},
    {"summary", &RunSummary, kSummarySummary},
    {"new", &RunNew, kNewSummary},
    {"gone", &RunGone, kGoneSummary},
    {"sensors", &RunSensors, kSensorsSummary},
    {"hosts", &RunHosts, kHostsSummary},
    {"services", &RunServices, kServicesSummary},
    {"export", &RunExport, kExportSummary},
    {"graph", &RunGraph, kGraphSummary},
    {"diff", &RunDiff, kDiffSummary},
    {"check", &RunCheck, kCheckSummary},
    {"web", &RunWeb, kWebSummary},
    {"enroll", &RunEnroll, kEnrollSummary},
};

std::string Usage() {
  std::string out =
      "usage: synmap COMMAND [flags] [args]\n"
      "       synmap COMMAND --help | synmap --help | synmap --version\n"
      "\n"
      "Maps live TCP services from SYN/ACK packets.\n"
      "\n"
      "commands:\n";
  for (const Command& c : kCommands) {
    absl::StrAppend(&out, "  ", c.name, std::string(12 - std::string(c.name).size(), ' '),
                    c.summary, "\n");
  }
  absl::StrAppend(&out, "\n", TimeHelp(), kExitCodeHelp);
  return out;
}

void Print(FILE* stream, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stream);
}

}  // namespace

int Main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    Print(stderr, Usage());
    return kExitUsage;
  }
  const std::string& command = args[0];
  if (command == "--help" || command == "-h" || command == "help") {
    Print(stdout, Usage());
    return kExitOk;
  }
  if (command == "--version") {
    Print(stdout, absl::StrCat("synmap ", SYNMAP_VERSION, "\n"));
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    if (command == c.name) {
      return c.run(absl::MakeConstSpan(args).subspan(1));
    }
  }
  Print(stderr, absl::StrCat("synmap: unknown command '", command, "'\nTry 'synmap --help'.\n"));
  return kExitUsage;
}

}  // namespace synmap::cli

int main(int argc, char** argv) { return synmap::cli::Main(argc, argv); }
