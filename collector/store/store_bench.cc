// synmap-store-bench: commit throughput of the SQLite store with 1, 8 and 64 concurrent
// committers (synchronous FULL and NORMAL), and Summary latency over N stored records.
//
// usage: synmap-store-bench [--dir DIR] [--commit-records N] [--summary-records N]
//                           [--batch-records N] [--keys N] [--hours N]

#include <stdlib.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/query/names_holder.h"
#include "collector/query/query_engine.h"
#include "collector/store/postgres_store.h"
#include "collector/store/sqlite_store.h"
#include "common/batch/batch_codec.h"
#include "common/log/log.h"
#include "common/naming/name_table.h"
#include "common/naming/service_table.h"
#include "common/time/clock.h"

namespace synmap::collector {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStart = 1'700'000'000 * kSecond;

struct Flags {
  std::string dir = "/tmp";
  uint64_t commit_records = 2'000'000;
  uint64_t summary_records = 10'000'000;
  int batch_records = 5'000;
  uint64_t keys = 1'000'000;  // Distinct (client, server, port) keys the records draw from.
  int hours = 24;             // Capture-time span of the summary data set.
  // The summary data set in this PostgreSQL database (emptied first by the caller) instead
  // of a SQLite file; a second store on it stands for a second collector.
  std::string postgres;
};

std::string Ip4(uint32_t value) {
  std::string raw(4, '\0');
  for (int i = 0; i < 4; ++i) {
    raw[static_cast<size_t>(i)] = static_cast<char>((value >> (24 - 8 * i)) & 0xff);
  }
  return raw;
}

// Resident set size of this process (VmRSS), 0 if unknown.
int64_t RssBytes() {
  FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) {
    return 0;
  }
  char line[256];
  long long kib = 0;
  while (std::fgets(line, sizeof(line), status) != nullptr) {
    if (std::sscanf(line, "VmRSS: %lld kB", &kib) == 1) {
      break;
    }
  }
  std::fclose(status);
  return kib * 1024;
}

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A batch of `n` records drawn uniformly from the sensor's share (1/`sensors`, disjoint: each
// sensor watches its own segment) of a population of (client, server, port) keys over 300k
// clients (2/3 local 10/8, 1/3 remote), 5k local servers and 20 ports, like a site whose
// clients keep using the same services; capture time inside [start, start + 10s).
common::SequencedBatch MakeBatch(std::mt19937_64& rng, uint64_t seq, int64_t start_ns, int n,
                                 uint64_t population, uint64_t sensor, uint64_t sensors) {
  const uint64_t share = std::max<uint64_t>(1, population / sensors);
  static constexpr uint32_t kPorts[] = {22,  25,  53,  80,  110,  143,  389,  443,  445,  465,
                                        587, 636, 993, 995, 3306, 3389, 5432, 8080, 8443, 9999};
  synmap::v1::Batch batch;
  batch.set_seq(seq);
  batch.set_start_unix_ns(start_ns);
  batch.set_end_unix_ns(start_ns + 10 * kSecond);
  batch.mutable_stats()->set_packets_received(static_cast<uint64_t>(n) * 3);
  for (int i = 0; i < n; ++i) {
    synmap::v1::Record* r = batch.add_records();
    const uint64_t key = Mix((rng() % share) * sensors + sensor);
    const auto client = static_cast<uint32_t>(key % 300'000);
    r->set_client_ip(
        Ip4(client < 200'000 ? (10u << 24) + 0x10000 + client : (100u << 24) + client * 7));
    r->set_server_ip(Ip4((10u << 24) + static_cast<uint32_t>((key >> 20) % 5'000)));
    r->set_server_port(kPorts[(key >> 40) % 20]);
    const uint64_t connections = 1 + rng() % 5;
    r->set_connections(connections);
    r->set_packets(connections + rng() % 2);
    const int64_t at = start_ns + static_cast<int64_t>(rng() % (10 * kSecond));
    r->set_first_seen_unix_ns(at);
    r->set_last_seen_unix_ns(at);
  }
  return common::DecodeBatch(batch).value();
}

// CPU seconds used by the whole process so far (all threads).
double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::unique_ptr<Store> OpenOrDie(const SqliteStoreOptions& options) {
  auto store = OpenSqliteStore(options);
  if (!store.ok()) {
    std::fprintf(stderr, "open store: %s\n", std::string(store.status().message()).c_str());
    std::exit(1);
  }
  return *std::move(store);
}

// Commits `total` records as batches from `threads` sensors at once; returns records/s.
double CommitThroughput(const Flags& flags, int threads, bool sync_full) {
  const std::string path =
      absl::StrCat(flags.dir, "/commit-", threads, sync_full ? "-full" : "-normal", ".db");
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  SqliteStoreOptions options;
  options.path = path;
  options.sync_full = sync_full;
  auto store = OpenOrDie(options);
  const uint64_t batches_per_thread =
      std::max<uint64_t>(1, flags.commit_records / static_cast<uint64_t>(flags.batch_records) /
                                static_cast<uint64_t>(threads));
  // Batches are built before the clock starts: the gRPC layer hands the store plain batches.
  std::vector<std::vector<common::SequencedBatch>> work(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    std::mt19937_64 rng(static_cast<uint64_t>(t) + 1);
    for (uint64_t b = 0; b < batches_per_thread; ++b) {
      work[static_cast<size_t>(t)].push_back(MakeBatch(
          rng, b + 1, kStart + static_cast<int64_t>(b) * 10 * kSecond, flags.batch_records,
          flags.keys, static_cast<uint64_t>(t), static_cast<uint64_t>(threads)));
    }
  }
  const absl::Time begin = absl::Now();
  const double cpu_begin = ProcessCpuSeconds();
  std::vector<std::thread> committers;
  for (int t = 0; t < threads; ++t) {
    committers.emplace_back([&, t] {
      const std::string sensor = absl::StrCat("sensor-", t);
      for (const common::SequencedBatch& batch : work[static_cast<size_t>(t)]) {
        auto result = store->Commit(sensor, batch);
        if (!result.ok()) {
          std::fprintf(stderr, "commit: %s\n", std::string(result.status().message()).c_str());
          std::exit(1);
        }
      }
    });
  }
  for (auto& thread : committers) {
    thread.join();
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - begin);
  const double cpu = ProcessCpuSeconds() - cpu_begin;
  const StoreStats stats = store->stats();
  const double rate = static_cast<double>(stats.records) / seconds;
  std::printf(
      "commit threads=%-3d sync=%-6s records=%llu batches=%llu transactions=%llu "
      "wall_s=%.2f records_per_s=%.0f cpu_s=%.2f records_per_cpu_s=%.0f\n",
      threads, sync_full ? "FULL" : "NORMAL", static_cast<unsigned long long>(stats.records),
      static_cast<unsigned long long>(stats.commits),
      static_cast<unsigned long long>(stats.transactions), seconds, rate, cpu,
      static_cast<double>(stats.records) / cpu);
  std::fflush(stdout);
  (void)store->Close();
  return rate;
}

template <typename Fn>
double MedianMs(int runs, Fn fn) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const absl::Time begin = absl::Now();
    fn();
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - begin));
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

void SummaryLatency(const Flags& flags) {
  const std::string path = absl::StrCat(flags.dir, "/summary.db");
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(path + suffix);
  }
  SqliteStoreOptions options;
  options.path = path;
  options.sync_full = false;
  // The collector's clock just after the data: recent data, in the finest (1 min) tier while
  // --hours is at most 48.
  FakeClock clock(absl::FromUnixNanos(kStart + (flags.hours + 1) * int64_t{3600} * kSecond));
  options.clock = &clock;
  const int64_t rss_before = RssBytes();
  PostgresStoreOptions pg_options;
  pg_options.uri = flags.postgres;
  pg_options.clock = &clock;
  auto open = [&]() -> std::unique_ptr<Store> {
    if (flags.postgres.empty()) {
      return OpenOrDie(options);
    }
    auto pg = OpenPostgresStore(pg_options);
    if (!pg.ok()) {
      std::fprintf(stderr, "open store: %s\n", std::string(pg.status().message()).c_str());
      std::exit(1);
    }
    return *std::move(pg);
  };
  auto store = open();
  // Spread over --hours of capture time and 4 sensors.
  const uint64_t batches = flags.summary_records / static_cast<uint64_t>(flags.batch_records);
  std::mt19937_64 rng(42);
  const absl::Time load_begin = absl::Now();
  for (uint64_t b = 0; b < batches; ++b) {
    const int64_t start =
        kStart +
        static_cast<int64_t>(b * static_cast<uint64_t>(flags.hours) * 3600 / batches) * kSecond;
    auto batch = MakeBatch(rng, b / 4 + 1, start, flags.batch_records, flags.keys, b % 4, 4);
    if (!store->Commit(absl::StrCat("sensor-", b % 4), std::move(batch)).ok()) {
      std::exit(1);
    }
  }
  const double load_s = absl::ToDoubleSeconds(absl::Now() - load_begin);
  StoreStats stats = store->stats();
  const int64_t rss_grown = RssBytes() - rss_before;
  std::printf(
      "summary_load keys=%llu hours=%d records=%llu aggregate_rows=%llu buckets=%llu "
      "seconds=%.1f rss_grown_mib=%.0f bytes_per_row=%.0f\n",
      static_cast<unsigned long long>(flags.keys), flags.hours,
      static_cast<unsigned long long>(stats.records),
      static_cast<unsigned long long>(stats.aggregate_rows),
      static_cast<unsigned long long>(stats.buckets), load_s, rss_grown / 1048576.0,
      stats.aggregate_rows == 0
          ? 0.0
          : static_cast<double>(rss_grown) / static_cast<double>(stats.aggregate_rows));

  auto services = common::ServiceTable::LoadFile(common::kSystemServicesPath);
  auto names = common::NameTable::FromYaml(
      "local_networks: [10.0.0.0/8]\nhosts:\n  dumbo: [10.0.0.1]\n  www: [10.0.0.3, 10.0.0.4]\n",
      "bench.yaml", services.ok() ? *services : common::ServiceTable());
  if (!names.ok()) {
    std::exit(1);
  }
  NamesHolder holder(std::make_shared<const common::NameTable>(*names));
  // With PostgreSQL: a second collector opens the same database (replaying the log) and
  // answers the same queries.
  std::unique_ptr<Store> second;
  if (!flags.postgres.empty()) {
    const absl::Time second_begin = absl::Now();
    second = open();
    std::printf("postgres second_collector_open_s=%.1f records=%llu aggregate_rows=%llu\n",
                absl::ToDoubleSeconds(absl::Now() - second_begin),
                static_cast<unsigned long long>(second->stats().records),
                static_cast<unsigned long long>(second->stats().aggregate_rows));
  }
  QueryEngine first_engine(*store, holder);
  std::unique_ptr<QueryEngine> second_engine;
  if (second != nullptr) {
    second_engine = std::make_unique<QueryEngine>(*second, holder);
  }
  struct Case {
    const char* name;
    synmap::v1::SummaryRequest request;
  };
  std::vector<Case> cases(6);
  cases[0].name = "default";
  cases[1].name = "show_remote";
  cases[1].request.set_show_remote(true);
  cases[2].name = "by_sensor";
  cases[2].request.set_by_sensor(true);
  cases[3].name = "server_filter";
  cases[3].request.mutable_filters()->set_server("10.0.0.0/24");
  cases[4].name = "last_6h";
  cases[4].request.mutable_range()->set_since_unix_ns(kStart +
                                                      (flags.hours - 6) * int64_t{3600} * kSecond);
  for (size_t i = 0; i < 5; ++i) {
    cases[i].request.set_top_n(1'000);  // As the CLI's text output; the last case: every row.
  }
  cases[5].name = "all_rows";
  for (QueryEngine* engine_ptr : {&first_engine, second_engine.get()}) {
    if (engine_ptr == nullptr) {
      continue;
    }
    QueryEngine& engine = *engine_ptr;
    if (engine_ptr == second_engine.get()) {
      std::printf("# from the second collector\n");
    }
    for (const Case& c : cases) {
      uint64_t rows = 0;
      std::vector<double> cpu_ms;
      const double ms = MedianMs(5, [&] {
        const double cpu_begin = ProcessCpuSeconds();
        auto response = engine.Summary(c.request);
        cpu_ms.push_back((ProcessCpuSeconds() - cpu_begin) * 1e3);
        rows = response.ok() ? response->total_rows() : 0;
      });
      std::sort(cpu_ms.begin(), cpu_ms.end());
      std::printf(
          "summary case=%-13s stored_rows=%llu result_rows=%llu median_wall_ms=%.0f "
          "median_cpu_ms=%.0f\n",
          c.name, static_cast<unsigned long long>(stats.aggregate_rows),
          static_cast<unsigned long long>(rows), ms, cpu_ms[cpu_ms.size() / 2]);
      std::fflush(stdout);
    }
  }
  second_engine.reset();
  second.reset();
  const absl::Time close_begin = absl::Now();
  (void)store->Close();
  const double close_s = absl::ToDoubleSeconds(absl::Now() - close_begin);
  const absl::Time open_begin = absl::Now();
  auto reopened = open();
  const double open_s = absl::ToDoubleSeconds(absl::Now() - open_begin);
  std::printf("checkpoint_on_close_s=%.1f reopen_s=%.1f db_bytes=%llu\n", close_s, open_s,
              flags.postgres.empty()
                  ? static_cast<unsigned long long>(std::filesystem::file_size(path))
                  : 0ull);
}

}  // namespace
}  // namespace synmap::collector

int main(int argc, char** argv) {
  synmap::collector::Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    bool ok = true;
    if (flag == "--dir") {
      flags.dir = value;
    } else if (flag == "--commit-records") {
      ok = absl::SimpleAtoi(value, &flags.commit_records);
    } else if (flag == "--summary-records") {
      ok = absl::SimpleAtoi(value, &flags.summary_records);
    } else if (flag == "--keys") {
      ok = absl::SimpleAtoi(value, &flags.keys) && flags.keys > 0;
    } else if (flag == "--hours") {
      ok = absl::SimpleAtoi(value, &flags.hours) && flags.hours > 6;
    } else if (flag == "--postgres") {
      flags.postgres = value;
    } else if (flag == "--batch-records") {
      ok = absl::SimpleAtoi(value, &flags.batch_records) && flags.batch_records > 0;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "bad flag %s %s\n", flag.c_str(), value);
      return 2;
    }
  }
  synmap::log::SetMinSeverity(synmap::log::Severity::kWarning);
  for (bool sync_full : {true, false}) {
    if (flags.commit_records == 0) {
      break;
    }
    for (int threads : {1, 8, 64}) {
      synmap::collector::CommitThroughput(flags, threads, sync_full);
    }
  }
  if (flags.summary_records > 0) {
    synmap::collector::SummaryLatency(flags);
  }
  return 0;
}
