// Several collectors on one PostgreSQL database: exactly-once by content across them, answers
// that converge within the poll interval, one stream per sensor, and database outages. Runs
// against a real PostgreSQL 15 started by the test (skips only when it is not installed).

#include "collector/store/postgres_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/store/internal/pg_conn.h"
#include "collector/store/migrate.h"
#include "collector/store/sqlite_store.h"
#include "common/time/clock.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/collector/store/batch_builder.h"

namespace synmap::collector {
namespace {

using synmap::testing::PostgresServer;
using synmap::testing::StatusIs;
using testing::AddRecord;
using testing::kHour;
using testing::kSecond;
using testing::kT0;
using testing::MakeBatch;
using testing::Plain;

synmap::v1::Batch OneRecordBatch(uint64_t seq, int64_t at_ns, uint64_t connections = 1) {
  synmap::v1::Batch batch = MakeBatch(seq, at_ns);
  AddRecord(batch, "10.0.0.2", "10.0.0.1", 22, connections, at_ns + kSecond);
  return batch;
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

class PostgresStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new PostgresServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!server_->skip_reason().empty()) {
      GTEST_SKIP() << server_->skip_reason();
    }
    ASSERT_TRUE(server_->ok()) << server_->error();
    internal::PgConn conn(server_->uri(), "test");
    ASSERT_OK(
        conn.ExecScript("DROP SCHEMA public CASCADE; CREATE SCHEMA public; DROP FUNCTION IF EXISTS "
                        "synmap_ensure_partition"));
  }
  PostgresStoreOptions Options() {
    PostgresStoreOptions options;
    options.uri = server_->uri();
    options.clock = &clock_;
    options.poll_interval = absl::Milliseconds(200);
    return options;
  }
  std::unique_ptr<Store> Open() {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(Options());
    EXPECT_OK(store);
    return store.ok() ? *std::move(store) : nullptr;
  }
  // Waits (real time, bounded) until `done` holds; returns whether it did.
  template <typename F>
  static bool Eventually(F done, absl::Duration limit = absl::Seconds(10)) {
    const absl::Time deadline = absl::Now() + limit;
    while (!done()) {
      if (absl::Now() > deadline) {
        return false;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  }

  static PostgresServer* server_;
  FakeClock clock_{absl::FromUnixNanos(kT0 + 2 * kHour)};
};

PostgresServer* PostgresStoreTest::server_ = nullptr;

TEST_F(PostgresStoreTest, SameBatchAtASecondCollectorIsADuplicateAndOtherContentAConflict) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_OK_AND_ASSIGN(CommitResult first, a->Commit("s1", Plain(OneRecordBatch(1, kT0, 3))));
  EXPECT_FALSE(first.duplicate || first.conflict);
  ASSERT_OK_AND_ASSIGN(CommitResult again, b->Commit("s1", Plain(OneRecordBatch(1, kT0, 3))));
  EXPECT_TRUE(again.duplicate);
  ASSERT_OK_AND_ASSIGN(CommitResult other, b->Commit("s1", Plain(OneRecordBatch(1, kT0, 4))));
  EXPECT_TRUE(other.conflict);
  EXPECT_EQ(other.last_committed_seq, 1u);
  ASSERT_OK_AND_ASSIGN(CommitResult next, b->Commit("s1", Plain(OneRecordBatch(2, kT0, 5))));
  EXPECT_FALSE(next.duplicate || next.conflict);
  // b applied seq 1 (read from the database) before its own seq 2.
  EXPECT_EQ(TotalConnections(*b->Snapshot(0, 0, SnapshotBuckets::kAll)), 8u);
  ASSERT_OK(a->Checkpoint());  // Follows the database now instead of at the next poll.
  EXPECT_EQ(TotalConnections(*a->Snapshot(0, 0, SnapshotBuckets::kAll)), 8u);
}

TEST_F(PostgresStoreTest, BatchesCommittedElsewhereAppearWithinThePollInterval) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_OK(b->Commit("s1", Plain(OneRecordBatch(1, kT0, 2))));
  ASSERT_OK(b->Commit("s2", Plain(OneRecordBatch(1, kT0, 5))));
  const absl::Time acked = absl::Now();
  EXPECT_TRUE(Eventually(
      [&] { return TotalConnections(*a->Snapshot(0, 0, SnapshotBuckets::kAll)) == 7u; }));
  // Poll interval 200 ms here; allow scheduling slack on a loaded machine.
  EXPECT_LT(absl::Now() - acked, absl::Seconds(3));
  auto sensors = a->Snapshot(0, 0, SnapshotBuckets::kNone)->sensors;
  ASSERT_EQ(sensors.size(), 2u);
  EXPECT_EQ(sensors[0].name, "s1");
  EXPECT_EQ(sensors[1].name, "s2");
  EXPECT_EQ(sensors[1].last_seq, 1u);
}

