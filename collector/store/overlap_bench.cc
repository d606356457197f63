// synmap-overlap-bench: what handshake fingerprints cost the collector's aggregates, without
// the network, TLS and the database around them. The ingest bench's batches (sensors sending
// records of two connections each, new handshakes in every batch) are applied straight to an
// AggregateIndex, each mode in a process of its own:
//   none     no fingerprints (the baseline);
//   alone    fingerprints, every sensor sees keys no other sensor sees;
//   overlap  fingerprints, sensors 2k and 2k+1 see the same handshakes (two on one path).
// Prints, per mode, the CPU time of applying the batches (per record and per sighting) and
// what the process grew by, best of --rounds.
//
// usage: synmap-overlap-bench [--sensors N] [--records-per-batch N] [--batches N]
//                             [--batch-seconds N] [--rounds N]

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "collector/store/internal/aggregate_index.h"
#include "common/config/options.h"
#include "common/status/status_macros.h"

namespace synmap::collector {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kStart = 1'700'000'000 * kSecond;

struct BenchOptions {
  int sensors = 8;
  int records_per_batch = 5'000;
  int batches = 50;  // Per sensor.
  int64_t batch_ns = kSecond;
  int rounds = 3;
};

enum class Mode { kNone, kAlone, kOverlap };

const char* ModeName(Mode m) {
  return m == Mode::kNone ? "none" : m == Mode::kAlone ? "alone" : "overlap";
}

// Batch `b` of sensor `sensor`: the same keys in every batch of a sensor (of a pair of
// sensors in kOverlap), two connections each, new fingerprints in every batch.
common::Batch MakeBatch(const BenchOptions& o, Mode mode, int sensor, int b) {
  const int group = mode == Mode::kOverlap ? sensor / 2 : sensor;
  common::Batch batch;
  batch.start_ns = kStart + b * o.batch_ns;
  batch.end_ns = batch.start_ns + o.batch_ns;
  batch.records.reserve(static_cast<size_t>(o.records_per_batch));
  for (int i = 0; i < o.records_per_batch; ++i) {
    common::Record r;
    const uint8_t client[4] = {10, static_cast<uint8_t>(group), static_cast<uint8_t>(i >> 8),
                               static_cast<uint8_t>(i)};
    const uint8_t server[4] = {10, 200, 0, static_cast<uint8_t>(i % 50)};
    r.key.client = common::IpAddress::V4(client);
    r.key.server = common::IpAddress::V4(server);
    r.key.server_port = static_cast<uint16_t>(1 + i % 7 * 1000);
    r.packets = 3;
    r.connections = 2;
    r.first_seen_ns = batch.start_ns;
    r.last_seen_ns = batch.end_ns - 1;
    batch.records.push_back(r);
    if (mode != Mode::kNone) {
      for (uint32_t c = 0; c < 2; ++c) {
        const uint64_t n =
            (uint64_t{static_cast<uint32_t>(b)} << 32) | (static_cast<uint32_t>(i) * 2 + c);
        batch.handshakes.push_back(
            common::Handshake{static_cast<uint32_t>(n * 0x9e3779b97f4a7c15ULL >> 32),
                              static_cast<uint32_t>(c * o.batch_ns / kSecond * 500)});
      }
    }
  }
  return batch;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The process's resident memory in KiB (VmRSS).
int64_t RssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    int64_t kib = 0;
    if (line.rfind("VmRSS:", 0) == 0 &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(6, line.size() - 6 - 3)), &kib)) {
      return kib;
    }
  }
  return 0;
}

// Applies every batch of `mode` to a new index; prints "cpu_seconds rss_growth_kib" to `fd`.
void RunMode(const BenchOptions& o, Mode mode, int fd) {
  // The batches first, so that only applying them is measured.
  std::vector<common::Batch> batches;
  for (int b = 0; b < o.batches; ++b) {
    for (int s = 0; s < o.sensors; ++s) {
      batches.push_back(MakeBatch(o, mode, s, b));
    }
  }
  std::vector<std::string> names;
  for (int s = 0; s < o.sensors; ++s) {
    names.push_back(absl::StrCat("sensor-", s));
  }
  const int64_t rss0 = RssKib();
  const double cpu0 = ThreadCpuSeconds();
  internal::AggregateIndex index({{kMinute, 48 * kHour}, {kHour, 90 * 24 * kHour}, {24 * kHour, 0}},
                                 OverlapOptions());
  const int64_t now_ns = kStart + o.batches * o.batch_ns + kMinute;
  for (size_t i = 0; i < batches.size(); ++i) {
    const int s = static_cast<int>(i % static_cast<size_t>(o.sensors));
    index.ApplyBatch(static_cast<uint32_t>(s), names[static_cast<size_t>(s)], batches[i],
                     std::numeric_limits<int64_t>::min(), now_ns);
  }
  const double cpu = ThreadCpuSeconds() - cpu0;
  const std::string line = absl::StrCat(cpu, " ", RssKib() - rss0, "\n");
  (void)!write(fd, line.data(), line.size());
}

