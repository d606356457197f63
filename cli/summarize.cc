#include "cli/summarize.h"

#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/capture_summarizer.h"
#include "cli/exit_codes.h"
#include "cli/flag_parser.h"
#include "cli/graph_dot.h"
#include "cli/summary_rows.h"
#include "cli/summary_table.h"
#include "cli/table_format.h"
#include "cli/time_text.h"
#include "common/limits/open_file_limit.h"
#include "common/naming/name_table.h"

namespace synmap::cli {
namespace {

constexpr char kUsageHead[] =
    "usage: synmap summarize [--names FILE [--site NAME]] [--count connections|packets]\n"
    "                        [--format text|tsv|csv|json|dot] [--show-remote] [--sort count|name]\n"
    "                        [--since TIME] [--until TIME] [--bucket DURATION] [--utc]\n"
    "                        [--no-decapsulate] FILE...\n"
    "\n"
    "Counts the TCP SYN/ACKs in capture files (pcap or pcapng, microsecond or nanosecond;\n"
    "'-' reads standard input) and prints one row per client, server and service, like the\n"
    "recipe `tcpdump -w ... 'tcp[13] & 0x12 = 0x12'` | sed | uniq -c. The files are read as\n"
    "one capture, merged by capture time in any order given, so a handshake seen in two files\n"
    "(rotated files, two capture points) counts once, as a packet in each. SYN/ACKs inside\n"
    "tunnels (GRE, ERSPAN, VXLAN, Geneve, GTP-U, IP-in-IP, Teredo, AYIYA) are counted by their\n"
    "inner headers unless --no-decapsulate is given.\n"
    "Columns: count, client, server, service. '_' is a non-local host; an unknown port\n"
    "shows as up:PORT. Without --names every address counts as local and shows as its IP.\n"
    "\n"
    "flags:\n";
constexpr char kUsageTail[] =
    "\n"
    "Text, tsv and csv print a coverage footer on stderr (files read of those given, packets,\n"
    "SYN/ACKs, retransmissions, malformed, unsupported link types); json carries it under\n"
    "\"coverage\". Every file is checked before anything is printed.\n"
    "--since/--until count only the SYN/ACKs captured in that window, widened to edges of\n"
    "--bucket buckets (default 1m, aligned to the epoch like the collector's buckets; the\n"
    "footer says when it widened). Every packet still feeds the retransmission memory, so the\n"
    "counts equal what the collector answers for the same window and capture (use --bucket 1h\n"
    "or 1d for data the collector has rolled up).\n"
    "Exit status: 0 ok; 2 a file is missing or unreadable (nothing printed) or corrupt (the\n"
    "rows counted before the damage are printed, and the error names the file); 64 usage.\n";

struct SummarizeFlags {
  std::string names;
  std::string site;  // --site: whose names apply (the names file's sites: entry).
  std::string count = "connections";
  std::string format = "text";
  bool show_remote = false;
  bool no_decapsulate = false;
  std::string sort = "count";
  std::string since;
  std::string until;
  std::string bucket = "1m";
  std::string max_edges;
  bool utc = false;
  std::vector<std::string> files;
};

// Writes "\r<line>" on a terminal at most every half second, starting only once the run has
// taken half a second (so small inputs never show it).
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled), last_(absl::Now()) {}
  void Update(const SummaryCoverage& coverage) {
    if (!enabled_) {
      return;
    }
    const absl::Time now = absl::Now();
    if (now - last_ < absl::Milliseconds(500)) {
      return;
    }
    last_ = now;
    shown_ = true;
    const std::string line = absl::StrFormat("\rsynmap summarize: %s: %d packets, %d SYN/ACKs",
                                             coverage.files.back().path, coverage.packets,
                                             coverage.decode.Get(common::DecodeResult::kSynAck));
    WriteAll(stderr, line);
  }
  void Clear() {
    if (shown_) {
      WriteAll(stderr, "\r\033[K");
    }
  }

