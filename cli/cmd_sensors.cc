// `synmap sensors`: the health of every sensor the collector knows.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/coverage_format.h"
#include "cli/query_command.h"
#include "cli/query_commands.h"
#include "cli/query_tables.h"
#include "cli/sensor_overlap.h"
#include "cli/table_format.h"
#include "cli/time_text.h"

namespace synmap::cli {

namespace v1 = ::synmap::v1;

Table SensorsTable(const v1::SensorsResponse& resp, OutputFormat out_format, absl::TimeZone zone,
                   absl::Time now) {
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
      {.name = "overlap"},
      {.name = "cert_expires", .nullable = true},
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
    table.rows.push_back({"SENSOR", "STATE", "LAST BATCH", "SEQ", "BATCHES", "PACKETS", "SYNACKS",
                          "KDROPS", "IFDROPS", "MALFORMED", "BACKLOG", "LOST", "STATUS",
                          "OVERLAP (SKEW)", "CERT EXPIRES"});
    table.rows.back().resize(table.columns.size());  // The columns shown only in other formats.
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
                          SensorOverlapCell(s, text),
                          TimeCell(s.hello().certificate_not_after_unix_ns(), out_format, zone),
                          s.peer_address(),
                          absl::StrJoin(s.hello().interfaces(), ","),
                          s.hello().software_version(),
                          TimeCell(s.last_batch_end_unix_ns(), out_format, zone),
                          TimeCell(s.last_heartbeat_unix_ns(), out_format, zone),
                          absl::StrCat(s.health().batches_quarantined()),
                          absl::StrCat(s.health().batches_merged()),
                          absl::StrCat(h.batches_lost_write_failed()),
                          absl::StrCat(h.records_dropped() + h.records_lost_write_failed())});
  }
  // Each sensor's site, after its name ("-" in text for a sensor without one).
  std::vector<std::string> sites;
  for (const v1::SensorStatus& s : resp.sensors()) {
    sites.push_back(s.site());
  }
  if (InsertSiteColumn(&table, 1, sites, text ? 1 : 0) && text) {
    for (size_t r = 1; r < table.rows.size(); ++r) {
      if (table.rows[r][1].empty()) {
        table.rows[r][1] = "-";
      }
    }
  }
  return table;
}

int RunSensors(absl::Span<const std::string> args) {
  QueryCommand cmd("sensors",
                   "usage: synmap sensors [--format text|tsv|csv|json]\n\n"
                   "Health of every sensor the collector knows: connected now, last batch, totals\n"
                   "of packets and SYN/ACKs, kernel and interface drops, malformed packets, spool\n"
                   "backlog and spool losses. A sensor with drops or losses is marked.\n");
  std::string format = "text";
  cmd.parser().AddChoice("format", {"text", "tsv", "csv", "json"}, &format, kTableFormatsHelp);
  if (auto exit = cmd.Parse(args)) return *exit;
  v1::SensorsResponse resp;
  int rc = cmd.Run([&](v1::Query::Stub& stub, grpc::ClientContext* ctx) {
    return stub.Sensors(ctx, v1::SensorsRequest(), &resp);
  });
  if (rc != kExitOk) return rc;
  const OutputFormat out_format = *ParseOutputFormat(format);
  const Table table = SensorsTable(resp, out_format, cmd.zone(), absl::Now());
  PrintTable(table, out_format, resp.coverage(), cmd.zone());
  return kExitOk;
}

}  // namespace synmap::cli
