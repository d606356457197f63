#include "cli/query_commands.h"

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/collector_client.h"
#include "cli/coverage_format.h"
#include "cli/exit_codes.h"
#include "cli/export_rules.h"
#include "cli/flag_parser.h"
#include "cli/summary_rows.h"
#include "cli/table_format.h"
#include "cli/time_text.h"

namespace synmap::cli {
namespace {

namespace v1 = ::synmap::v1;

void WriteAll(FILE* stream, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stream);
}

// Flags and plumbing every query subcommand shares.
class QueryCommand {
 public:
  QueryCommand(std::string name, std::string usage)
      : name_(std::move(name)), usage_(std::move(usage)) {
    AddConnectionFlags(parser_, &conn_);
    parser_.AddBool("utc", &utc_, "read and print times in UTC instead of local time");
  }
  FlagParser& parser() { return parser_; }
  // The zone of times read from flags and printed in text: local, or UTC with --utc.
  absl::TimeZone zone() const { return utc_ ? absl::UTCTimeZone() : absl::LocalTimeZone(); }

  // Parses `args`; returns an exit code when the command must stop (help or usage error).
  std::optional<int> Parse(absl::Span<const std::string> args) {
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

  int UsageError(absl::string_view message) const {
    WriteAll(stderr,
             absl::StrCat("synmap ", name_, ": ", message, "\nTry 'synmap ", name_, " --help'.\n"));
    return kExitUsage;
  }

  int Fail(absl::string_view message) const {
    WriteAll(stderr, absl::StrCat("synmap ", name_, ": ", message, "\n"));
    return kExitFailure;
  }

  // Connects and runs `call` with a deadline; on failure prints one clear line.
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

  // Resolves --since/--until into `range`; returns an exit code on a bad value.
  std::optional<int> FillRange(const std::string& since, const std::string& until,
                               v1::TimeRange* range) const {
    const absl::Time now = absl::Now();
    absl::StatusOr<int64_t> s = ParseTimeText("since", since, now, zone());
    if (!s.ok()) {
      return UsageError(s.status().message());
    }
    absl::StatusOr<int64_t> u = ParseTimeText("until", until, now, zone());
    if (!u.ok()) {
      return UsageError(u.status().message());
    }
    if (*s != 0 && *u != 0 && *u <= *s) {
      return UsageError("--until must be later than --since");
    }
    range->set_since_unix_ns(*s);
    range->set_until_unix_ns(*u);
    return std::nullopt;
  }

 private:
  std::string name_;
  std::string usage_;
  FlagParser parser_;
  ConnectionFlags conn_;
  bool utc_ = false;
};

struct FilterFlags {
  std::string sensor, server, client, service;
};

void AddFilterFlags(FlagParser& p, FilterFlags* f, bool with_client) {
  p.AddString("sensor", "NAME", &f->sensor, "only data from this sensor");
  p.AddString("server", "X", &f->server, "server name, IP, CIDR or _ (any non-local)");
  if (with_client) {
    p.AddString("client", "X", &f->client, "client name, IP, CIDR or _ (any non-local)");
  }
  p.AddString("service", "X", &f->service, "service name (ssh, up:8443) or port number");
}

void FillFilters(const FilterFlags& f, v1::Filters* out) {
  out->set_sensor(f.sensor);
  out->set_server(f.server);
  out->set_client(f.client);
  out->set_service(f.service);
}

// --top N: 0 or absent means every row, except that text output of `summary` defaults to
// `text_default` rows (and says "showing N of M").
std::optional<int> ParseTop(const QueryCommand& cmd, const std::string& text, uint32_t* out) {
  if (text.empty()) {
    return std::nullopt;
  }
  if (!absl::SimpleAtoi(text, out)) {
    return cmd.UsageError(absl::StrCat("--top: '", text, "' is not a whole number (0 = all)"));
  }
  return std::nullopt;
}

// Prints `table` in `format` on stdout. json carries total_rows, truncated and the coverage;
// text, tsv and csv print the coverage footer on stderr, and say when --top cut the answer.
void PrintTable(const Table& table, OutputFormat format, const v1::Coverage& coverage,
                absl::TimeZone zone, const std::string& text_header = "") {
  std::string out = format == OutputFormat::kText ? text_header : "";
  AppendTable(
      table, format, [&](std::string* o) { AppendCoverageJson(coverage, o); }, &out);
  WriteAll(stdout, out);
  std::fflush(stdout);
  if (format == OutputFormat::kJson) {
    return;
  }
  std::string err = CoverageFooter(coverage, absl::Now(), zone);
  if (table.Truncated()) {
    absl::StrAppend(&err, "showing ", table.rows.size(), " of ", table.TotalRows(),
                    " rows (--top N to change, --top 0 for all)\n");
  }
  WriteAll(stderr, err);
}

// A time cell: "2026-12-02 13:13:28" in text, RFC 3339 in machine formats ("" = null).
std::string TimeCell(int64_t ns, OutputFormat format, absl::TimeZone zone) {
  if (format == OutputFormat::kText) {
    return FormatTextTime(ns, zone);
  }
  return FormatMachineTime(ns);
}

std::string PortCell(uint32_t port) { return port == 0 ? "" : absl::StrCat(port); }

// Summary text shows the largest rows first and stops here unless --top says otherwise.
constexpr uint32_t kTextDefaultTop = 1000;

constexpr char kFormats[] = "output format: text (default), tsv, csv or json";

}  // namespace

int RunSummary(absl::Span<const std::string> args) {
  QueryCommand cmd("summary",
                   "usage: synmap summary [--since T] [--until T] [--sensor N] [--server X]\n"
                   "                      [--client X] [--service X] [--top N] [--show-remote]\n"
                   "                      [--by-sensor] [--count connections|packets]\n"
                   "                      [--format text|tsv|csv|json]\n\n"
                   "Connections per client, server and service as stored by the collector, named\n"
                   "with the collector's names file. Without --since/--until: all stored data.\n"
                   "The coverage footer (stderr) says which sensors reported and what was lost.\n");
  std::string since, until, top, count = "connections", format = "text";
  bool show_remote = false, by_sensor = false;
  FilterFlags filters;
  FlagParser& p = cmd.parser();
  p.AddString("since", "TIME", &since, "start of the window (e.g. 24h, '7d ago', 2026-12-02)");
  p.AddString("until", "TIME", &until, "end of the window (exclusive)");
  AddFilterFlags(p, &filters, /*with_client=*/true);
  p.AddString("top", "N", &top, "at most N rows, largest first (default: all; text 1000)");
  p.AddBool("show-remote", &show_remote, "show non-local hosts' IPs instead of _");
  p.AddBool("by-sensor", &by_sensor, "keep each sensor's rows apart (adds a sensor column)");
  p.AddChoice("count", {"connections", "packets"}, &count, "what to count");
  p.AddChoice("format", {"text", "tsv", "csv", "json"}, &format, kFormats);
  if (auto exit = cmd.Parse(args)) return *exit;
  v1::SummaryRequest req;
  if (auto exit = cmd.FillRange(since, until, req.mutable_range())) return *exit;
  uint32_t top_n = format == "text" ? kTextDefaultTop : 0;
  if (auto exit = ParseTop(cmd, top, &top_n)) return *exit;
  req.set_top_n(top_n);
  FillFilters(filters, req.mutable_filters());
  req.set_show_remote(show_remote);
  req.set_by_sensor(by_sensor);
  const bool packets = count == "packets";
  req.set_count(packets ? v1::COUNT_KIND_PACKETS : v1::COUNT_KIND_CONNECTIONS);

  v1::SummaryResponse resp;
  int rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
    return stub.Summary(ctx, req, &resp);
  });
  if (rc != kExitOk) return rc;

  const OutputFormat out_format = *ParseOutputFormat(format);
  Table table;
  table.total_rows = resp.total_rows();
  table.columns = {
      {.name = "count", .numeric = true, .right_align = true, .min_width = 7},
      {.name = "client", .min_width = 15},
      {.name = "server", .min_width = 21},
      {.name = "service", .right_align = !by_sensor},
      {.name = "sensor", .in_text = by_sensor},
      {.name = "server_port", .numeric = true, .in_text = false},
      {.name = "server_ip", .in_text = false},
      {.name = "client_ip", .in_text = false},
      {.name = "packets", .numeric = true, .in_text = false},
      {.name = "connections", .numeric = true, .in_text = false},
      {.name = "first_seen", .nullable = true, .in_text = false},
      {.name = "last_seen", .nullable = true, .in_text = false},
  };
  for (const v1::SummaryRow& r : resp.rows()) {
    table.rows.push_back({absl::StrCat(r.count()), r.client(), r.server(), r.service(), r.sensor(),
                          PortCell(r.server_port()), r.server_ip(), r.client_ip(),
                          absl::StrCat(r.packets()), absl::StrCat(r.connections()),
                          TimeCell(r.first_seen_unix_ns(), out_format, cmd.zone()),
                          TimeCell(r.last_seen_unix_ns(), out_format, cmd.zone())});
  }
  if (!by_sensor) {
    // DESIGN.md: json rows carry a sensor key only with --by-sensor.
    constexpr size_t kSensorColumn = 4;
    table.columns.erase(table.columns.begin() + kSensorColumn);
    for (std::vector<std::string>& row : table.rows) {
      row.erase(row.begin() + kSensorColumn);
    }
  }
  PrintTable(table, out_format, resp.coverage(), cmd.zone());
  return kExitOk;
}

