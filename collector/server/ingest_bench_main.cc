// synmap-ingest-bench: starts synmap-collector as a child process with a throwaway CA and
// database, streams batches to it over real mutual TLS from 1, 8, 64 ... concurrent sensor
// streams (one certificate each), and prints records/s committed (acked), the collector's
// CPU time and its peak RSS for each stream count.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/config/options.h"
#include "common/status/status_macros.h"
#include "common/tls/credentials.h"
#include "common/tls/tls_files.h"
#include "grpcpp/grpcpp.h"
#include "synmap/v1/ingest.grpc.pb.h"

#ifndef SYNMAP_SOURCE_DIR
#define SYNMAP_SOURCE_DIR "."
#endif

namespace synmap::collector {
namespace {

struct BenchOptions {
  std::vector<int> stream_counts = {1, 8, 64};
  int records_per_batch = 10'000;
  int64_t records_per_run = 2'000'000;  // Split evenly over the streams of a run.
  int window = 4;                       // Unacked batches per stream.
  bool sync_full = true;
  // Empty: a fresh SQLite file per run. Else a PostgreSQL URI shared by every collector of a
  // run (the caller empties it between runs).
  std::string db;
  int collectors = 1;  // Collectors per run; streams are spread over them round-robin.
  // Each record carries its two connections' handshake fingerprints (what sensors send).
  bool fingerprints = false;
  // Streams 2k and 2k+1 send the same keys and fingerprints: two sensors on one path.
  bool overlap = false;
  std::string collector_binary;
  std::string make_certs = std::string(SYNMAP_SOURCE_DIR) + "/deploy/make-certs.sh";
  std::string work_dir;
};

absl::Status Shell(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
    return absl::InternalError(absl::StrCat("failed: ", command));
  }
  return absl::OkStatus();
}

// The collector child: started with its stderr on a pipe; drained by a thread.
class Collector {
 public:
  static absl::StatusOr<std::unique_ptr<Collector>> Start(const BenchOptions& o,
                                                          const std::string& db) {
    auto c = std::make_unique<Collector>();
    int fds[2];
    if (pipe(fds) != 0) {
      return absl::InternalError("pipe");
    }
    const std::string dir = o.work_dir;
    std::vector<std::string> args = {o.collector_binary,
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--db",
                                     db,
                                     "--ca",
                                     dir + "/ca.pem",
                                     "--cert",
                                     dir + "/col.pem",
                                     "--key",
                                     dir + "/col.key",
                                     absl::StrCat("--sync-full=", o.sync_full ? "true" : "false")};
    c->pid_ = fork();
    if (c->pid_ == 0) {
      dup2(fds[1], STDERR_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (std::string& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    FILE* log = fdopen(fds[0], "r");
    char line[4096];
    while (c->port_ == 0 && fgets(line, sizeof(line), log) != nullptr) {
      const std::string text(line);
      const size_t at = text.find("listening address=");
      if (at != std::string::npos) {
        const std::string addr = text.substr(at + 18, text.find(' ', at + 18) - at - 18);
        (void)absl::SimpleAtoi(addr.substr(addr.rfind(':') + 1), &c->port_);
      }
    }
    if (c->port_ == 0) {
      fclose(log);
      return absl::UnavailableError("collector did not start (see its log above)");
    }
    c->drain_ = std::thread([log] {
      char buf[4096];
      while (fgets(buf, sizeof(buf), log) != nullptr) {
      }
      fclose(log);
    });
    return c;
  }
  ~Collector() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (drain_.joinable()) {
      drain_.join();
    }
  }
  int port() const { return port_; }
  // User + system CPU seconds so far.
  double CpuSeconds() const {
    std::ifstream in(absl::StrCat("/proc/", pid_, "/stat"));
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> f = absl::StrSplit(all.substr(all.rfind(')') + 2), ' ');
    int64_t utime = 0;
    int64_t stime = 0;
    if (f.size() < 13 || !absl::SimpleAtoi(f[11], &utime) || !absl::SimpleAtoi(f[12], &stime)) {
      return 0;
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  // Peak resident set (VmHWM) in MiB.
  double PeakRssMib() const {
    std::ifstream in(absl::StrCat("/proc/", pid_, "/status"));
    std::string line;
    while (std::getline(in, line)) {
      int64_t kib = 0;
      if (line.rfind("VmHWM:", 0) == 0 &&
          absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(6, line.size() - 9)), &kib)) {
        return static_cast<double>(kib) / 1024.0;
      }
    }
    return 0;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::thread drain_;
};

synmap::v1::Batch MakeBatch(const BenchOptions& o, int stream, int records, int64_t end_ns) {
  synmap::v1::Batch b;
  b.set_start_unix_ns(end_ns - 10'000'000'000);
  b.set_end_unix_ns(end_ns);
  const int site = o.overlap ? stream / 2 : stream;
  for (int i = 0; i < records; ++i) {
    synmap::v1::Record* r = b.add_records();
    const char client[4] = {10, static_cast<char>(site), static_cast<char>(i >> 8),
                            static_cast<char>(i)};
    const char server[4] = {10, static_cast<char>(200), 0, static_cast<char>(i % 50)};
    r->set_client_ip(std::string(client, 4));
    r->set_server_ip(std::string(server, 4));
    r->set_server_port(static_cast<uint32_t>(1 + i % 7 * 1000));
    r->set_packets(3);
    r->set_connections(2);
    r->set_first_seen_unix_ns(end_ns - 9'000'000'000);
    r->set_last_seen_unix_ns(end_ns - 1'000'000'000);
    if (o.fingerprints) {
      b.add_handshake_fingerprints(0);  // Set per send (SetFingerprints).
      b.add_handshake_offsets_ms(1'000);
      b.add_handshake_fingerprints(0);
      b.add_handshake_offsets_ms(9'000);
    }
  }
  return b;
}

// New handshakes for each send of the batch: the same for the same seq at every stream.
void SetFingerprints(int seq, synmap::v1::Batch* b) {
  for (int i = 0; i < b->handshake_fingerprints_size(); ++i) {
    b->set_handshake_fingerprints(
        i, static_cast<uint32_t>(
               (uint64_t{static_cast<uint32_t>(seq)} << 32 | static_cast<uint32_t>(i)) *
                   0x9e3779b97f4a7c15ULL >>
               32));
  }
}

// One sensor stream: a writer keeping `window` batches unacked, and a reader of acks.
absl::Status RunStream(const BenchOptions& o, int port, int stream, int batches,
                       int64_t* records_acked) {
  absl::StatusOr<common::TlsMaterial> m = common::LoadTlsMaterial(
      {o.work_dir + "/ca.pem", absl::StrCat(o.work_dir, "/bench-s", stream, ".pem"),
       absl::StrCat(o.work_dir, "/bench-s", stream, ".key")});
  if (!m.ok()) {
    return m.status();
  }
  auto stub =
      synmap::v1::Ingest::NewStub(common::MakeChannel(absl::StrCat("127.0.0.1:", port), *m));
  grpc::ClientContext ctx;
  auto rw = stub->Stream(&ctx);
  synmap::v1::SensorMessage hello;
  hello.mutable_hello()->set_protocol_version(1);
  synmap::v1::CollectorMessage reply;
  if (!rw->Write(hello) || !rw->Read(&reply) || !reply.has_hello_ack()) {
    return absl::UnavailableError(
        absl::StrCat("stream ", stream, ": ", rw->Finish().error_message()));
  }
  synmap::v1::SensorMessage msg;
  *msg.mutable_batch() =
      MakeBatch(o, stream, o.records_per_batch, absl::ToUnixNanos(absl::Now()) - 60'000'000'000);
  absl::Mutex mu;
  int acked = 0;
  std::thread reader([&] {
    synmap::v1::CollectorMessage ack;
    while (rw->Read(&ack)) {
      absl::MutexLock lock(&mu);
      ++acked;
    }
  });
  for (int seq = 1; seq <= batches; ++seq) {
    {
      absl::MutexLock lock(&mu);
      auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return seq - 1 - acked < o.window; };
      mu.Await(absl::Condition(&room));
    }
    msg.mutable_batch()->set_seq(static_cast<uint64_t>(seq));
    SetFingerprints(seq, msg.mutable_batch());
    if (stream == 0 && seq == 1) {
      std::fprintf(stderr, "batch_bytes=%zu records=%d\n", msg.batch().ByteSizeLong(),
                   o.records_per_batch);
    }
    if (!rw->Write(msg)) {
      break;
    }
  }
  {
    absl::MutexLock lock(&mu);
    auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return acked >= batches; };
    mu.AwaitWithTimeout(absl::Condition(&all), absl::Minutes(10));
  }
  rw->WritesDone();
  reader.join();
  grpc::Status status = rw->Finish();
  *records_acked = static_cast<int64_t>(acked) * o.records_per_batch;
  return status.ok() ? absl::OkStatus()
                     : absl::UnavailableError(
                           absl::StrCat("stream ", stream, ": ", status.error_message()));
}

absl::Status RunOne(const BenchOptions& o, int streams) {
  std::vector<std::unique_ptr<Collector>> collectors;
  for (int i = 0; i < o.collectors; ++i) {
    SYNMAP_ASSIGN_OR_RETURN(
        std::unique_ptr<Collector> c,
        Collector::Start(
            o, o.db.empty() ? absl::StrCat(o.work_dir, "/bench-", streams, ".db") : o.db));
    collectors.push_back(std::move(c));
  }
  const int batches = static_cast<int>(std::max<int64_t>(
      1, o.records_per_run / (static_cast<int64_t>(streams) * o.records_per_batch)));
  auto cpu_seconds = [&] {
    double sum = 0;
    for (const auto& c : collectors) {
      sum += c->CpuSeconds();
    }
    return sum;
  };
  const double cpu0 = cpu_seconds();
  const absl::Time t0 = absl::Now();
  std::vector<int64_t> acked(static_cast<size_t>(streams), 0);
  std::vector<absl::Status> results(static_cast<size_t>(streams));
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&, s] {
      const int port = collectors[static_cast<size_t>(s) % collectors.size()]->port();
      results[static_cast<size_t>(s)] =
          RunStream(o, port, s, batches, &acked[static_cast<size_t>(s)]);
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  const double cpu = cpu_seconds() - cpu0;
  double rss = 0;
  for (const auto& c : collectors) {
    rss = std::max(rss, c->PeakRssMib());
  }
  int64_t total = 0;
  for (int64_t a : acked) {
    total += a;
  }
  for (const absl::Status& s : results) {
    if (!s.ok()) {
      std::cerr << "stream error: " << s.message() << "\n";
    }
  }
  std::printf("%7d %9d %12lld %8.2f %13.0f %12.2f %9.0f%% %10.1f\n", streams, o.records_per_batch,
              static_cast<long long>(total), seconds, static_cast<double>(total) / seconds, cpu,
              100.0 * cpu / seconds, rss);
  std::fflush(stdout);
  return absl::OkStatus();
}

const std::vector<common::OptionSpec>& Specs() {
  static const auto* specs = new std::vector<common::OptionSpec>{
      {.name = "streams",
       .value_name = "N,N,..",
       .help = "concurrent sensor streams per run (1,8,64)"},
      {.name = "records-per-batch", .value_name = "N", .help = "records in each batch (10000)"},
      {.name = "records-per-run", .value_name = "N", .help = "records sent per run (2000000)"},
      {.name = "window", .value_name = "N", .help = "unacked batches per stream (4)"},
      {.name = "sync-full", .value_name = "BOOL", .help = "collector fsyncs every commit (true)"},
      {.name = "db",
       .value_name = "URI",
       .help = "a PostgreSQL database for every run (default: a fresh SQLite file per run)"},
      {.name = "collectors",
       .value_name = "N",
       .help = "collectors per run on the database, streams spread over them (1)"},
      {.name = "collector",
       .value_name = "PATH",
       .help = "synmap-collector binary (beside this one)"},
      {.name = "make-certs", .value_name = "PATH", .help = "deploy/make-certs.sh"},
      {.name = "fingerprints",
       .value_name = "BOOL",
       .help = "send two handshake fingerprints per record (false)"},
      {.name = "overlap",
       .value_name = "BOOL",
       .help = "streams 2k and 2k+1 send the same keys: two sensors on one path (false)"},
      {.name = "help", .value_name = "", .help = "show this help"},
  };
  return *specs;
}

absl::StatusOr<BenchOptions> Resolve(const common::OptionMap& m, const std::string& argv0) {
  BenchOptions o;
  SYNMAP_ASSIGN_OR_RETURN(std::string streams, common::GetString(m, "streams", "1,8,64"));
  o.stream_counts.clear();
  for (absl::string_view part : absl::StrSplit(streams, ',')) {
    int n = 0;
    if (!absl::SimpleAtoi(part, &n) || n < 1 || n > 250) {
      return absl::InvalidArgumentError(absl::StrCat("--streams: bad count '", part, "'"));
    }
    o.stream_counts.push_back(n);
  }
  SYNMAP_ASSIGN_OR_RETURN(int64_t rpb, common::GetInt(m, "records-per-batch", 10'000));
  SYNMAP_ASSIGN_OR_RETURN(o.records_per_run, common::GetInt(m, "records-per-run", 2'000'000));
  SYNMAP_ASSIGN_OR_RETURN(int64_t window, common::GetInt(m, "window", 4));
  SYNMAP_ASSIGN_OR_RETURN(o.sync_full, common::GetBool(m, "sync-full", true));
  SYNMAP_ASSIGN_OR_RETURN(o.db, common::GetString(m, "db"));
  SYNMAP_ASSIGN_OR_RETURN(int64_t collectors, common::GetInt(m, "collectors", 1));
  if (collectors < 1 || collectors > 8 || (collectors > 1 && o.db.empty())) {
    return absl::InvalidArgumentError("--collectors must be 1..8; more than 1 needs --db");
  }
  o.collectors = static_cast<int>(collectors);
  SYNMAP_ASSIGN_OR_RETURN(o.fingerprints, common::GetBool(m, "fingerprints", false));
  SYNMAP_ASSIGN_OR_RETURN(o.overlap, common::GetBool(m, "overlap", false));
  if (rpb < 1 || rpb > 200'000 || window < 1 || window > 64) {
    return absl::InvalidArgumentError("--records-per-batch must be 1..200000, --window 1..64");
  }
  o.records_per_batch = static_cast<int>(rpb);
  o.window = static_cast<int>(window);
  const std::string self_dir = argv0.substr(0, argv0.rfind('/') + 1);
  SYNMAP_ASSIGN_OR_RETURN(o.collector_binary,
                          common::GetString(m, "collector", self_dir + "synmap-collector"));
  SYNMAP_ASSIGN_OR_RETURN(o.make_certs, common::GetString(m, "make-certs", o.make_certs));
  return o;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<common::OptionMap> flags = common::ParseFlags(args, Specs(), nullptr);
  if (!flags.ok() || flags->contains("help")) {
    std::cerr << (flags.ok() ? "" : std::string(flags.status().message()) + "\n")
              << "usage: synmap-ingest-bench [options]\n"
              << common::OptionsHelp(Specs());
    return flags.ok() ? 0 : 2;
  }
  absl::StatusOr<BenchOptions> o = Resolve(*flags, argv[0]);
  if (!o.ok()) {
    std::cerr << "synmap-ingest-bench: " << o.status().message() << "\n";
    return 2;
  }
  char tmpl[] = "/tmp/synmap-ingest-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::cerr << "synmap-ingest-bench: mkdtemp failed\n";
    return 1;
  }
  o->work_dir = tmpl;
  int max_streams = 1;
  for (int n : o->stream_counts) {
    max_streams = std::max(max_streams, n);
  }
  std::cerr << "making certificates in " << o->work_dir << "\n";
  absl::Status s = Shell(absl::StrCat("bash ", o->make_certs, " ", o->work_dir, " ca"));
  if (s.ok()) {
    s = Shell(absl::StrCat("bash ", o->make_certs, " ", o->work_dir, " collector col"));
  }
  for (int i = 0; s.ok() && i < max_streams; ++i) {
    s = Shell(absl::StrCat("bash ", o->make_certs, " ", o->work_dir, " sensor bench-s", i));
  }
  if (!s.ok()) {
    std::cerr << "synmap-ingest-bench: " << s.message() << "\n";
    return 1;
  }
  std::printf("# sync_full=%s window=%d; records/s = records acked / wall time\n",
              o->sync_full ? "true" : "false", o->window);
  std::printf("%7s %9s %12s %8s %13s %12s %10s %10s\n", "streams", "rec/batch", "records",
              "seconds", "records/s", "collector_cpu_s", "cpu", "peak_rss_MiB");
  int rc = 0;
  for (int n : o->stream_counts) {
    absl::Status run = RunOne(*o, n);
    if (!run.ok()) {
      std::cerr << "synmap-ingest-bench: " << run.message() << "\n";
      rc = 1;
    }
  }
  (void)Shell(absl::StrCat("rm -rf ", o->work_dir));
  return rc;
}

}  // namespace
}  // namespace synmap::collector

int main(int argc, char** argv) { return synmap::collector::Main(argc, argv); }