 private:
  bool enabled_;
  bool shown_ = false;
  absl::Time last_;
};

// Every named file can be opened for reading (a directory cannot): checked for all of them before
// anything is printed, so a typo in the second name does not come after the first file's table.
// Standard input ('-') is always there. A regular file is opened and a byte read; anything else
// (a pipe such as `<(ssh router cat x.pcap)`, a FIFO, a device) is only checked for permission:
// reading from it here would take bytes the reader never sees. Returns one message per file that
// cannot be read.
std::vector<std::string> UnreadableFiles(const std::vector<std::string>& files) {
  std::vector<std::string> problems;
  auto problem = [&](const std::string& file, int error) {
    problems.push_back(absl::StrCat("cannot read '", file, "': ", std::strerror(error)));
  };
  for (const std::string& file : files) {
    if (file == "-") {
      continue;
    }
    struct stat st;
    if (::stat(file.c_str(), &st) != 0) {
      problem(file, errno);
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      problem(file, EISDIR);
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      if (::access(file.c_str(), R_OK) != 0) {
        problem(file, errno);
      }
      continue;
    }
    errno = 0;
    FILE* f = std::fopen(file.c_str(), "rb");
    if (f == nullptr) {
      problem(file, errno);
      continue;
    }
    char byte;
    const bool readable = std::fread(&byte, 1, 1, f) == 1 || std::feof(f) != 0;
    const int read_errno = errno;
    std::fclose(f);
    if (!readable) {
      problem(file, read_errno);
    }
  }
  return problems;
}

// `given`: the number of files named on the command line (the footer counts what was given,
// not what was reached before an error).
std::string Footer(const SummaryCoverage& c, size_t given) {
  uint64_t complete = 0;
  for (const auto& f : c.files) {
    complete += f.complete ? 1 : 0;
  }
  std::string out = absl::StrFormat(
      "summarize: %d of %d file(s) read to the end, %d packets, %d SYN/ACKs "
      "(%d retransmissions), %d malformed, %d skipped (unsupported link type)\n",
      complete, given, c.packets, c.decode.Get(common::DecodeResult::kSynAck),
      c.table.retransmissions, c.decode.Malformed(),
      c.decode.Get(common::DecodeResult::kUnsupportedLinkType));
  if (!c.skipped_link_types.empty()) {
    absl::StrAppend(&out, "summarize: skipped link types:");
    for (const auto& [link_type, packets] : c.skipped_link_types) {
      absl::StrAppend(&out, " ", link_type, " (", packets, " packets)");
    }
    absl::StrAppend(&out, "\n");
  }
  if (c.decode.tunnelled > 0 || c.decode.tunnels_too_deep > 0) {
    absl::StrAppend(&out, "summarize: ", c.decode.tunnelled_synacks,
                    " SYN/ACKs found inside tunnels (", c.decode.tunnelled, " tunnelled packets, ",
                    c.decode.tunnelled_malformed, " of them malformed); ",
                    c.decode.tunnels_too_deep, " packets with tunnels nested deeper than ",
                    common::kMaxTunnelDepth, " not entered\n");
  }
  if (c.table.handshakes_evicted > 0) {
    absl::StrAppend(&out, "summarize: ", c.table.handshakes_evicted,
                    " handshakes forgotten early (table bound); their retransmissions, if "
                    "any, counted as connections\n");
  }
  if (c.table.late_connections > 0) {
    absl::StrAppend(&out, "summarize: ", c.table.late_connections,
                    " connections counted from SYN/ACKs 60 s or more older than SYN/ACKs before "
                    "them in their file (a clock stepped back, a file not in time order): each "
                    "may be a handshake counted twice\n");
  }
  return out;
}

