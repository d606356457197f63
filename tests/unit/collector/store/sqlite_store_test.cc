#include "collector/store/sqlite_store.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/collector/store/batch_builder.h"

namespace synmap::collector {
namespace {

using synmap::testing::StatusIs;
using synmap::testing::TempDir;
using testing::AddRecord;
using testing::IpBytes;
using testing::kHour;
using testing::kSecond;
using testing::kT0;
using testing::MakeBatch;
using testing::Plain;

// One aggregate row in comparable form.
using Row = std::tuple<std::string, int64_t, std::string, std::string, uint32_t, uint64_t, uint64_t,
                       int64_t, int64_t>;

std::vector<Row> Rows(const StoreSnapshot& s) {
  std::vector<Row> rows;
  for (const auto& b : s.buckets) {
    for (size_t r = 0; r < b->size(); ++r) {
      const AggregateKey& k = (*s.keys)[b->key[r]];
      rows.emplace_back(s.sensors[k.sensor].name, b->start_ns, (*s.ips)[k.client].ToString(),
                        (*s.ips)[k.server].ToString(), k.port, b->packets[r], b->connections[r],
                        b->first_seen_ns[r], b->last_seen_ns[r]);
    }
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

uint64_t TotalConnections(const StoreSnapshot& s) {
  uint64_t total = 0;
  for (const auto& b : s.buckets) {
    for (uint64_t c : b->connections) {
      total += c;
    }
  }
  return total;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  SqliteStoreOptions Options() {
    SqliteStoreOptions options;
    options.path = dir_.File("store.db");
    options.clock = &clock_;
    return options;
  }
  std::unique_ptr<Store> Open(const SqliteStoreOptions& options) {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(options);
    EXPECT_OK(store);
    return store.ok() ? *std::move(store) : nullptr;
  }
  std::shared_ptr<const StoreSnapshot> All(Store& store) {
    return store.Snapshot(0, 0, SnapshotBuckets::kAll);
  }

  TempDir dir_;
  FakeClock clock_{absl::FromUnixNanos(kT0 + 2 * kHour)};
};

synmap::v1::Batch OneRecordBatch(uint64_t seq, int64_t at_ns, uint64_t connections = 1) {
  synmap::v1::Batch batch = MakeBatch(seq, at_ns);
  AddRecord(batch, "10.0.0.2", "10.0.0.1", 22, connections, at_ns + kSecond);
  return batch;
}

TEST_F(SqliteStoreTest, CommitAppliesOnceAndDuplicateIsAckedWithoutApplying) {
  auto store = Open(Options());
  ASSERT_NE(store, nullptr);
  const synmap::v1::Batch batch = OneRecordBatch(1, kT0, 3);
  ASSERT_OK_AND_ASSIGN(CommitResult first, store->Commit("s1", Plain(batch)));
  ASSERT_OK_AND_ASSIGN(CommitResult again, store->Commit("s1", Plain(batch)));
  EXPECT_FALSE(first.duplicate);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(TotalConnections(*All(*store)), 3u);
  EXPECT_EQ(store->LastCommittedSeq("s1"), 1u);
  EXPECT_EQ(store->stats().duplicates, 1u);
}

TEST_F(SqliteStoreTest, SameSeqFromAnotherSensorIsNotADuplicate) {
  auto store = Open(Options());
  ASSERT_OK_AND_ASSIGN(CommitResult a, store->Commit("s1", Plain(OneRecordBatch(1, kT0))));
  ASSERT_OK_AND_ASSIGN(CommitResult b, store->Commit("s2", Plain(OneRecordBatch(1, kT0))));
  EXPECT_FALSE(a.duplicate);
  EXPECT_FALSE(b.duplicate);
  EXPECT_EQ(TotalConnections(*All(*store)), 2u);
}

TEST_F(SqliteStoreTest, SeqBelowHighestCommittedIsAConflictUnlessCommitted) {
  auto store = Open(Options());
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(5, kT0))));
  ASSERT_OK_AND_ASSIGN(CommitResult behind, store->Commit("s1", Plain(OneRecordBatch(3, kT0))));
  EXPECT_TRUE(behind.conflict);
  EXPECT_EQ(behind.last_committed_seq, 5u);
  ASSERT_OK_AND_ASSIGN(CommitResult old, store->Commit("s1", Plain(OneRecordBatch(5, kT0))));
  EXPECT_TRUE(old.duplicate);
  ASSERT_OK_AND_ASSIGN(CommitResult next, store->Commit("s1", Plain(OneRecordBatch(6, kT0))));
  EXPECT_FALSE(next.duplicate);
  EXPECT_EQ(TotalConnections(*All(*store)), 2u);
}

TEST_F(SqliteStoreTest, BatchViolatingALimitIsRefusedAndNothingStored) {
  auto store = Open(Options());
  synmap::v1::Batch bad_port = OneRecordBatch(1, kT0);
  bad_port.mutable_records(0)->set_server_port(0);
  synmap::v1::Batch bad_ip = OneRecordBatch(1, kT0);
  bad_ip.mutable_records(0)->set_client_ip(IpBytes("2001:db8::2"));  // Mixed families.
  synmap::v1::Batch outside = OneRecordBatch(1, kT0);
  outside.mutable_records(0)->set_last_seen_unix_ns(kT0 + kHour);
  synmap::v1::Batch future = OneRecordBatch(1, kT0 + 48 * kHour);
  synmap::v1::Batch zero_seq = OneRecordBatch(0, kT0);
  for (const auto& batch : {bad_port, bad_ip, outside, future, zero_seq}) {
    EXPECT_THAT(store->Commit("s1", Plain(batch)), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(store->Commit("", Plain(OneRecordBatch(1, kT0))),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(store->LastCommittedSeq("s1"), 0u);
  EXPECT_EQ(TotalConnections(*All(*store)), 0u);
}

TEST_F(SqliteStoreTest, ReopenAfterCloseKeepsRecordsSensorsAndSeqs) {
  std::vector<Row> before;
  {
    auto store = Open(Options());
    synmap::v1::Batch batch = OneRecordBatch(1, kT0);
    batch.mutable_stats()->set_kernel_drops(7);
    AddRecord(batch, "2001:db8::5", "2001:db8::1", 443, 4, kT0 + 2 * kSecond);
    ASSERT_OK(store->Commit("s1", Plain(batch)));
    ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(2, kT0 + kHour))));
    synmap::v1::Hello hello;
    hello.set_software_version("0.1.0");
    ASSERT_OK(store->RecordHello("s1", "ipv4:10.9.9.9:4000", common::SensorInfoFromProto(hello)));
    before = Rows(*All(*store));
    ASSERT_OK(store->Close());
  }
  auto store = Open(Options());
  auto snapshot = All(*store);
  EXPECT_EQ(Rows(*snapshot), before);
  EXPECT_EQ(before.size(), 3u);
  ASSERT_EQ(snapshot->sensors.size(), 1u);
  EXPECT_EQ(snapshot->sensors[0].last_seq, 2u);
  EXPECT_EQ(snapshot->sensors[0].totals.kernel_drops, 7u);
  EXPECT_EQ(snapshot->sensors[0].hello.software_version, "0.1.0");
  EXPECT_EQ(snapshot->sensors[0].peer_address, "ipv4:10.9.9.9:4000");
  EXPECT_FALSE(snapshot->sensors[0].connected);  // Live state is not persisted.
  ASSERT_OK_AND_ASSIGN(CommitResult again,
                       store->Commit("s1", Plain(OneRecordBatch(2, kT0 + kHour))));
  EXPECT_TRUE(again.duplicate);
  ASSERT_OK_AND_ASSIGN(CommitResult other, store->Commit("s1", Plain(OneRecordBatch(1, kT0))));
  EXPECT_TRUE(other.conflict) << "seq 1 holds other content";
}

TEST_F(SqliteStoreTest, LogReplayAfterCheckpointEqualsDirectApplication) {
  // Store A: checkpoint in the middle, close without a final checkpoint, so reopening loads
  // the checkpoint and replays the log after it. Store B: the same commits, never reopened.
  SqliteStoreOptions a_options = Options();
  a_options.checkpoint_on_close = false;
  SqliteStoreOptions b_options = Options();
  b_options.path = dir_.File("direct.db");
  auto b = Open(b_options);
  {
    auto a = Open(a_options);
    for (uint64_t seq = 1; seq <= 40; ++seq) {
      synmap::v1::Batch batch = MakeBatch(seq, kT0 + static_cast<int64_t>(seq) * 300 * kSecond);
      // The same key in several batches and buckets, plus a per-batch key.
      AddRecord(batch, "10.0.0.2", "10.0.0.1", 22, seq, batch.start_unix_ns() + kSecond);
      AddRecord(batch, "10.0.0." + std::to_string(seq % 7 + 10), "10.0.0.1", 80, 1,
                batch.start_unix_ns() + 2 * kSecond, 2);
      ASSERT_OK(a->Commit(seq % 2 ? "odd" : "even", Plain(batch)));
      ASSERT_OK(b->Commit(seq % 2 ? "odd" : "even", Plain(batch)));
      if (seq == 17) {
        ASSERT_OK(a->Checkpoint());
      }
    }
    ASSERT_OK(a->Close());
  }
  auto reopened = Open(a_options);
  EXPECT_EQ(reopened->stats().replayed_batches, 23u);
  EXPECT_EQ(Rows(*All(*reopened)), Rows(*All(*b)));
  EXPECT_FALSE(Rows(*All(*b)).empty());
}

TEST_F(SqliteStoreTest, CheckpointOnCloseLeavesNothingToReplay) {
  {
    auto store = Open(Options());
    ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, kT0))));
    ASSERT_OK(store->Close());
  }
  auto store = Open(Options());
  EXPECT_EQ(store->stats().replayed_batches, 0u);
  EXPECT_EQ(TotalConnections(*All(*store)), 1u);
}