TEST_F(PostgresStoreTest, ConcurrentCommitsThroughTwoCollectorsLandExactlyOnce) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  // Both collectors send every batch of every sensor: each lands once, the other answer is a
  // duplicate.
  std::vector<std::thread> threads;
  std::atomic<int> duplicates{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Store& store = t % 2 == 0 ? *a : *b;
      for (uint64_t seq = 1; seq <= 25; ++seq) {
        const std::string sensor = absl::StrCat("s", t / 2);
        absl::StatusOr<CommitResult> r = store.Commit(sensor, Plain(OneRecordBatch(seq, kT0, seq)));
        ASSERT_OK(r);
        EXPECT_FALSE(r->conflict);
        duplicates += r->duplicate ? 1 : 0;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(duplicates.load(), 50);
  ASSERT_OK(a->Checkpoint());
  ASSERT_OK(b->Checkpoint());
  // Two sensors, seqs 1..25 each with seq connections: 2 * 325.
  EXPECT_EQ(TotalConnections(*a->Snapshot(0, 0, SnapshotBuckets::kAll)), 650u);
  EXPECT_EQ(TotalConnections(*b->Snapshot(0, 0, SnapshotBuckets::kAll)), 650u);
}

TEST_F(PostgresStoreTest, OneStreamPerSensorAcrossCollectors) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_OK(a->RecordHello("s1", "peer-a", common::SensorInfo()));
  ASSERT_OK(a->RecordHello("s1", "peer-a", common::SensorInfo()))
      << "the collector holding the stream may record a new hello";
  absl::StatusOr<uint64_t> second = b->RecordHello("s1", "peer-b", common::SensorInfo());
  EXPECT_THAT(second, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(std::string(second.status().message()), ::testing::HasSubstr("s1"));
  ASSERT_OK(b->RecordHello("s2", "peer-b", common::SensorInfo())) << "other names are free";
  a->RecordDisconnect("s1");
  EXPECT_OK(b->RecordHello("s1", "peer-b", common::SensorInfo()));
}

TEST_F(PostgresStoreTest, ADeadCollectorsStreamIsFreedForAnother) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    PostgresStoreOptions options = Options();
    options.clock = nullptr;
    absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(options);
    if (!store.ok() || !(*store)->RecordHello("s1", "peer-a", common::SensorInfo()).ok()) {
      _exit(1);
    }
    (void)!write(ready[1], "x", 1);
    pause();  // Holds the stream until killed.
    _exit(0);
  }
  close(ready[1]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1) << "the child collector did not take the stream";
  close(ready[0]);
  auto b = Open();
  ASSERT_NE(b, nullptr);
  EXPECT_THAT(b->RecordHello("s1", "peer-b", common::SensorInfo()),
              StatusIs(absl::StatusCode::kAlreadyExists));
  kill(child, SIGKILL);  // As a crash: no disconnect, no clean shutdown.
  int status = 0;
  waitpid(child, &status, 0);
  const absl::Time killed = absl::Now();
  EXPECT_TRUE(
      Eventually([&] { return b->RecordHello("s1", "peer-b", common::SensorInfo()).ok(); }));
  EXPECT_LT(absl::Now() - killed, absl::Seconds(5));
}

TEST_F(PostgresStoreTest, DatabaseOutageRefusesCommitsThenResumesWithoutLoss) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, kT0, 2))));
  server_->Stop();
  EXPECT_THAT(store->Commit("s1", Plain(OneRecordBatch(2, kT0, 3))),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store->RecordHello("s1", "p", common::SensorInfo()),
              StatusIs(absl::StatusCode::kUnavailable));
  // Answers meanwhile say the database is down, since when and why.
  const StoreHealth down = store->Snapshot(0, 0, SnapshotBuckets::kNone)->store;
  EXPECT_EQ(down.backend, "postgresql");
  EXPECT_FALSE(down.available);
  EXPECT_EQ(down.unavailable_since_ns, absl::ToUnixNanos(clock_.Now()));
  EXPECT_FALSE(down.problem.empty());
  EXPECT_NE(down.synced_ns, 0) << "the log was followed at open";
  server_->Start();
  ASSERT_TRUE(server_->ok()) << server_->error();
  // Connections come back with backoff; the refused batch is sent again, as a sensor does.
  EXPECT_TRUE(
      Eventually([&] { return store->Commit("s1", Plain(OneRecordBatch(2, kT0, 3))).ok(); }));
  ASSERT_OK_AND_ASSIGN(CommitResult again, store->Commit("s1", Plain(OneRecordBatch(2, kT0, 3))));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(TotalConnections(*store->Snapshot(0, 0, SnapshotBuckets::kAll)), 5u);
  const StoreHealth up = store->Snapshot(0, 0, SnapshotBuckets::kNone)->store;
  EXPECT_TRUE(up.available);
  EXPECT_EQ(up.unavailable_since_ns, 0);
  EXPECT_TRUE(up.problem.empty());
  auto fresh = Open();
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(TotalConnections(*fresh->Snapshot(0, 0, SnapshotBuckets::kAll)), 5u);
}