// The --since/--until window as asked and as answered (bucket-widened); nulls without one.
void AppendWindowJson(const std::optional<SummaryWindow>& window, std::string* out) {
  auto time = [out](int64_t ns) {
    if (ns == 0) {
      out->append("null");
    } else {
      AppendJsonString(FormatMachineTime(ns), out);
    }
  };
  const SummaryWindow asked = window.value_or(SummaryWindow{0, 0, 0});
  const SummaryWindow answered = window.has_value() ? window->Answered() : asked;
  out->append(",\n    \"since\": ");
  time(asked.since_ns);
  out->append(",\n    \"until\": ");
  time(asked.until_ns);
  out->append(",\n    \"answered_since\": ");
  time(answered.since_ns);
  out->append(",\n    \"answered_until\": ");
  time(answered.until_ns);
  absl::StrAppend(out, ",\n    \"resolution_seconds\": ");
  if (window.has_value()) {
    absl::StrAppend(out, window->bucket_ns / 1'000'000'000);
  } else {
    out->append("null");
  }
}

void AppendCoverageJson(const SummaryCoverage& c, size_t given, const absl::Status& error,
                        const std::optional<SummaryWindow>& window, std::string* out) {
  absl::StrAppend(out, "{\n    \"complete\": ", error.ok() ? "true" : "false",
                  ",\n    \"error\": ");
  if (error.ok()) {
    out->append("null");
  } else {
    AppendJsonString(error.message(), out);
  }
  AppendWindowJson(window, out);
  uint64_t complete = 0;
  out->append(",\n    \"files\": [");
  for (size_t i = 0; i < c.files.size(); ++i) {
    complete += c.files[i].complete ? 1 : 0;
    out->append(i == 0 ? "{\"path\": " : ", {\"path\": ");
    AppendJsonString(c.files[i].path, out);
    absl::StrAppend(out, ", \"packets\": ", c.files[i].packets,
                    ", \"complete\": ", c.files[i].complete ? "true" : "false", "}");
  }
  absl::StrAppend(out, "],\n    \"files_given\": ", given, ",\n    \"files_read\": ", complete,
                  ",\n    \"packets\": ", c.packets,
                  ",\n    \"synacks\": ", c.decode.Get(common::DecodeResult::kSynAck),
                  ",\n    \"retransmissions\": ", c.table.retransmissions,
                  ",\n    \"malformed\": ", c.decode.Malformed(), ",\n    \"skipped_link_types\": ",
                  c.decode.Get(common::DecodeResult::kUnsupportedLinkType),
                  ",\n    \"skipped_by_link_type\": {");
  for (size_t i = 0; i < c.skipped_link_types.size(); ++i) {
    absl::StrAppend(out, i == 0 ? "\"" : ", \"", c.skipped_link_types[i].first,
                    "\": ", c.skipped_link_types[i].second);
  }
  out->append("},\n    \"decode\": {");
  for (size_t r = 0; r < static_cast<size_t>(common::DecodeResult::kCount); ++r) {
    const auto result = static_cast<common::DecodeResult>(r);
    absl::StrAppend(out, r == 0 ? "" : ", ");
    AppendJsonString(common::DecodeResultName(result), out);
    absl::StrAppend(out, ": ", c.decode.Get(result));
  }
  absl::StrAppend(out, "},\n    \"handshakes_evicted\": ", c.table.handshakes_evicted,
                  ",\n    \"late_connections\": ", c.table.late_connections, "\n  }");
}

int UsageError(absl::string_view message) {
  WriteAll(stderr,
           absl::StrCat("synmap summarize: ", message, "\nTry 'synmap summarize --help'.\n"));
  return kExitUsage;
}

}  // namespace