// Child process: commits batches 1..n of one record (1 connection each) from 4 threads, each
// thread its own sensor, writing "sensor seq\n" to `fd` after each commit returns, with a
// tiny checkpoint threshold so checkpoints run mid-stream; SIGKILLs itself after `kill_after`
// acks in total.
[[noreturn]] void CrashingChild(const SqliteStoreOptions& options, int fd, int kill_after) {
  auto store = OpenSqliteStore(options);
  if (!store.ok()) {
    _exit(3);
  }
  std::atomic<int> acked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string sensor = "s" + std::to_string(t);
      for (uint64_t seq = 1;; ++seq) {
        synmap::v1::Batch batch = OneRecordBatch(seq, kT0 + static_cast<int64_t>(seq) * kSecond);
        if (!(*store)->Commit(sensor, Plain(batch)).ok()) {
          _exit(4);
        }
        const std::string line = sensor + " " + std::to_string(seq) + "\n";
        if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
          _exit(5);
        }
        if (acked.fetch_add(1) + 1 >= kill_after) {
          raise(SIGKILL);
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  _exit(6);
}

TEST_F(SqliteStoreTest, CommitsAckedBeforeSigkillSurviveExactlyOnce) {
  SqliteStoreOptions options = Options();
  options.sync_full = false;  // SIGKILL (not power loss) is what this test simulates.
  options.checkpoint_records = 50;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    CrashingChild(options, fds[1], 400);
  }
  close(fds[1]);
  std::string acks;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof(buffer))) > 0;) {
    acks.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL) << "child status " << wstatus;

  std::map<std::string, uint64_t> max_acked;
  std::istringstream lines(acks);
  std::string sensor;
  uint64_t seq;
  while (lines >> sensor >> seq) {
    max_acked[sensor] = std::max(max_acked[sensor], seq);
  }
  ASSERT_EQ(max_acked.size(), 4u);

  auto store = Open(options);
  auto snapshot = All(*store);
  uint64_t committed_total = 0;
  for (const auto& [name, acked] : max_acked) {
    const uint64_t last = store->LastCommittedSeq(name);
    EXPECT_GE(last, acked) << name << ": an acked commit was lost";
    committed_total += last;
    // Every acked batch is known as committed: resending it is a duplicate.
    ASSERT_OK_AND_ASSIGN(
        CommitResult resend,
        store->Commit(name,
                      Plain(OneRecordBatch(acked, kT0 + static_cast<int64_t>(acked) * kSecond))));
    EXPECT_TRUE(resend.duplicate);
  }
  // Seqs are 1..last per sensor, one connection each: the aggregates count each batch once.
  EXPECT_EQ(TotalConnections(*store->Snapshot(0, 0, SnapshotBuckets::kAll)), committed_total);
  EXPECT_EQ(TotalConnections(*snapshot), committed_total);
}