namespace {

// new and gone share flags and output: a list of (server, service) sightings.
int RunSightings(absl::Span<const std::string> args, bool gone) {
  const std::string name = gone ? "gone" : "new";
  QueryCommand cmd(
      name, gone ? "usage: synmap gone [--since 30d] [--until T] [--sensor N] [--server X]\n"
                   "                   [--service X] [--show-remote] [--top N] [--format ..]\n\n"
                   "Services (server, service) seen before the window and silent inside it.\n"
                 : "usage: synmap new [--since 24h] [--until T] [--sensor N] [--server X]\n"
                   "                  [--service X] [--show-remote] [--top N] [--format ..]\n\n"
                   "Services (server, service) whose first SYN/ACK ever stored is inside the "
                   "window.\n");
  std::string since = gone ? "30d" : "24h", until, top, format = "text";
  bool show_remote = false;
  FilterFlags filters;
  FlagParser& p = cmd.parser();
  p.AddString("since", "TIME", &since,
              gone ? "start of the silent window (default 30d)" : "window start (default 24h)");
  p.AddString("until", "TIME", &until, "end of the window (default now)");
  AddFilterFlags(p, &filters, /*with_client=*/false);
  p.AddBool("show-remote", &show_remote, "show non-local servers by IP instead of _");
  p.AddString("top", "N", &top, "at most N rows (default all)");
  p.AddChoice("format", {"text", "tsv", "csv", "json"}, &format, kFormats);
  if (auto exit = cmd.Parse(args)) return *exit;
  if (since.empty()) return cmd.UsageError("--since is required");
  const OutputFormat out_format = *ParseOutputFormat(format);
  v1::TimeRange range;
  if (auto exit = cmd.FillRange(since, until, &range)) return *exit;
  uint32_t top_n = 0;
  if (auto exit = ParseTop(cmd, top, &top_n)) return *exit;

  google::protobuf::RepeatedPtrField<v1::ServiceSighting> rows;
  v1::Coverage coverage;
  uint64_t total_rows = 0;
  int rc;
  if (gone) {
    v1::GoneServicesRequest req;
    *req.mutable_range() = range;
    FillFilters(filters, req.mutable_filters());
    req.set_show_remote(show_remote);
    req.set_top_n(top_n);
    v1::GoneServicesResponse resp;
    rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
      return stub.GoneServices(ctx, req, &resp);
    });
    rows = resp.rows();
    coverage = resp.coverage();
    total_rows = resp.total_rows();
  } else {
    v1::NewServicesRequest req;
    *req.mutable_range() = range;
    FillFilters(filters, req.mutable_filters());
    req.set_show_remote(show_remote);
    req.set_top_n(top_n);
    v1::NewServicesResponse resp;
    rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
      return stub.NewServices(ctx, req, &resp);
    });
    rows = resp.rows();
    coverage = resp.coverage();
    total_rows = resp.total_rows();
  }
  if (rc != kExitOk) return rc;
  Table table;
  table.total_rows = total_rows;
  table.columns = {
      {.name = gone ? "last_seen" : "first_seen", .nullable = true},
      {.name = "server", .min_width = 15},
      {.name = "service", .min_width = 10},
      {.name = "connections", .numeric = true, .right_align = true},
      {.name = "clients", .numeric = true, .right_align = true},
      {.name = gone ? "first_seen" : "last_seen", .nullable = true, .in_text = false},
      {.name = "server_port", .numeric = true, .in_text = false},
      {.name = "server_ip", .in_text = false},
      {.name = "packets", .numeric = true, .in_text = false},
  };
  for (const v1::ServiceSighting& r : rows) {
    const int64_t shown = gone ? r.last_seen_unix_ns() : r.first_seen_unix_ns();
    const int64_t other = gone ? r.first_seen_unix_ns() : r.last_seen_unix_ns();
    table.rows.push_back({TimeCell(shown, out_format, cmd.zone()), r.server(), r.service(),
                          absl::StrCat(r.connections()), absl::StrCat(r.clients()),
                          TimeCell(other, out_format, cmd.zone()), PortCell(r.server_port()),
                          r.server_ip(), absl::StrCat(r.packets())});
  }
  PrintTable(table, out_format, coverage, cmd.zone(),
             format == "text" ? absl::StrCat(gone ? "# last seen" : "# first seen",
                                             "  server  service  connections  clients\n")
                              : "");
  return kExitOk;
}

}  // namespace

