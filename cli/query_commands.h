#pragma once

#include <string>

#include "absl/types/span.h"

namespace synmap::cli {

// The query subcommands, one file each (cmd_summary.cc, cmd_new_gone.cc, cmd_sensors.cc,
// cmd_hosts.cc, cmd_services.cc, cmd_export.cc): each asks the collector over mutual TLS
// (reader certificate) and prints a table (text, tsv, csv or json; export: rules) on stdout
// and the answer's coverage on stderr (json carries it instead). `args` excludes "synmap" and
// the command name. Exit codes as cli/exit_codes.h.
int RunSummary(absl::Span<const std::string> args);
int RunNew(absl::Span<const std::string> args);
int RunGone(absl::Span<const std::string> args);
int RunSensors(absl::Span<const std::string> args);
int RunHosts(absl::Span<const std::string> args);
int RunServices(absl::Span<const std::string> args);
int RunExport(absl::Span<const std::string> args);
int RunGraph(absl::Span<const std::string> args);
int RunDiff(absl::Span<const std::string> args);
int RunCheck(absl::Span<const std::string> args);
// `synmap web` serves these answers as a web page until SIGINT/SIGTERM (cmd_web.cc).
int RunWeb(absl::Span<const std::string> args);

inline constexpr char kSummarySummary[] = "connections per client, server and service (collector)";
inline constexpr char kNewSummary[] = "services first seen inside a window";
inline constexpr char kGoneSummary[] = "services seen before a window and silent in it";
inline constexpr char kSensorsSummary[] = "sensor health: last batch, drops, spool backlog";
inline constexpr char kHostsSummary[] = "inventory of local hosts";
inline constexpr char kServicesSummary[] = "inventory of services";
inline constexpr char kGraphSummary[] = "the service map drawn by Graphviz (svg, png, pdf, dot)";
inline constexpr char kDiffSummary[] =
    "rows that appeared, disappeared or changed between two windows";
inline constexpr char kCheckSummary[] =
    "compare live services with a baseline file (exit 1 if they differ)";
inline constexpr char kWebSummary[] =
    "the map, summary, new/gone services and sensors as a web page";
inline constexpr char kExportSummary[] =
    "allow-list of observed inbound services (nftables|iptables|csv|expect)";

}  // namespace synmap::cli