TEST_F(SqliteStoreTest, ConcurrentCommittersAllLandOnce) {
  auto store = Open(Options());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t seq = 1; seq <= 50; ++seq) {
        EXPECT_OK(store->Commit("s" + std::to_string(t), Plain(OneRecordBatch(seq, kT0))));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(TotalConnections(*All(*store)), 400u);
  EXPECT_EQ(store->stats().commits, 400u);
  EXPECT_LE(store->stats().transactions, 400u);
}

TEST_F(SqliteStoreTest, SnapshotIsNotChangedByLaterCommits) {
  auto store = Open(Options());
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, kT0, 2))));
  auto before = All(*store);
  const std::vector<Row> rows_before = Rows(*before);
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(2, kT0, 5))));  // Same key, same bucket.
  synmap::v1::Batch other = MakeBatch(3, kT0);
  AddRecord(other, "192.0.2.1", "10.0.0.1", 80, 1, kT0 + kSecond);
  ASSERT_OK(store->Commit("s1", Plain(other)));
  EXPECT_EQ(Rows(*before), rows_before);
  EXPECT_EQ(TotalConnections(*All(*store)), 8u);
}

TEST_F(SqliteStoreTest, SnapshotsTakenDuringCommitsSeeWholeBatchesOnly) {
  // Every batch adds exactly 3 connections (3 keys, one of them new per batch), so in any
  // consistent snapshot the rows hold 3 connections per batch its coverage counts.
  auto store = Open(Options());
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (uint64_t seq = 1; seq <= 60; ++seq) {
        synmap::v1::Batch batch = MakeBatch(seq, kT0 + static_cast<int64_t>(seq) * 60 * kSecond);
        const int64_t at = batch.start_unix_ns() + kSecond;
        AddRecord(batch, "10.0.0.2", "10.0.0.1", 22, 1, at);
        AddRecord(batch, "10.0.0.3", "10.0.0.1", 80, 1, at);
        AddRecord(batch, "10.1." + std::to_string(t) + "." + std::to_string(seq), "10.0.0.1", 443,
                  1, at);
        EXPECT_OK(store->Commit("s" + std::to_string(t), Plain(std::move(batch))));
      }
    });
  }
  int checked = 0;
  std::thread reader([&] {
    while (!done.load()) {
      auto snapshot = store->Snapshot(0, 0, SnapshotBuckets::kAll);
      uint64_t batches = 0;
      for (const auto& c : snapshot->coverage) {
        batches += c.batches;
      }
      ASSERT_EQ(TotalConnections(*snapshot), 3 * batches);
      ++checked;
    }
  });
  for (auto& writer : writers) {
    writer.join();
  }
  done.store(true);
  reader.join();
  EXPECT_GT(checked, 0);
  EXPECT_EQ(TotalConnections(*All(*store)), 3u * 240u);
}