int RunNew(absl::Span<const std::string> args) { return RunSightings(args, /*gone=*/false); }
int RunGone(absl::Span<const std::string> args) { return RunSightings(args, /*gone=*/true); }

int RunSensors(absl::Span<const std::string> args) {
  QueryCommand cmd("sensors",
                   "usage: synmap sensors [--format text|tsv|csv|json]\n\n"
                   "Health of every sensor the collector knows: connected now, last batch, totals\n"
                   "of packets and SYN/ACKs, kernel and interface drops, malformed packets, spool\n"
                   "backlog and spool losses. A sensor with drops or losses is marked.\n");
  std::string format = "text";
  cmd.parser().AddChoice("format", {"text", "tsv", "csv", "json"}, &format, kFormats);
  if (auto exit = cmd.Parse(args)) return *exit;
  v1::SensorsResponse resp;
  int rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
    return stub.Sensors(ctx, v1::SensorsRequest(), &resp);
  });
  if (rc != kExitOk) return rc;
  const absl::Time now = absl::Now();
  const OutputFormat out_format = *ParseOutputFormat(format);
  const bool text = out_format == OutputFormat::kText;
  Table table;
  table.columns = {
      {.name = "sensor"},
      {.name = "state"},
      {.name = "last_batch", .nullable = true},
      {.name = "last_seq", .numeric = true, .right_align = true},
      {.name = "batches", .numeric = true, .right_align = true},
      {.name = "packets", .numeric = true, .right_align = true},
      {.name = "synacks", .numeric = true, .right_align = true},
      {.name = "kernel_drops", .numeric = true, .right_align = true},
      {.name = "interface_drops", .numeric = true, .right_align = true},
      {.name = "malformed", .numeric = true, .right_align = true},
      {.name = "spool_backlog", .numeric = true, .right_align = true},
      {.name = "spool_dropped", .numeric = true, .right_align = true},
      {.name = "status"},
      {.name = "peer", .in_text = false},
      {.name = "interfaces", .in_text = false},
      {.name = "software", .in_text = false},
      {.name = "last_batch_time", .nullable = true, .in_text = false},
      {.name = "last_heartbeat", .nullable = true, .in_text = false},
      {.name = "quarantined", .numeric = true, .in_text = false},
      {.name = "merged", .numeric = true, .in_text = false},
      {.name = "lost_write_failed", .numeric = true, .in_text = false},
      {.name = "records_lost", .numeric = true, .in_text = false},
  };
  if (text) {
    table.rows.push_back({"SENSOR",  "STATE",  "LAST BATCH", "SEQ",       "BATCHES", "PACKETS",
                          "SYNACKS", "KDROPS", "IFDROPS",    "MALFORMED", "BACKLOG", "LOST",
                          "STATUS",  "",       "",           "",          "",        "",
                          "",        "",       "",           ""});
  }
  for (const v1::SensorStatus& s : resp.sensors()) {
    std::vector<std::string> problems;
    if (s.kernel_drops() + s.interface_drops() > 0) problems.push_back("dropping packets");
    // Every batch the sensor lost: dropped at the spool cap, never written, quarantined.
    const v1::SensorHealth& h = s.health();
    const uint64_t lost =
        h.batches_dropped() + h.batches_lost_write_failed() + h.batches_quarantined();
    if (lost > 0) problems.push_back("lost data");
    if (!s.connected()) problems.push_back("not connected");
    if (s.health().spool_batches() > 0) problems.push_back("backlog");
    table.rows.push_back({s.name(),
                          s.connected() ? "connected" : "disconnected",
                          text ? FormatAgo(s.last_batch_commit_unix_ns(), now)
                               : FormatMachineTime(s.last_batch_commit_unix_ns()),
                          absl::StrCat(s.last_seq()),
                          absl::StrCat(s.batches()),
                          absl::StrCat(s.packets_received()),
                          absl::StrCat(s.synacks()),
                          absl::StrCat(s.kernel_drops()),
                          absl::StrCat(s.interface_drops()),
                          absl::StrCat(s.malformed()),
                          absl::StrCat(s.health().spool_batches()),
                          absl::StrCat(text ? lost : h.batches_dropped()),
                          problems.empty() ? "ok" : absl::StrJoin(problems, ","),
                          s.peer_address(),
                          absl::StrJoin(s.hello().interfaces(), ","),
                          s.hello().software_version(),
                          TimeCell(s.last_batch_end_unix_ns(), out_format, cmd.zone()),
                          TimeCell(s.last_heartbeat_unix_ns(), out_format, cmd.zone()),
                          absl::StrCat(s.health().batches_quarantined()),
                          absl::StrCat(s.health().batches_merged()),
                          absl::StrCat(h.batches_lost_write_failed()),
                          absl::StrCat(h.records_dropped() + h.records_lost_write_failed())});
  }
  PrintTable(table, out_format, resp.coverage(), cmd.zone());
  return kExitOk;
}

