#pragma once

#include <string>
#include <vector>

#include "absl/types/span.h"

namespace synmap::cli {

// `synmap summarize [flags] FILE...`: the offline recipe. Reads capture files (pcap or
// pcapng, '-' = stdin) into one SYN/ACK table, names hosts and services with the names
// file, and prints one row per (client, server, service). `args` excludes "synmap" and
// "summarize". Writes the table to stdout and the coverage footer / errors to stderr.
// Returns 0, kExitUsage (64) for bad flags, or kExitFailure (2) when a file cannot be read
// or is corrupt (the rows counted before the damage are still printed).
int RunSummarize(absl::Span<const std::string> args);

// The one-line description shown by `synmap --help`.
inline constexpr char kSummarizeSummary[] = "count SYN/ACKs in capture files (offline recipe)";

}  // namespace synmap::cli