TEST_F(SqliteStoreTest, SnapshotWindowSelectsOverlappingBucketsAndCoverage) {
  auto store = Open(Options());
  synmap::v1::Batch early = OneRecordBatch(1, kT0);
  early.mutable_stats()->set_kernel_drops(3);
  early.mutable_stats()->set_malformed(1);
  synmap::v1::Batch late = OneRecordBatch(2, kT0 + kHour);
  late.mutable_stats()->set_kernel_drops(4);
  late.mutable_health()->set_batches_dropped(2);
  late.mutable_health()->set_records_dropped(20);
  ASSERT_OK(store->Commit("s1", Plain(early)));
  ASSERT_OK(store->Commit("s1", Plain(late)));
  auto window = store->Snapshot(kT0 + kHour, 0, SnapshotBuckets::kWindow);
  ASSERT_EQ(window->buckets.size(), 1u);
  EXPECT_EQ(window->buckets[0]->start_ns, kT0 + kHour);
  ASSERT_EQ(window->coverage.size(), 1u);
  EXPECT_EQ(window->coverage[0].batches, 1u);
  EXPECT_EQ(window->coverage[0].last_seq, 2u);
  EXPECT_EQ(window->coverage[0].stats.kernel_drops, 4u);
  EXPECT_EQ(window->coverage[0].spool_batches_dropped, 2u);
  EXPECT_EQ(window->coverage[0].spool_records_dropped, 20u);
  auto all = store->Snapshot(0, 0, SnapshotBuckets::kWindow);
  ASSERT_EQ(all->coverage.size(), 1u);
  EXPECT_EQ(all->coverage[0].stats.kernel_drops, 7u);
  EXPECT_EQ(all->coverage[0].stats.malformed, 1u);
}

TEST_F(SqliteStoreTest, SpoolDropCountersBecomeIncreasesAcrossBatchesAndRestarts) {
  auto store = Open(Options());
  const std::vector<uint64_t> cumulative = {2, 5, 5, 1};  // The sensor restarted before the 4th.
  for (uint64_t seq = 1; seq <= cumulative.size(); ++seq) {
    synmap::v1::Batch batch = OneRecordBatch(seq, kT0);
    batch.mutable_health()->set_batches_dropped(cumulative[seq - 1]);
    ASSERT_OK(store->Commit("s1", Plain(batch)));
  }
  auto snapshot = store->Snapshot(0, 0, SnapshotBuckets::kNone);
  ASSERT_EQ(snapshot->coverage.size(), 1u);
  EXPECT_EQ(snapshot->coverage[0].spool_batches_dropped, 2u + 3u + 0u + 1u);
}

TEST_F(SqliteStoreTest, HelloHeartbeatAndDisconnectUpdateSensorState) {
  auto store = Open(Options());
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(4, kT0))));
  synmap::v1::Hello hello;
  hello.add_interfaces("eth0");
  hello.mutable_health()->set_spool_batches(9);
  ASSERT_OK_AND_ASSIGN(uint64_t last_seq,
                       store->RecordHello("s1", "peer", common::SensorInfoFromProto(hello)));
  EXPECT_EQ(last_seq, 4u);
  ASSERT_OK_AND_ASSIGN(uint64_t fresh,
                       store->RecordHello("new", "peer2", common::SensorInfoFromProto(hello)));
  EXPECT_EQ(fresh, 0u);
  clock_.Advance(absl::Seconds(30));
  synmap::v1::Heartbeat heartbeat;
  heartbeat.mutable_health()->set_spool_batches(1);
  ASSERT_OK(store->RecordHeartbeat("s1", common::HealthFromProto(heartbeat.health())));
  auto sensors = store->Snapshot(0, 0, SnapshotBuckets::kNone)->sensors;
  ASSERT_EQ(sensors.size(), 2u);
  EXPECT_TRUE(sensors[0].connected);
  EXPECT_EQ(sensors[0].hello.interfaces[0], "eth0");
  EXPECT_EQ(sensors[0].health.spool_batches, 1u);
  EXPECT_EQ(sensors[0].last_heartbeat_ns, absl::ToUnixNanos(clock_.Now()));
  store->RecordDisconnect("s1");
  EXPECT_FALSE(store->Snapshot(0, 0, SnapshotBuckets::kNone)->sensors[0].connected);
}