int RunHosts(absl::Span<const std::string> args) {
  QueryCommand cmd("hosts",
                   "usage: synmap hosts [--since T] [--until T] [--sensor N] [--server X]\n"
                   "                    [--top N] [--format text|tsv|csv|json]\n\n"
                   "Local hosts seen as servers or clients: the services they offer and how many\n"
                   "connections they served and made.\n");
  std::string since, until, top, format = "text";
  FilterFlags filters;
  FlagParser& p = cmd.parser();
  p.AddString("since", "TIME", &since, "start of the window");
  p.AddString("until", "TIME", &until, "end of the window");
  AddFilterFlags(p, &filters, /*with_client=*/true);
  p.AddString("top", "N", &top, "at most N rows (default all)");
  p.AddChoice("format", {"text", "tsv", "csv", "json"}, &format, kFormats);
  if (auto exit = cmd.Parse(args)) return *exit;
  v1::HostsRequest req;
  if (auto exit = cmd.FillRange(since, until, req.mutable_range())) return *exit;
  uint32_t top_n = 0;
  if (auto exit = ParseTop(cmd, top, &top_n)) return *exit;
  req.set_top_n(top_n);
  FillFilters(filters, req.mutable_filters());
  v1::HostsResponse resp;
  int rc = cmd.Run(
      [&](v1::Query::Stub& stub, grpc::ClientContext* ctx) { return stub.Hosts(ctx, req, &resp); });
  if (rc != kExitOk) return rc;
  const OutputFormat out_format = *ParseOutputFormat(format);
  Table table;
  table.total_rows = resp.total_rows();
  table.columns = {
      {.name = "name", .min_width = 15},
      {.name = "ip", .min_width = 15},
      {.name = "served", .numeric = true, .right_align = true},
      {.name = "made", .numeric = true, .right_align = true},
      {.name = "services"},
      {.name = "first_seen", .nullable = true, .in_text = false},
      {.name = "last_seen", .nullable = true, .in_text = false},
  };
  for (const v1::HostRow& r : resp.rows()) {
    table.rows.push_back({r.name(), r.ip(), absl::StrCat(r.connections_as_server()),
                          absl::StrCat(r.connections_as_client()), absl::StrJoin(r.services(), ","),
                          TimeCell(r.first_seen_unix_ns(), out_format, cmd.zone()),
                          TimeCell(r.last_seen_unix_ns(), out_format, cmd.zone())});
  }
  PrintTable(table, out_format, resp.coverage(), cmd.zone(),
             format == "text" ? "# name  ip  connections served  made  services offered\n" : "");
  return kExitOk;
}

