#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cli/collector_client.h"
#include "cli/exit_codes.h"
#include "cli/flag_parser.h"
#include "cli/table_format.h"
#include "synmap/v1/query.grpc.pb.h"

namespace synmap::cli {

// What every query subcommand (cmd_*.cc) shares: the connection flags and --utc, parsing and
// --help, usage and failure messages, one deadline-bound call to the collector, and the
// time range of --since/--until. Each command adds its own flags to parser() before Parse().
// Thread-compatible; one per command invocation.
class QueryCommand {
 public:
  // `name` is the subcommand ("summary"); `usage` opens its --help text.
  QueryCommand(std::string name, std::string usage);
  QueryCommand(const QueryCommand&) = delete;
  QueryCommand& operator=(const QueryCommand&) = delete;

  FlagParser& parser() { return parser_; }
  // The zone of times read from flags and printed in text: local, or UTC with --utc.
  absl::TimeZone zone() const { return utc_ ? absl::UTCTimeZone() : absl::LocalTimeZone(); }

  // Parses `args`; returns an exit code when the command must stop (help printed, or a usage
  // error printed on stderr).
  std::optional<int> Parse(absl::Span<const std::string> args);

  // Prints "synmap NAME: message" and the --help hint on stderr; returns kExitUsage.
  int UsageError(absl::string_view message) const;
  // Prints "synmap NAME: message" on stderr; returns kExitFailure.
  int Fail(absl::string_view message) const;

  // Connects and runs `call(stub, context)` with the connection's deadline; on failure prints
  // one clear line and returns kExitFailure, else kExitOk.
  template <typename Call>
  int Run(Call call) {
    absl::StatusOr<CollectorConnection> conn = ConnectToCollector(conn_);
    if (!conn.ok()) {
      return Fail(conn.status().message());
    }
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + conn->timeout));
    grpc::Status status = call(*conn->stub, &context);
    if (!status.ok()) {
      return Fail(DescribeCallError(*conn, status));
    }
    return kExitOk;
  }

  // The connection settings Parse() read (for a command that keeps one connection open).
  const ConnectionFlags& connection_flags() const { return conn_; }

  // Resolves --since/--until into `range`; returns an exit code on a bad value.
  std::optional<int> FillRange(const std::string& since, const std::string& until,
                               synmap::v1::TimeRange* range) const;

 private:
  std::string name_;
  std::string usage_;
  FlagParser parser_;
  ConnectionFlags conn_;
  bool utc_ = false;
};

// --since/--until text (ParseTimeText, in `zone`, durations back from `now`) into `range`.
// InvalidArgument naming the flag, or when until is not later than since.
[[nodiscard]] absl::Status ParseTimeRange(const std::string& since, const std::string& until,
                                          absl::Time now, absl::TimeZone zone,
                                          synmap::v1::TimeRange* range);

// --top text into `out`, left unchanged when `text` is empty (0 = every row); InvalidArgument
// when it is not a whole number.
[[nodiscard]] absl::Status ParseTopText(const std::string& text, uint32_t* out);

// The filter flags: --sensor, --site, --server, --client (when `with_client`), --service.
struct FilterFlags {
  std::string sensor, site, server, client, service;
};
void AddFilterFlags(FlagParser& parser, FilterFlags* filters, bool with_client);
// Only --sensor and --site (for commands without host filters).
void AddSensorFilterFlags(FlagParser& parser, FilterFlags* filters);
void FillFilters(const FilterFlags& filters, synmap::v1::Filters* out);

// Inserts a "site" column at index `column` of `table`, holding `sites` (one per data row, in
// order; the first `header_rows` rows are a text header and get "SITE"), when some site is not
// empty: answers without sites keep the columns they always had. Returns whether it did.
bool InsertSiteColumn(Table* table, size_t column, const std::vector<std::string>& sites,
                      size_t header_rows = 0);

// --top N into `out`, left unchanged when `text` is empty (0 = every row); returns an exit
// code when `text` is not a whole number.
std::optional<int> ParseTop(const QueryCommand& cmd, const std::string& text, uint32_t* out);

// Prints `table` in `format` on stdout, `text_header` first in text form. json carries
// total_rows, truncated and the coverage; text, tsv and csv print the coverage footer on
// stderr, and say when --top cut the answer.
void PrintTable(const Table& table, OutputFormat format, const synmap::v1::Coverage& coverage,
                absl::TimeZone zone, const std::string& text_header = "");
// What PrintTable writes after the rows: in text, tsv and csv the coverage footer on stderr and,
// when --top cut the answer (`total_rows` > `rows`), how many rows are shown. Nothing for json.
void PrintFooter(OutputFormat format, const synmap::v1::Coverage& coverage, absl::TimeZone zone,
                 uint64_t rows, uint64_t total_rows);

// Help of the --format choice of the table commands.
inline constexpr char kTableFormatsHelp[] = "output format: text (default), tsv, csv or json";

}  // namespace synmap::cli