TEST_F(SqliteStoreTest, RetentionDropsOldBucketsAndBatchesAlsoAfterReopen) {
  SqliteStoreOptions options = Options();
  options.retention = absl::Hours(24);
  clock_.Set(absl::FromUnixNanos(kT0 + 12 * kHour));
  {
    auto store = Open(options);
    ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, kT0 + 1 * kHour, 5))));
    ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(2, kT0 + 10 * kHour, 1))));
    EXPECT_EQ(TotalConnections(*All(*store)), 6u);
    clock_.Advance(absl::Hours(20));  // Cutoff now kT0 + 8h: the first bucket is too old.
    ASSERT_OK(store->ApplyRetention());
    EXPECT_EQ(TotalConnections(*All(*store)), 1u);
    EXPECT_EQ(store->Snapshot(0, 0, SnapshotBuckets::kNone)->coverage[0].batches, 1u);
    ASSERT_OK(store->Close());
  }
  auto store = Open(options);
  EXPECT_EQ(TotalConnections(*All(*store)), 1u);
  EXPECT_EQ(store->Snapshot(0, 0, SnapshotBuckets::kNone)->coverage[0].batches, 1u);
}

TEST_F(SqliteStoreTest, RecordsOlderThanRetentionAreNotApplied) {
  SqliteStoreOptions options = Options();
  options.retention = absl::Hours(24);
  clock_.Set(absl::FromUnixNanos(kT0 + 72 * kHour));
  auto store = Open(options);
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, kT0, 5))));
  EXPECT_EQ(TotalConnections(*All(*store)), 0u);
  EXPECT_EQ(store->LastCommittedSeq("s1"), 1u);
}

int64_t UserVersion(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
  int64_t version = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    version = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return version;
}

TEST_F(SqliteStoreTest, EmptyFileIsMigratedToCurrentSchema) {
  const SqliteStoreOptions options = Options();
  { std::ofstream(options.path).flush(); }
  ASSERT_EQ(UserVersion(options.path), 0);
  {
    auto store = Open(options);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, kT0))));
  }
  // 2: digests; 3: log index; 4: sites; 5: revocations; 6: enrolment tokens.
  EXPECT_EQ(UserVersion(options.path), 6);
  auto reopened = Open(options);  // Already current: no migration runs again.
  EXPECT_EQ(TotalConnections(*All(*reopened)), 1u);
}

TEST_F(SqliteStoreTest, NewerSchemaIsRefused) {
  const SqliteStoreOptions options = Options();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(options.path.c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_THAT(OpenSqliteStore(options), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(SqliteStoreTest, ChangedTiersKeepStoredBucketsAndTotals) {
  SqliteStoreOptions options = Options();
  {
    auto store = Open(options);
    ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, kT0 + 90 * kSecond, 3))));
  }
  options.tiers = {{absl::Minutes(10), absl::Hours(1)}, {absl::Hours(2), absl::InfiniteDuration()}};
  clock_.Advance(absl::Hours(2));
  auto store = Open(options);
  auto all = All(*store);
  EXPECT_EQ(TotalConnections(*all), 3u);
  // The 1 min bucket was older than 1 h at open: rolled up into its 2 h bucket.
  ASSERT_EQ(all->buckets.size(), 1u);
  EXPECT_EQ(all->buckets[0]->width_ns, 2 * kHour);
}