int RunServices(absl::Span<const std::string> args) {
  QueryCommand cmd("services",
                   "usage: synmap services [--since T] [--until T] [--sensor N] [--server X]\n"
                   "                       [--service X] [--local] [--top N] [--format ..]\n\n"
                   "Services seen: how many servers offer each, how many clients use it.\n");
  std::string since, until, top, format = "text";
  bool local = false;
  FilterFlags filters;
  FlagParser& p = cmd.parser();
  p.AddString("since", "TIME", &since, "start of the window");
  p.AddString("until", "TIME", &until, "end of the window");
  AddFilterFlags(p, &filters, /*with_client=*/true);
  p.AddBool("local", &local, "count only servers on local networks");
  p.AddString("top", "N", &top, "at most N rows (default all)");
  p.AddChoice("format", {"text", "tsv", "csv", "json"}, &format, kFormats);
  if (auto exit = cmd.Parse(args)) return *exit;
  v1::ServicesRequest req;
  if (auto exit = cmd.FillRange(since, until, req.mutable_range())) return *exit;
  uint32_t top_n = 0;
  if (auto exit = ParseTop(cmd, top, &top_n)) return *exit;
  req.set_top_n(top_n);
  req.set_local_servers_only(local);
  FillFilters(filters, req.mutable_filters());
  v1::ServicesResponse resp;
  int rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
    return stub.Services(ctx, req, &resp);
  });
  if (rc != kExitOk) return rc;
  const OutputFormat out_format = *ParseOutputFormat(format);
  Table table;
  table.total_rows = resp.total_rows();
  table.columns = {
      {.name = "service", .min_width = 12},
      {.name = "port", .numeric = true, .right_align = true},
      {.name = "servers", .numeric = true, .right_align = true},
      {.name = "clients", .numeric = true, .right_align = true},
      {.name = "connections", .numeric = true, .right_align = true},
      {.name = "packets", .numeric = true, .in_text = false},
      {.name = "first_seen", .nullable = true, .in_text = false},
      {.name = "last_seen", .nullable = true, .in_text = false},
  };
  for (const v1::ServiceRow& r : resp.rows()) {
    table.rows.push_back({r.service(), PortCell(r.port()), absl::StrCat(r.servers()),
                          absl::StrCat(r.clients()), absl::StrCat(r.connections()),
                          absl::StrCat(r.packets()),
                          TimeCell(r.first_seen_unix_ns(), out_format, cmd.zone()),
                          TimeCell(r.last_seen_unix_ns(), out_format, cmd.zone())});
  }
  PrintTable(table, out_format, resp.coverage(), cmd.zone(),
             format == "text" ? "# service  port  servers  clients  connections\n" : "");
  return kExitOk;
}

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

