#include "cli/coverage_format.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/summary_rows.h"
#include "cli/table_format.h"
#include "cli/time_text.h"

namespace synmap::cli {

std::string FormatTime(int64_t unix_ns) {
  return unix_ns == 0 ? std::string("-") : FormatMachineTime(unix_ns);
}

std::string FormatAgo(int64_t unix_ns, absl::Time now) {
  if (unix_ns == 0) {
    return "never";
  }
  const absl::Duration d = now - absl::FromUnixNanos(unix_ns);
  if (d < absl::ZeroDuration()) {
    return "in the future";
  }
  if (d < absl::Minutes(2)) {
    return absl::StrCat(absl::ToInt64Seconds(d), "s ago");
  }
  if (d < absl::Hours(2)) {
    return absl::StrCat(absl::ToInt64Minutes(d), "m ago");
  }
  if (d < absl::Hours(48)) {
    return absl::StrCat(absl::ToInt64Hours(d), "h ago");
  }
  return absl::StrCat(absl::ToInt64Hours(d) / 24, "d ago");
}

namespace {

// How far a collector sharing its database may be behind the others before answers say so
// (it follows them every second).
constexpr absl::Duration kStoreSyncSlack = absl::Seconds(10);

// "1m", "1h", "1d", else seconds ("90s").
std::string ResolutionText(int64_t seconds) {
  if (seconds > 0 && seconds % 86400 == 0) {
    return absl::StrCat(seconds / 86400, "d");
  }
  if (seconds > 0 && seconds % 3600 == 0) {
    return absl::StrCat(seconds / 3600, "h");
  }
  if (seconds > 0 && seconds % 60 == 0) {
    return absl::StrCat(seconds / 60, "m");
  }
  return absl::StrCat(seconds, "s");
}

// The window line, when an edge of the asked window fell inside a bucket and was widened.
std::string WidenedLine(const synmap::v1::Coverage& c, absl::TimeZone zone) {
  const synmap::v1::TimeRange& asked = c.requested();
  const synmap::v1::TimeRange& answered = c.answered();
  if (asked.since_unix_ns() == answered.since_unix_ns() &&
      asked.until_unix_ns() == answered.until_unix_ns()) {
    return "";
  }
  auto edge = [&](int64_t ns, const char* open) {
    return ns == 0 ? std::string(open) : FormatTextTime(ns, zone);
  };
  return absl::StrCat(
      "window widened to bucket edges: asked ", edge(asked.since_unix_ns(), "oldest"), " to ",
      edge(asked.until_unix_ns(), "now"), ", answered ", edge(answered.since_unix_ns(), "oldest"),
      " to ", edge(answered.until_unix_ns(), "now"), " (resolution ",
      ResolutionText(c.resolution_seconds()), ")\n");
}

// The database line, when the collector's database was not answering or (shared by several
// collectors) this collector is behind the others' commits.
std::string StoreLine(const synmap::v1::Coverage& c, absl::Time now, absl::TimeZone zone) {
  if (!c.has_store()) {
    return "";
  }
  const synmap::v1::StoreStatus& s = c.store();
  const bool shared = s.synced_unix_ns() != 0;
  if (!s.available()) {
    return absl::StrCat("store: the collector's ", s.backend(), " database is UNAVAILABLE since ",
                        FormatTextTime(s.unavailable_since_unix_ns(), zone), " (", s.problem(),
                        "); batches are refused and wait in the sensors' spools",
                        shared ? absl::StrCat("; batches committed at other collectors after ",
                                              FormatTextTime(s.synced_unix_ns(), zone),
                                              " are missing from this answer")
                               : std::string(),
                        "\n");
  }
  if (shared && now - absl::FromUnixNanos(s.synced_unix_ns()) > kStoreSyncSlack) {
    return absl::StrCat("store: batches committed at other collectors after ",
                        FormatTextTime(s.synced_unix_ns(), zone), " (",
                        FormatAgo(s.synced_unix_ns(), now),
                        ") are not yet in this collector's answer\n");
  }
  return "";
}

}  // namespace

std::string SensorLosses(const synmap::v1::SensorCoverage& s) {
  std::string losses;
  auto add = [&losses](uint64_t n, absl::string_view what) {
    if (n > 0) {
      absl::StrAppend(&losses, losses.empty() ? "" : ", ", n, " ", what);
    }
  };
  add(s.kernel_drops(), "kernel drops");
  add(s.interface_drops(), "interface drops");
  add(s.malformed(), "malformed");
  add(s.spool_batches_dropped(), "batches lost in spool");
  add(s.spool_records_dropped(), "records lost in spool");
  add(s.handshakes_evicted(), "handshakes evicted");
  return losses;
}

std::string CoverageFooter(const synmap::v1::Coverage& c, absl::Time now, absl::TimeZone zone) {
  std::string out = StoreLine(c, now, zone) + WidenedLine(c, zone);
  if (c.sensors_size() == 0) {
    return out +
           "coverage: no sensor reported in this window; the answer is empty, not proof of "
           "silence\n";
  }
  absl::StrAppend(&out, "coverage: ", c.sensors_size(), " sensor(s), ", c.batches(), " batch(es), ",
                  c.covered_since_unix_ns() == 0 && c.covered_until_unix_ns() == 0
                      ? std::string("all stored data")
                      : absl::StrCat("data from ", FormatTextTime(c.covered_since_unix_ns(), zone),
                                     " to ", FormatTextTime(c.covered_until_unix_ns(), zone)),
                  " (times in ", ZoneText(zone, now), ")\n");
  for (const synmap::v1::SensorCoverage& s : c.sensors()) {
    absl::StrAppend(&out, "  ", s.sensor(), ": ", s.batches(), " batch(es), last seq ",
                    s.last_batch_seq(), " ending ",
                    FormatTextTime(s.last_batch_end_unix_ns(), zone), " (committed ",
                    FormatAgo(s.last_commit_unix_ns(), now), ")");
    const std::string losses = SensorLosses(s);
    absl::StrAppend(
        &out, losses.empty() ? "; nothing lost" : absl::StrCat("; INCOMPLETE: ", losses), "\n");
  }
  if (c.overlap_undeduplicated() > 0) {
    absl::StrAppend(&out, "overlap: ", c.overlap_undeduplicated(),
                    " handshake(s) counted without deduplication since the collector started "
                    "(they arrived after what they could match at another sensor was forgotten: "
                    "--overlap-horizon, --overlap-memory-mb); merged counts may hold them twice\n");
  }
  return out;
}

void AppendCoverageJson(const synmap::v1::Coverage& c, std::string* out) {
  auto time_or_null = [](int64_t ns) {
    if (ns == 0) {
      return std::string("null");
    }
    std::string s;
    AppendJsonString(FormatMachineTime(ns), &s);
    return s;
  };
  absl::StrAppend(
      out, "{\"since\": ", time_or_null(c.requested().since_unix_ns()),
      ", \"until\": ", time_or_null(c.requested().until_unix_ns()),
      ", \"covered_since\": ", time_or_null(c.covered_since_unix_ns()),
      ", \"covered_until\": ", time_or_null(c.covered_until_unix_ns()),
      ", \"answered_since\": ", time_or_null(c.answered().since_unix_ns()),
      ", \"answered_until\": ", time_or_null(c.answered().until_unix_ns()),
      ", \"resolution_seconds\": ", c.resolution_seconds(),
      ", \"bucket_seconds\": ", c.bucket_ns() / 1000000000, ", \"batches\": ", c.batches(),
      ", \"kernel_drops\": ", c.kernel_drops(), ", \"interface_drops\": ", c.interface_drops(),
      ", \"malformed\": ", c.malformed(), ", \"handshakes_evicted\": ", c.handshakes_evicted(),
      ", \"spool_batches_dropped\": ", c.spool_batches_dropped(),
      ", \"spool_records_dropped\": ", c.spool_records_dropped(),
      ", \"overlap_undeduplicated\": ", c.overlap_undeduplicated(), ", \"store\": ");
  const synmap::v1::StoreStatus& store = c.store();
  out->append("{\"backend\": ");
  AppendJsonString(store.backend(), out);
  absl::StrAppend(out, ", \"available\": ", store.available() ? "true" : "false",
                  ", \"unavailable_since\": ", time_or_null(store.unavailable_since_unix_ns()),
                  ", \"problem\": ");
  if (store.problem().empty()) {
    out->append("null");
  } else {
    AppendJsonString(store.problem(), out);
  }
  absl::StrAppend(out, ", \"synced\": ", time_or_null(store.synced_unix_ns()), "}, \"sensors\": [");
  for (int i = 0; i < c.sensors_size(); ++i) {
    const synmap::v1::SensorCoverage& s = c.sensors(i);
    out->append(i == 0 ? "{\"sensor\": " : ", {\"sensor\": ");
    AppendJsonString(s.sensor(), out);
    absl::StrAppend(
        out, ", \"batches\": ", s.batches(),
        ", \"last_batch_end\": ", time_or_null(s.last_batch_end_unix_ns()),
        ", \"last_batch_seq\": ", s.last_batch_seq(),
        ", \"last_commit\": ", time_or_null(s.last_commit_unix_ns()),
        ", \"packets_received\": ", s.packets_received(), ", \"synacks\": ", s.synacks(),
        ", \"kernel_drops\": ", s.kernel_drops(), ", \"interface_drops\": ", s.interface_drops(),
        ", \"malformed\": ", s.malformed(), ", \"handshakes_evicted\": ", s.handshakes_evicted(),
        ", \"spool_batches_dropped\": ", s.spool_batches_dropped(),
        ", \"spool_records_dropped\": ", s.spool_records_dropped(), "}");
  }
  out->append("]}");
}

}  // namespace synmap::cli