TEST_F(SqliteStoreTest, InvalidOptionsAreRefused) {
  SqliteStoreOptions options = Options();
  options.tiers = {{absl::Minutes(7), absl::Hours(1)}, {absl::Hours(1), absl::InfiniteDuration()}};
  EXPECT_THAT(OpenSqliteStore(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options.tiers = {{absl::Minutes(1), absl::Hours(1)}};  // The last tier must have no age.
  EXPECT_THAT(OpenSqliteStore(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options.tiers = {};
  EXPECT_THAT(OpenSqliteStore(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options = Options();
  options.path.clear();
  EXPECT_THAT(OpenSqliteStore(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SqliteStoreTest, CallsAfterCloseAreCancelled) {
  auto store = Open(Options());
  ASSERT_OK(store->Close());
  EXPECT_OK(store->Close());
  EXPECT_THAT(store->Commit("s1", Plain(OneRecordBatch(1, kT0))),
              StatusIs(absl::StatusCode::kCancelled));
}

// --- Tiered buckets, roll-up, retention and checksummed chunks ---

constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kDay = 24 * kHour;

// Connections per bucket-independent key (client, server, port), summed over `s`'s buckets.
std::map<std::string, uint64_t> PerKey(const StoreSnapshot& s) {
  std::map<std::string, uint64_t> out;
  for (const auto& b : s.buckets) {
    for (size_t r = 0; r < b->size(); ++r) {
      const AggregateKey& k = (*s.keys)[b->key[r]];
      out[(*s.ips)[k.client].ToString() + ">" + (*s.ips)[k.server].ToString() + ":" +
          std::to_string(k.port)] += b->connections[r];
    }
  }
  return out;
}

// Batches of 10 s for `minutes` minutes from `from_ns`, 3 keys each, connections 1..3.
uint64_t CommitMinutes(Store& store, int64_t from_ns, int minutes, uint64_t first_seq) {
  uint64_t total = 0;
  uint64_t seq = first_seq;
  for (int64_t t = from_ns; t < from_ns + minutes * kMinute; t += 10 * kSecond) {
    synmap::v1::Batch batch = MakeBatch(seq++, t);
    for (uint32_t k = 0; k < 3; ++k) {
      AddRecord(batch, "10.0.0." + std::to_string(k + 2), "10.0.0.1", 22, k + 1, t + kSecond);
      total += k + 1;
    }
    EXPECT_OK(store.Commit("s1", Plain(batch)));
  }
  return total;
}

TEST_F(SqliteStoreTest, BatchesAreFiledInTheTierBucketOfTheirStart) {
  const int64_t now = kT0 + 200 * kDay;
  clock_.Set(absl::FromUnixNanos(now));
  auto store = Open(Options());
  ASSERT_OK(
      store->Commit("s1", Plain(OneRecordBatch(1, now - kHour + 90 * kSecond))));  // 1 min tier.
  ASSERT_OK(
      store->Commit("s1", Plain(OneRecordBatch(2, now - 5 * kDay + 90 * kSecond))));   // 1 h tier.
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(3, now - 100 * kDay + kHour))));  // 1 d tier.
  std::map<int64_t, int64_t> widths;
  const auto all = All(*store);
  for (const auto& b : all->buckets) {
    widths[b->width_ns] = b->start_ns;
  }
  ASSERT_EQ(widths.size(), 3u);
  EXPECT_EQ(widths[kMinute], now - kHour + kMinute);
  EXPECT_EQ(widths[kHour], now - 5 * kDay);
  EXPECT_EQ(widths[kDay], now - 100 * kDay - 22 * kHour);  // now is 22:00 UTC.
}

TEST_F(SqliteStoreTest, WindowEdgesInsideBucketsWidenToTheirEdgesAtEachTier) {
  const int64_t now = (kT0 / kDay + 200) * kDay;  // Midnight UTC.
  clock_.Set(absl::FromUnixNanos(now));
  auto store = Open(Options());
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, now - 100 * kDay + kHour))));
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(2, now - 5 * kDay + 90 * kSecond))));
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(3, now - kHour + 90 * kSecond))));
  struct Case {
    int64_t since, until, want_since, want_until, want_resolution;
  };
  const Case cases[] = {
      // Inside the 1 min tier.
      {now - kHour + 70 * kSecond, now - kHour + 130 * kSecond, now - kHour + kMinute,
       now - kHour + 3 * kMinute, kMinute + 0},
      // Edges on bucket edges: nothing to widen.
      {now - kHour, now - kHour + 15 * kMinute, now - kHour, now - kHour + 15 * kMinute, kMinute},
      // Inside the 1 h tier.
      {now - 5 * kDay + 20 * kMinute, now - 5 * kDay + 30 * kMinute, now - 5 * kDay,
       now - 5 * kDay + kHour, kHour},
      // Inside the 1 d tier; the answer's resolution is its coarsest bucket.
      {now - 100 * kDay + 3 * kHour, now - kHour + 70 * kSecond, now - 100 * kDay,
       now - kHour + 2 * kMinute, kDay},
  };
  for (const Case& c : cases) {
    auto snapshot = store->Snapshot(c.since, c.until, SnapshotBuckets::kWindow);
    EXPECT_EQ(snapshot->answered_since_ns, c.want_since) << c.since;
    EXPECT_EQ(snapshot->answered_until_ns, c.want_until) << c.until;
    EXPECT_EQ(snapshot->resolution_ns, c.want_resolution) << c.since;
  }
}