TEST_F(PostgresStoreTest, AStreamWhoseLockDiedWithADatabaseRestartCannotCommitBesideANewOne) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_OK(a->RecordHello("s1", "peer-a", common::SensorInfo()));
  ASSERT_OK(a->Commit("s1", Plain(OneRecordBatch(1, kT0))));
  server_->Restart();  // Ends every session: a's lock on s1 is gone.
  ASSERT_TRUE(server_->ok()) << server_->error();
  // A second stream of s1 (a clone) reaches b and takes the free lock...
  EXPECT_TRUE(
      Eventually([&] { return b->RecordHello("s1", "peer-b", common::SensorInfo()).ok(); }));
  // ...so a's old stream may not commit any more: it must reconnect (and be refused).
  EXPECT_THAT(a->Commit("s1", Plain(OneRecordBatch(2, kT0))),
              StatusIs(absl::StatusCode::kUnavailable));
  b->RecordDisconnect("s1");
  // With the lock free again, a's stream takes it back and commits.
  EXPECT_TRUE(Eventually([&] { return a->Commit("s1", Plain(OneRecordBatch(2, kT0))).ok(); }));
}

TEST_F(PostgresStoreTest, APartitionDroppedByRetentionElsewhereIsMadeAgainForALateBatch) {
  // b applies retention; a keeps everything in memory (so its totals are deterministic while
  // its follower runs) but still has kT0's day partition in its cache.
  PostgresStoreOptions options = Options();
  clock_.Set(absl::FromUnixNanos(kT0 + 12 * kHour));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> a, OpenPostgresStore(options));
  options.retention = absl::Hours(24);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> b, OpenPostgresStore(options));
  ASSERT_OK(a->Commit("s1", Plain(OneRecordBatch(1, kT0))));  // a made kT0's day partition.
  clock_.Advance(absl::Hours(96));
  ASSERT_OK(b->ApplyRetention());  // b drops it.
  internal::PgConn conn(server_->uri(), "test");
  ASSERT_OK_AND_ASSIGN(internal::PgResult parts,
                       conn.Exec("SELECT count(*) FROM pg_inherits i JOIN pg_class p ON "
                                 "p.oid = i.inhparent WHERE p.relname = 'batch_log'"));
  EXPECT_EQ(parts.Int(0, 0), 0);
  // A batch of that day spooled for days: committed, not refused forever.
  const uint64_t before = TotalConnections(*a->Snapshot(0, 0, SnapshotBuckets::kAll));
  absl::StatusOr<CommitResult> late_or = a->Commit("s1", Plain(OneRecordBatch(2, kT0, 5)));
  ASSERT_OK(late_or) << late_or.status();
  const CommitResult late = *late_or;
  EXPECT_FALSE(late.duplicate || late.conflict) << late.last_committed_seq;
  EXPECT_EQ(TotalConnections(*a->Snapshot(0, 0, SnapshotBuckets::kAll)), before + 5);
}

TEST_F(PostgresStoreTest, ASchemaNewerThanThisProgramIsRefusedAtOpen) {
  { ASSERT_NE(Open(), nullptr); }
  internal::PgConn conn(server_->uri(), "test");
  ASSERT_OK(conn.ExecScript("UPDATE synmap_schema SET version = version + 1 WHERE id = 1"));
  const absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(Options());
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(store.status().message()),
              ::testing::HasSubstr("newer than this program's"));
  EXPECT_THAT(std::string(store.status().message()),
              ::testing::HasSubstr("upgrade synmap-collector"));
}