// Runs RunMode in a child process (a fresh heap for each measurement).
absl::StatusOr<std::pair<double, int64_t>> Measure(const BenchOptions& o, Mode mode) {
  int fds[2];
  if (pipe(fds) != 0) {
    return absl::InternalError("pipe failed");
  }
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    RunMode(o, mode, fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[128];
  ssize_t n = 0;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  double cpu = 0;
  int64_t kib = 0;
  const size_t space = out.find(' ');
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || space == std::string::npos ||
      !absl::SimpleAtod(out.substr(0, space), &cpu) ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(out.substr(space + 1)), &kib)) {
    return absl::InternalError(absl::StrCat("mode ", ModeName(mode), " failed"));
  }
  return std::make_pair(cpu, kib);
}

const std::vector<common::OptionSpec>& Specs() {
  static const auto* specs = new std::vector<common::OptionSpec>{
      {.name = "sensors", .value_name = "N", .help = "sensors, each sending every batch (8)"},
      {.name = "records-per-batch", .value_name = "N", .help = "records in each batch (5000)"},
      {.name = "batches", .value_name = "N", .help = "batches per sensor (50)"},
      {.name = "batch-seconds",
       .value_name = "N",
       .help = "capture time a batch spans (1; the default 30 min horizon keeps 1,800)"},
      {.name = "rounds", .value_name = "N", .help = "measurements per mode, best kept (3)"},
      {.name = "help", .value_name = "", .help = "show this help"},
  };
  return *specs;
}

absl::StatusOr<BenchOptions> Resolve(const common::OptionMap& m) {
  BenchOptions o;
  SYNMAP_ASSIGN_OR_RETURN(int64_t sensors, common::GetInt(m, "sensors", o.sensors));
  SYNMAP_ASSIGN_OR_RETURN(int64_t records, common::GetInt(m, "records-per-batch", 5'000));
  SYNMAP_ASSIGN_OR_RETURN(int64_t batches, common::GetInt(m, "batches", o.batches));
  SYNMAP_ASSIGN_OR_RETURN(int64_t seconds, common::GetInt(m, "batch-seconds", 1));
  SYNMAP_ASSIGN_OR_RETURN(int64_t rounds, common::GetInt(m, "rounds", o.rounds));
  if (sensors < 2 || sensors > 200 || records < 1 || records > 65'536 || batches < 1 ||
      batches > 100'000 || seconds < 1 || seconds > 3'600 || rounds < 1 || rounds > 20) {
    return absl::InvalidArgumentError(
        "--sensors 2..200, --records-per-batch 1..65536, --batches 1..100000, "
        "--batch-seconds 1..3600, --rounds 1..20");
  }
  o.sensors = static_cast<int>(sensors);
  o.records_per_batch = static_cast<int>(records);
  o.batches = static_cast<int>(batches);
  o.batch_ns = seconds * kSecond;
  o.rounds = static_cast<int>(rounds);
  return o;
}

int Main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<common::OptionMap> flags = common::ParseFlags(args, Specs(), nullptr);
  if (!flags.ok() || flags->contains("help")) {
    std::cerr << (flags.ok() ? "" : std::string(flags.status().message()) + "\n")
              << "usage: synmap-overlap-bench [options]\n"
              << common::OptionsHelp(Specs());
    return flags.ok() ? 0 : 2;
  }
  absl::StatusOr<BenchOptions> o = Resolve(*flags);
  if (!o.ok()) {
    std::cerr << "synmap-overlap-bench: " << o.status().message() << "\n";
    return 2;
  }
  const double records = double{1} * o->sensors * o->batches * o->records_per_batch;
  std::printf("%-8s %10s %10s %12s %14s %12s %10s\n", "mode", "records", "sightings", "cpu_s",
              "ns_per_record", "rss_MiB", "vs_none");
  double none_cpu = 0;
  for (Mode mode : {Mode::kNone, Mode::kAlone, Mode::kOverlap}) {
    double best_cpu = std::numeric_limits<double>::max();
    int64_t best_kib = 0;
    for (int r = 0; r < o->rounds; ++r) {
      absl::StatusOr<std::pair<double, int64_t>> m = Measure(*o, mode);
      if (!m.ok()) {
        std::cerr << "synmap-overlap-bench: " << m.status().message() << "\n";
        return 1;
      }
      if (m->first < best_cpu) {
        best_cpu = m->first;
        best_kib = m->second;
      }
    }
    if (mode == Mode::kNone) {
      none_cpu = best_cpu;
    }
    std::printf("%-8s %10.0f %10.0f %12.3f %14.0f %12.1f %9.0f%%\n", ModeName(mode), records,
                mode == Mode::kNone ? 0 : 2 * records, best_cpu, best_cpu * 1e9 / records,
                static_cast<double>(best_kib) / 1024, 100 * (best_cpu / none_cpu - 1));
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace synmap::collector

int main(int argc, char** argv) { return synmap::collector::Main(argc, argv); }