TEST_F(SqliteStoreTest, BatchStraddlingABucketEdgeGoesToItsStartAndCoarsensTheResolution) {
  auto store = Open(Options());
  synmap::v1::Batch batch = OneRecordBatch(1, kT0 + 55 * kSecond);  // Ends at kT0 + 65 s.
  ASSERT_OK(store->Commit("s1", Plain(batch)));
  auto snapshot = store->Snapshot(kT0, kT0 + kMinute, SnapshotBuckets::kWindow);
  EXPECT_EQ(TotalConnections(*snapshot), 1u);
  EXPECT_EQ(snapshot->resolution_ns, kMinute + 5 * kSecond);
  auto next = store->Snapshot(kT0 + kMinute, kT0 + 2 * kMinute, SnapshotBuckets::kWindow);
  EXPECT_EQ(TotalConnections(*next), 0u);
  EXPECT_EQ(next->resolution_ns, kMinute + 5 * kSecond);  // The batch's tail is not in it.
}

TEST_F(SqliteStoreTest, AgedMinuteBucketsRollUpIntoHoursWithTheSameTotalsAlsoAfterReopen) {
  SqliteStoreOptions options = Options();
  clock_.Set(absl::FromUnixNanos(kT0 + kHour));
  uint64_t total;
  std::map<std::string, uint64_t> per_key;
  {
    auto store = Open(options);
    total = CommitMinutes(*store, kT0, 60, 1);
    ASSERT_OK(store->Checkpoint());
    EXPECT_EQ(All(*store)->buckets.size(), 60u);
    per_key = PerKey(*All(*store));
    clock_.Advance(absl::Hours(49));
    ASSERT_OK(store->Checkpoint());
    auto all = All(*store);
    ASSERT_EQ(all->buckets.size(), 1u);
    EXPECT_EQ(all->buckets[0]->width_ns, kHour);
    EXPECT_EQ(TotalConnections(*all), total);
    EXPECT_EQ(PerKey(*all), per_key);
  }
  auto store = Open(options);
  EXPECT_EQ(All(*store)->buckets.size(), 1u);
  EXPECT_EQ(PerKey(*All(*store)), per_key);
}

// Child process: opens the store, rolls up (or applies retention) with the clock moved past
// the tier (or retention) edge, and is SIGKILLed at `step`.
[[noreturn]] void KilledAtStep(SqliteStoreOptions options, const std::string& step,
                               bool retention) {
  options.step_hook_for_testing = [step](absl::string_view at) {
    if (at == step) {
      raise(SIGKILL);
    }
  };
  auto store = OpenSqliteStore(options);
  if (!store.ok()) {
    _exit(3);
  }
  (void)(retention ? (*store)->ApplyRetention() : (*store)->Checkpoint());
  _exit(4);
}

void RunKilledAtStep(const SqliteStoreOptions& options, const std::string& step, bool retention) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    KilledAtStep(options, step, retention);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL) << "child status " << wstatus;
}

TEST_F(SqliteStoreTest, SigkillDuringRollUpChangesNoTotal) {
  for (const std::string step : {"rolled_up", "chunks_written"}) {
    SCOPED_TRACE(step);
    SqliteStoreOptions options = Options();
    options.path = dir_.File("rollup-" + step + ".db");
    options.checkpoint_on_close = false;
    clock_.Set(absl::FromUnixNanos(kT0 + 2 * kHour));
    std::map<std::string, uint64_t> per_key;
    {
      auto store = Open(options);
      CommitMinutes(*store, kT0, 30, 1);
      ASSERT_OK(store->Checkpoint());  // Minute chunks stored; more batches only in the log.
      CommitMinutes(*store, kT0 + 30 * kMinute, 30, 1000);
      per_key = PerKey(*All(*store));
    }
    clock_.Advance(absl::Hours(49));
    RunKilledAtStep(options, step, /*retention=*/false);
    auto store = Open(options);
    auto all = All(*store);
    EXPECT_EQ(PerKey(*all), per_key);
    ASSERT_OK(store->Checkpoint());
    ASSERT_OK(store->Close());
    auto again = Open(options);
    EXPECT_EQ(PerKey(*All(*again)), per_key);
    EXPECT_EQ(All(*again)->buckets.size(), 1u);
  }
}

TEST_F(SqliteStoreTest, SigkillDuringRetentionChangesNoRetainedTotal) {
  SqliteStoreOptions options = Options();
  options.retention = absl::Hours(24);
  options.checkpoint_on_close = false;
  clock_.Set(absl::FromUnixNanos(kT0 + 2 * kHour));
  std::map<std::string, uint64_t> kept;
  {
    auto store = Open(options);
    CommitMinutes(*store, kT0, 10, 1);
    ASSERT_OK(store->Checkpoint());
    CommitMinutes(*store, kT0 + kHour, 10, 1000);
    kept = PerKey(*store->Snapshot(kT0 + kHour, 0, SnapshotBuckets::kWindow));
  }
  clock_.Set(absl::FromUnixNanos(kT0 + 24 * kHour + 30 * kMinute));  // Cutoff between the two.
  RunKilledAtStep(options, "log_trimmed", /*retention=*/true);
  auto store = Open(options);
  EXPECT_EQ(PerKey(*All(*store)), kept);
  ASSERT_OK(store->ApplyRetention());
  ASSERT_OK(store->Close());
  EXPECT_EQ(PerKey(*All(*Open(options))), kept);
}