int RunExport(absl::Span<const std::string> args) {
  QueryCommand cmd(
      "export",
      "usage: synmap export [--format nftables|iptables|ip6tables|csv]\n"
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
      "what should not have been there.\n");
  std::string format = "nftables", since, until, min_text = "1", nft_table_text = "inet filter";
  bool allow_empty = false;
  FilterFlags filters;
  FlagParser& p = cmd.parser();
  p.AddChoice("format", {"nftables", "iptables", "ip6tables", "csv"}, &format,
              "nftables (default), iptables (IPv4), ip6tables (IPv6) or csv");
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
  if (!allow_empty && resp.coverage().sensors_size() == 0) {
    return cmd.Fail(
        "no sensor reported in this window, so there is nothing to allow; an empty allow-list "
        "would block every service (choose a window with data, or --allow-empty)");
  }
  const size_t rules = RuleCount(resp, format, *nft_table);
  if (!allow_empty && rules == 0) {
    return cmd.Fail(absl::StrCat(
        "no service qualifies (", resp.rows_size(), " row(s) in the window, none for ", format,
        format == "nftables" ? absl::StrCat(" table ", nft_table->family, " ", nft_table->name)
                             : "",
        "); an empty allow-list would block every service (lower --min-connections, widen the "
        "window, or --allow-empty)"));
  }
  std::string out;
  size_t omitted = 0;
  if (format == "nftables") {
    out = RenderNftables(resp, *nft_table, min_connections, &omitted);
  } else if (format == "iptables" || format == "ip6tables") {
    out = RenderIptables(resp, format == "ip6tables", min_connections, &omitted);
  } else {
    Table table;
    table.columns = {{.name = "server_ip"},   {.name = "port"},    {.name = "protocol"},
                     {.name = "connections"}, {.name = "clients"}, {.name = "server"},
                     {.name = "service"}};
    for (const v1::ExportRow& r : resp.rows()) {
      table.rows.push_back({r.server_ip(), absl::StrCat(r.port()), r.protocol(),
                            absl::StrCat(r.connections()), absl::StrCat(r.clients()), r.server(),
                            r.service()});
    }
    AppendCsv(table, &out);
  }
  WriteAll(stdout, out);
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
