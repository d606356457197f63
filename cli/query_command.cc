#include "cli/query_command.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/coverage_format.h"
#include "cli/time_text.h"

namespace synmap::cli {

namespace v1 = ::synmap::v1;

QueryCommand::QueryCommand(std::string name, std::string usage)
    : name_(std::move(name)), usage_(std::move(usage)) {
  AddConnectionFlags(parser_, &conn_);
  parser_.AddBool("utc", &utc_, "read and print times in UTC instead of local time");
}

std::optional<int> QueryCommand::Parse(absl::Span<const std::string> args) {
  std::vector<std::string> positional;
  if (absl::Status s = parser_.Parse(args, &positional); !s.ok()) {
    return UsageError(s.message());
  }
  if (parser_.help()) {
    WriteAll(stdout, absl::StrCat(usage_, "\nflags:\n", parser_.Usage(), "\n", kConnectionHelp,
                                  TimeHelp(), kExitCodeHelp));
    return kExitOk;
  }
  if (!positional.empty()) {
    return UsageError(absl::StrCat("unexpected argument '", positional.front(), "'"));
  }
  return std::nullopt;
}

int QueryCommand::UsageError(absl::string_view message) const {
  WriteAll(stderr,
           absl::StrCat("synmap ", name_, ": ", message, "\nTry 'synmap ", name_, " --help'.\n"));
  return kExitUsage;
}

int QueryCommand::Fail(absl::string_view message) const {
  WriteAll(stderr, absl::StrCat("synmap ", name_, ": ", message, "\n"));
  return kExitFailure;
}

std::optional<int> QueryCommand::FillRange(const std::string& since, const std::string& until,
                                           v1::TimeRange* range) const {
  if (absl::Status s = ParseTimeRange(since, until, absl::Now(), zone(), range); !s.ok()) {
    return UsageError(s.message());
  }
  return std::nullopt;
}

absl::Status ParseTimeRange(const std::string& since, const std::string& until, absl::Time now,
                            absl::TimeZone zone, v1::TimeRange* range) {
  absl::StatusOr<int64_t> s = ParseTimeText("since", since, now, zone);
  if (!s.ok()) {
    return s.status();
  }
  absl::StatusOr<int64_t> u = ParseTimeText("until", until, now, zone);
  if (!u.ok()) {
    return u.status();
  }
  if (*s != 0 && *u != 0 && *u <= *s) {
    return absl::InvalidArgumentError("--until must be later than --since");
  }
  range->set_since_unix_ns(*s);
  range->set_until_unix_ns(*u);
  return absl::OkStatus();
}

void AddSensorFilterFlags(FlagParser& parser, FilterFlags* filters) {
  parser.AddString("sensor", "NAME", &filters->sensor, "only data from this sensor");
  parser.AddString("site", "NAME", &filters->site, "only data from the sensors of this site");
}

void AddFilterFlags(FlagParser& parser, FilterFlags* filters, bool with_client) {
  AddSensorFilterFlags(parser, filters);
  parser.AddString("server", "X", &filters->server, "server name, IP, CIDR or _ (any non-local)");
  if (with_client) {
    parser.AddString("client", "X", &filters->client, "client name, IP, CIDR or _ (any non-local)");
  }
  parser.AddString("service", "X", &filters->service, "service name (ssh, up:8443) or port number");
}

void FillFilters(const FilterFlags& filters, v1::Filters* out) {
  out->set_sensor(filters.sensor);
  out->set_site(filters.site);
  out->set_server(filters.server);
  out->set_client(filters.client);
  out->set_service(filters.service);
}

bool InsertSiteColumn(Table* table, size_t column, const std::vector<std::string>& sites,
                      size_t header_rows) {
  if (std::all_of(sites.begin(), sites.end(), [](const std::string& s) { return s.empty(); })) {
    return false;
  }
  table->columns.insert(table->columns.begin() + static_cast<std::ptrdiff_t>(column),
                        TableColumn{.name = "site"});
  for (size_t r = 0; r < table->rows.size(); ++r) {
    std::vector<std::string>& cells = table->rows[r];
    cells.insert(cells.begin() + static_cast<std::ptrdiff_t>(column),
                 r < header_rows ? std::string("SITE") : sites[r - header_rows]);
  }
  return true;
}

std::optional<int> ParseTop(const QueryCommand& cmd, const std::string& text, uint32_t* out) {
  if (absl::Status s = ParseTopText(text, out); !s.ok()) {
    return cmd.UsageError(s.message());
  }
  return std::nullopt;
}

absl::Status ParseTopText(const std::string& text, uint32_t* out) {
  if (!text.empty() && !absl::SimpleAtoi(text, out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--top: '", text, "' is not a whole number (0 = all)"));
  }
  return absl::OkStatus();
}

void PrintTable(const Table& table, OutputFormat format, const v1::Coverage& coverage,
                absl::TimeZone zone, const std::string& text_header) {
  std::string out = format == OutputFormat::kText ? text_header : "";
  AppendTable(
      table, format, [&](std::string* o) { AppendCoverageJson(coverage, o); }, &out);
  WriteAll(stdout, out);
  std::fflush(stdout);
  PrintFooter(format, coverage, zone, table.rows.size(), table.TotalRows());
}

void PrintFooter(OutputFormat format, const v1::Coverage& coverage, absl::TimeZone zone,
                 uint64_t rows, uint64_t total_rows) {
  if (format == OutputFormat::kJson) {
    return;
  }
  std::string err = CoverageFooter(coverage, absl::Now(), zone);
  if (total_rows > rows) {
    absl::StrAppend(&err, "showing ", rows, " of ", total_rows,
                    " rows (--top N to change, --top 0 for all)\n");
  }
  WriteAll(stderr, err);
}

}  // namespace synmap::cli