// Flips one byte in the middle of the first stored aggregate chunk.
void FlipChunkByte(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "UPDATE aggregate_chunks SET body = substr(body, 1, 60) || "
                         "CASE WHEN substr(body, 61, 1) = x'5A' THEN x'A5' ELSE x'5A' END || "
                         "substr(body, 62) WHERE (bucket_ns, chunk) = "
                         "(SELECT bucket_ns, chunk FROM aggregate_chunks ORDER BY bucket_ns "
                         "LIMIT 1)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(sqlite3_changes(db), 1);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, FlippedByteInAStoredChunkIsRebuiltFromTheLogWithExactTotals) {
  SqliteStoreOptions options = Options();
  std::map<std::string, uint64_t> per_key;
  {
    auto store = Open(options);
    CommitMinutes(*store, kT0, 5, 1);
    per_key = PerKey(*All(*store));
    ASSERT_OK(store->Close());  // Checkpoint: every bucket is in chunks now.
  }
  FlipChunkByte(options.path);
  {
    auto store = Open(options);
    EXPECT_EQ(store->stats().aggregate_rebuilds, 1u);
    EXPECT_EQ(PerKey(*All(*store)), per_key);
    ASSERT_OK(store->Close());
  }
  auto store = Open(options);  // The rebuilt chunks are good again.
  EXPECT_EQ(store->stats().aggregate_rebuilds, 0u);
  EXPECT_EQ(PerKey(*All(*store)), per_key);
}

void ExecSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, CorruptCheckpointLogIdOrALostChunkIsRebuiltFromTheLog) {
  const std::string damage[] = {
      "UPDATE checkpoint SET log_id = 2 WHERE id = 1",  // Would replay batches twice.
      "DELETE FROM aggregate_chunks WHERE bucket_ns = (SELECT MAX(bucket_ns) FROM "
      "aggregate_chunks)",
  };
  for (const std::string& sql : damage) {
    SCOPED_TRACE(sql);
    SqliteStoreOptions options = Options();
    options.path = dir_.File(absl::StrCat("damage", sql.size(), ".db"));
    std::map<std::string, uint64_t> per_key;
    {
      auto store = Open(options);
      CommitMinutes(*store, kT0, 3, 1);
      per_key = PerKey(*All(*store));
    }
    ExecSql(options.path, sql);
    auto store = Open(options);
    EXPECT_EQ(store->stats().aggregate_rebuilds, 1u);
    EXPECT_EQ(PerKey(*All(*store)), per_key);
  }
}

TEST_F(SqliteStoreTest, CorruptChunkWithoutTheLogToRebuildItRefusesToStart) {
  SqliteStoreOptions options = Options();
  {
    auto store = Open(options);
    CommitMinutes(*store, kT0, 2, 1);
  }
  FlipChunkByte(options.path);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(options.path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM batch_log", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(options);
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_NE(store.status().message().find("batch log lacks"), absl::string_view::npos)
      << store.status();
}

int64_t LogRows(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM batch_log", -1, &stmt, nullptr);
  int64_t rows = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    rows = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

// The file grows with recent data only: the log of checkpointed batches older than
// log_retention goes; answers, duplicates (digests are kept) and a restart do not change.
TEST_F(SqliteStoreTest, CheckpointedLogOlderThanLogRetentionIsTrimmedWithoutChangingAnswers) {
  SqliteStoreOptions options = Options();
  options.log_retention = absl::Hours(1);  // The clock is at kT0 + 2 h: cutoff kT0 + 1 h.
  const synmap::v1::Batch old_batch = OneRecordBatch(1, kT0, 3);
  std::map<std::string, uint64_t> per_key;
  {
    auto store = Open(options);
    ASSERT_OK(store->Commit("s1", Plain(old_batch)));
    ASSERT_OK(store->ApplyRetention());  // Not in a checkpoint yet: kept.
    EXPECT_EQ(LogRows(options.path), 1);
    ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(2, kT0 + 90 * kMinute, 2))));
    ASSERT_OK(store->Checkpoint());
    ASSERT_OK(store->ApplyRetention());
    EXPECT_EQ(LogRows(options.path), 1);  // Only the recent batch's row is left.
    ASSERT_OK_AND_ASSIGN(CommitResult again, store->Commit("s1", Plain(old_batch)));
    EXPECT_TRUE(again.duplicate);
    per_key = PerKey(*All(*store));
    EXPECT_EQ(TotalConnections(*All(*store)), 5u);
    ASSERT_OK(store->Close());
  }
  auto store = Open(options);
  EXPECT_EQ(PerKey(*All(*store)), per_key);
}

}  // namespace
}  // namespace synmap::collector