int RunSummarize(absl::Span<const std::string> args) {
  // The summary's big arrays (records, address dictionary, rows, sort keys) come and go one
  // after another: each at least 1 MiB is its own mapping, handed back to the system when
  // freed, so freed ones do not stay resident under the next (glibc otherwise raises this
  // threshold up to 32 MiB and keeps freed heap).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  SummarizeFlags flags;
  FlagParser parser;
  parser.AddString("names", "FILE", &flags.names,
                   "names file (YAML: local_networks, hosts, services)");
  parser.AddString("site", "NAME", &flags.site,
                   "the captures are this site's: its names (names file sites: entry) apply, and "
                   "rows carry a site column");
  parser.AddChoice("count", {"connections", "packets"}, &flags.count,
                   "what to count (default connections; packets = the recipe's raw number)");
  parser.AddChoice("format", {"text", "tsv", "csv", "json", "dot"}, &flags.format,
                   "output format (default text; dot = the map as a Graphviz graph)");
  parser.AddString("max-edges", "N", &flags.max_edges,
                   "dot: draw the N largest rows, count the rest in a note (default 300)");
  parser.AddBool("show-remote", &flags.show_remote, "show non-local hosts' IPs instead of _");
  parser.AddChoice("sort", {"count", "name"}, &flags.sort,
                   "row order: count descending (default) or client, server, service");
  parser.AddString("since", "TIME", &flags.since,
                   "count SYN/ACKs captured at or after TIME (widened to a bucket edge)");
  parser.AddString("until", "TIME", &flags.until,
                   "count SYN/ACKs captured before TIME (widened to a bucket edge)");
  parser.AddString("bucket", "DURATION", &flags.bucket,
                   "bucket for --since/--until edges (default 1m; e.g. 1h, 24h)");
  parser.AddBool("utc", &flags.utc, "read and print times in UTC instead of local time");
  parser.AddBool("no-decapsulate", &flags.no_decapsulate,
                 "count only TCP right after the outermost IP header (do not enter tunnels)");
  if (absl::Status s = parser.Parse(args, &flags.files); !s.ok()) {
    return UsageError(s.message());
  }
  if (parser.help()) {
    WriteAll(stdout, absl::StrCat(kUsageHead, parser.Usage(), kUsageTail));
    return kExitOk;
  }
  if (flags.files.empty()) {
    return UsageError("no capture file given ('-' reads standard input)");
  }
  if (std::count(flags.files.begin(), flags.files.end(), "-") > 1) {
    return UsageError("standard input ('-') can be read only once");
  }
  const bool dot = flags.format == "dot";
  // Checked by the parser; dot draws the text table.
  const OutputFormat format = dot ? OutputFormat::kText : *ParseOutputFormat(flags.format);
  size_t max_edges = kDefaultMaxEdges;
  if (!flags.max_edges.empty() &&
      (!absl::SimpleAtoi(flags.max_edges, &max_edges) || max_edges == 0)) {
    return UsageError(
        absl::StrCat("--max-edges: '", flags.max_edges, "' is not a whole number >= 1"));
  }
  const common::CountKind count =
      flags.count == "packets" ? common::CountKind::kPackets : common::CountKind::kConnections;

  absl::StatusOr<common::NameTable> names = common::NameTable::LoadFile(flags.names);
  if (!names.ok()) {
    WriteAll(stderr,
             absl::StrCat("synmap summarize: names file: ", names.status().message(), "\n"));
    return kExitFailure;
  }
  if (!flags.site.empty() && names->ScopeOf(flags.site) == 0) {
    const std::vector<std::string> sites = names->site_names();
    return UsageError(
        absl::StrCat("--site: the names file has no site '", flags.site, "'",
                     sites.empty() ? " (it has no sites: section)"
                                   : absl::StrCat("; its sites: ", absl::StrJoin(sites, ", "))));
  }

  const absl::TimeZone zone = flags.utc ? absl::UTCTimeZone() : absl::LocalTimeZone();
  std::optional<SummaryWindow> window;
  if (!flags.since.empty() || !flags.until.empty()) {
    absl::Duration bucket;
    if (!absl::ParseDuration(flags.bucket, &bucket) || bucket < absl::Seconds(1)) {
      return UsageError(absl::StrCat("--bucket: '", flags.bucket, "' is not a duration >= 1s"));
    }
    SummaryWindow w;
    w.bucket_ns = absl::ToInt64Nanoseconds(bucket);
    absl::StatusOr<int64_t> since = ParseTimeText("since", flags.since, absl::Now(), zone);
    absl::StatusOr<int64_t> until = ParseTimeText("until", flags.until, absl::Now(), zone);
    if (!since.ok() || !until.ok()) {
      return UsageError((since.ok() ? until : since).status().message());
    }
    w.since_ns = *since;
    w.until_ns = *until;
    if (w.since_ns != 0 && w.until_ns != 0 && w.until_ns <= w.since_ns) {
      return UsageError("--until must be later than --since");
    }
    window = w;
  }
  if (const std::vector<std::string> problems = UnreadableFiles(flags.files); !problems.empty()) {
    for (const std::string& problem : problems) {
      WriteAll(stderr, absl::StrCat("synmap summarize: ", problem, "\n"));
    }
    return kExitFailure;
  }
  // Files overlapping in time are all open at once while they are merged (several capture
  // points): a low soft limit on descriptors must not stop that below the hard one.
  if (flags.files.size() > 1) {
    common::RaiseOpenFileLimit().status().IgnoreError();  // Else an open fails, and says so.
  }
  CaptureSummarizer summarizer{common::SynAckTableOptions(), common::PacketReaderOptions(), window,
                               common::DecodeOptions{.decapsulate = !flags.no_decapsulate}};
  ProgressLine progress(format == OutputFormat::kText && isatty(STDERR_FILENO) == 1);
  // On a damaged file: what was counted up to the damage is reported.
  const absl::Status error =
      summarizer.AddFiles(flags.files, [&](const SummaryCoverage& c) { progress.Update(c); });
  progress.Clear();

  const SummaryCoverage& coverage = summarizer.coverage();
  const common::RowOrder order =
      flags.sort == "name" ? common::RowOrder::kName : common::RowOrder::kCount;
  if (dot) {
    const Table table = SummarizeRecords(summarizer.TakeRecordBlocks(), *names, flags.show_remote,
                                         count, order, format, zone, flags.site);
    WriteAll(
        stdout,
        SummaryDot(
            table, max_edges,
            absl::StrCat(count == common::CountKind::kPackets ? "SYN/ACK packets" : "connections",
                         " per client and service, ", flags.files.size(), " capture file(s)")));
    std::fflush(stdout);
  } else {
    // Rows go out as they are formatted: memory does not grow with a second copy of them.
    TableWriter writer(SummaryTableColumns(/*by_sensor=*/false, /*with_site=*/!flags.site.empty()),
                       format, stdout);
    SummarizeRecordsTo(summarizer.TakeRecordBlocks(), *names, flags.show_remote, count, order,
                       format, zone, writer, flags.site);
    writer.Finish(std::nullopt, [&](std::string* o) {
      AppendCoverageJson(coverage, flags.files.size(), error, window, o);
    });
  }
  if (format != OutputFormat::kJson) {  // json carries it; tsv/csv keep stdout clean for scripts.
    WriteAll(stderr, Footer(coverage, flags.files.size()));
  }
  if (window.has_value()) {
    const SummaryWindow answered = window->Answered();
    auto edge = [&](int64_t ns, const char* open) {
      return ns == 0 ? std::string(open) : FormatTextTime(ns, zone);
    };
    if (answered.since_ns != window->since_ns || answered.until_ns != window->until_ns) {
      WriteAll(stderr,
               absl::StrCat("window widened to bucket edges: asked ",
                            edge(window->since_ns, "oldest"), " to ", edge(window->until_ns, "end"),
                            ", answered ", edge(answered.since_ns, "oldest"), " to ",
                            edge(answered.until_ns, "end"), " (resolution ", flags.bucket, ")\n"));
    }
  }
  if (!error.ok()) {
    WriteAll(stderr, absl::StrCat("synmap summarize: error: ", error.message(), "\n"));
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace synmap::cli