TEST_F(PostgresStoreTest, UnreachableDatabaseFailsOpenWithUnavailableNamingIt) {
  PostgresStoreOptions options = Options();
  options.uri = "postgresql://postgres@/synmap?host=/nonexistent-dir";
  absl::StatusOr<std::unique_ptr<Store>> store = OpenPostgresStore(options);
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(std::string(store.status().message()), ::testing::HasSubstr("nonexistent-dir"));
}

TEST_F(PostgresStoreTest, MigrateCopiesASqliteStoreThatThenAnswersTheSame) {
  synmap::testing::TempDir dir;
  SqliteStoreOptions sqlite;
  sqlite.path = dir.File("store.db");
  sqlite.clock = &clock_;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenSqliteStore(sqlite));
    for (uint64_t seq = 1; seq <= 20; ++seq) {
      synmap::v1::Batch batch =
          OneRecordBatch(seq, kT0 + static_cast<int64_t>(seq) * 600 * kSecond);
      AddRecord(batch, "2001:db8::7", "2001:db8::1", 443, seq, batch.start_unix_ns() + kSecond);
      batch.mutable_health()->set_batches_dropped(seq / 5);
      ASSERT_OK(store->Commit(seq % 2 ? "odd" : "even", Plain(batch)));
    }
    common::SensorInfo hello;
    hello.software_version = "0.1.0";
    ASSERT_OK(store->RecordHello("odd", "peer", hello));
    ASSERT_OK(store->Close());  // Writes a checkpoint: the copy must not depend on it.
  }
  ASSERT_OK_AND_ASSIGN(MigrationReport report, MigrateSqliteToPostgres(sqlite, Options()));
  EXPECT_EQ(report.sensors, 2u);
  EXPECT_EQ(report.batches, 20u);
  EXPECT_EQ(report.records, 40u);
  EXPECT_GT(report.aggregate_rows, 0u);
  auto pg = Open();
  ASSERT_NE(pg, nullptr);
  auto snapshot = pg->Snapshot(0, 0, SnapshotBuckets::kAll);
  EXPECT_EQ(TotalConnections(*snapshot), 20u + 210u);
  ASSERT_EQ(snapshot->sensors.size(), 2u);
  // Exactly-once continues across the move: a resent batch is a duplicate, the next is new.
  ASSERT_OK_AND_ASSIGN(CommitResult again,
                       pg->Commit("odd", Plain(OneRecordBatch(1, kT0 + 600 * kSecond))));
  EXPECT_FALSE(again.duplicate) << "seq 1 of odd had a second record: other content";
  EXPECT_TRUE(again.conflict);
  ASSERT_OK_AND_ASSIGN(uint64_t last, pg->RecordHello("even", "p", common::SensorInfo()));
  EXPECT_EQ(last, 20u);
  // A second migration into the now non-empty database is refused.
  EXPECT_THAT(MigrateSqliteToPostgres(sqlite, Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(PostgresStoreTest, MigrateRefusesASqliteStoreWhoseLogWasTrimmed) {
  synmap::testing::TempDir dir;
  SqliteStoreOptions sqlite;
  sqlite.path = dir.File("store.db");
  sqlite.clock = &clock_;
  sqlite.log_retention = absl::Hours(1);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, OpenSqliteStore(sqlite));
    ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, kT0))));
    ASSERT_OK(store->Checkpoint());
    clock_.Advance(absl::Hours(3));
    ASSERT_OK(store->ApplyRetention());  // Trims the checkpointed log older than 1 h.
  }
  absl::StatusOr<MigrationReport> report = MigrateSqliteToPostgres(sqlite, Options());
  EXPECT_THAT(report, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(report.status().message()), ::testing::HasSubstr("log-retention"));
  auto pg = Open();
  ASSERT_NE(pg, nullptr);
  EXPECT_TRUE(pg->Snapshot(0, 0, SnapshotBuckets::kNone)->sensors.empty()) << "nothing copied";
}

TEST(PostgresUriTest, OnlyPostgresSchemesSelectPostgres) {
  EXPECT_TRUE(IsPostgresDatabase("postgresql://u@h/db"));
  EXPECT_TRUE(IsPostgresDatabase("postgres:///db?host=/run/pg"));
  EXPECT_FALSE(IsPostgresDatabase("/var/lib/synmap/store.db"));
  EXPECT_FALSE(IsPostgresDatabase("store.db"));
  EXPECT_EQ(internal::RedactUri("postgresql://u:secret@h/db"), "postgresql://u:***@h/db");
}

}  // namespace
}  // namespace synmap::collector
