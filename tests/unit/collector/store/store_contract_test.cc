// The Store contract, run against every backend: SQLite (a temp file) and PostgreSQL (a real
// PostgreSQL 15 started by the test). SQLite-only behaviour (checkpoint chunks, file locks,
// crash points) is in sqlite_store_test.cc; PostgreSQL-only (several collectors on one
// database, outages) in postgres_store_test.cc.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/store/admin_store.h"
#include "collector/store/enrolment_tokens.h"
#include "collector/store/internal/pg_conn.h"
#include "collector/store/postgres_store.h"
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
using synmap::testing::TempDir;
using testing::AddRecord;
using testing::kHour;
using testing::kSecond;
using testing::kT0;
using testing::MakeBatch;
using testing::Plain;

constexpr int64_t kDay = 24 * kHour;

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

synmap::v1::Batch OneRecordBatch(uint64_t seq, int64_t at_ns, uint64_t connections = 1) {
  synmap::v1::Batch batch = MakeBatch(seq, at_ns);
  AddRecord(batch, "10.0.0.2", "10.0.0.1", 22, connections, at_ns + kSecond);
  return batch;
}

enum class Backend { kSqlite, kPostgres };

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

// One PostgreSQL server for the whole suite; each test starts from an empty schema.
PostgresServer* SharedServer() {
  static PostgresServer server;  // Stopped at exit.
  return &server;
}

class StoreContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() != Backend::kPostgres) {
      return;
    }
    PostgresServer* server = SharedServer();
    if (!server->skip_reason().empty()) {
      GTEST_SKIP() << server->skip_reason();
    }
    ASSERT_TRUE(server->ok()) << server->error();
    internal::PgConn conn(server->uri(), "test");
    ASSERT_OK(
        conn.ExecScript("DROP SCHEMA public CASCADE; CREATE SCHEMA public; DROP FUNCTION IF EXISTS "
                        "synmap_ensure_partition"));
  }

  // The options of this test's store: tiers and retention apply to both backends.
  struct Options {
    std::vector<StoreTier> tiers = DefaultStoreTiers();
    absl::Duration retention = absl::ZeroDuration();
    OverlapOptions overlap;
  };

  absl::StatusOr<std::unique_ptr<Store>> TryOpen() { return TryOpen(Options()); }
  absl::StatusOr<std::unique_ptr<Store>> TryOpen(const Options& o) {
    if (GetParam() == Backend::kSqlite) {
      SqliteStoreOptions options;
      options.path = dir_.File("store.db");
      options.clock = &clock_;
      options.tiers = o.tiers;
      options.retention = o.retention;
      options.overlap = o.overlap;
      return OpenSqliteStore(options);
    }
    PostgresStoreOptions options;
    options.uri = SharedServer()->uri();
    options.clock = &clock_;
    options.tiers = o.tiers;
    options.retention = o.retention;
    options.overlap = o.overlap;
    return OpenPostgresStore(options);
  }
  std::unique_ptr<Store> Open() { return Open(Options()); }
  std::unique_ptr<Store> Open(const Options& o) {
    absl::StatusOr<std::unique_ptr<Store>> store = TryOpen(o);
    EXPECT_OK(store);
    return store.ok() ? *std::move(store) : nullptr;
  }
  std::shared_ptr<const StoreSnapshot> All(Store& store) {
    return store.Snapshot(0, 0, SnapshotBuckets::kAll);
  }

  TempDir dir_;
  FakeClock clock_{absl::FromUnixNanos(kT0 + 2 * kHour)};
};

TEST_P(StoreContractTest, CommitAppliesOnceAndDuplicateIsAckedWithoutApplying) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const synmap::v1::Batch batch = OneRecordBatch(1, kT0, 3);
  ASSERT_OK_AND_ASSIGN(CommitResult first, store->Commit("s1", Plain(batch)));
  synmap::v1::Batch resent = batch;
  resent.mutable_health()->set_spool_batches(7);  // Health is not content.
  ASSERT_OK_AND_ASSIGN(CommitResult again, store->Commit("s1", Plain(resent)));
  EXPECT_FALSE(first.duplicate);
  EXPECT_TRUE(again.duplicate);
  EXPECT_FALSE(again.conflict);
  EXPECT_EQ(TotalConnections(*All(*store)), 3u);
  EXPECT_EQ(store->LastCommittedSeq("s1"), 1u);
  EXPECT_EQ(store->stats().duplicates, 1u);
}

TEST_P(StoreContractTest, SnapshotsNameTheBackendAndSayTheDatabaseAnswers) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, kT0, 3))));
  const StoreHealth health = store->Snapshot(0, 0, SnapshotBuckets::kNone)->store;
  EXPECT_TRUE(health.available);
  EXPECT_EQ(health.unavailable_since_ns, 0);
  EXPECT_TRUE(health.problem.empty());
  if (GetParam() == Backend::kSqlite) {
    EXPECT_EQ(health.backend, "sqlite");
    EXPECT_EQ(health.synced_ns, 0) << "one writer: always current";
  } else {
    EXPECT_EQ(health.backend, "postgresql");
    EXPECT_EQ(health.synced_ns, absl::ToUnixNanos(clock_.Now())) << "followed at open";
  }
}

TEST_P(StoreContractTest, OtherContentUnderAUsedSeqOrAnUnusedLowerSeqIsAConflict) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(5, kT0))));
  ASSERT_OK_AND_ASSIGN(CommitResult other, store->Commit("s1", Plain(OneRecordBatch(5, kT0, 2))));
  EXPECT_TRUE(other.conflict);
  EXPECT_FALSE(other.duplicate);
  EXPECT_EQ(other.last_committed_seq, 5u);
  ASSERT_OK_AND_ASSIGN(CommitResult behind, store->Commit("s1", Plain(OneRecordBatch(3, kT0))));
  EXPECT_TRUE(behind.conflict);
  EXPECT_EQ(behind.last_committed_seq, 5u);
  ASSERT_OK_AND_ASSIGN(CommitResult next, store->Commit("s1", Plain(OneRecordBatch(6, kT0))));
  EXPECT_FALSE(next.duplicate || next.conflict);
  ASSERT_OK_AND_ASSIGN(CommitResult s2, store->Commit("s2", Plain(OneRecordBatch(5, kT0))));
  EXPECT_FALSE(s2.duplicate || s2.conflict) << "seqs are per sensor";
  EXPECT_EQ(TotalConnections(*All(*store)), 3u);
}

TEST_P(StoreContractTest, BatchViolatingALimitIsRefusedAndNothingStored) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  synmap::v1::Batch bad_port = OneRecordBatch(1, kT0);
  bad_port.mutable_records(0)->set_server_port(0);
  synmap::v1::Batch outside = OneRecordBatch(1, kT0);
  outside.mutable_records(0)->set_last_seen_unix_ns(kT0 + kHour);
  synmap::v1::Batch future = OneRecordBatch(1, kT0 + 48 * kHour);
  synmap::v1::Batch too_big_seq = OneRecordBatch(uint64_t{1} << 63, kT0);
  for (const auto& batch : {bad_port, outside, future, too_big_seq}) {
    EXPECT_THAT(store->Commit("s1", Plain(batch)), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(store->Commit("", Plain(OneRecordBatch(1, kT0))),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(store->LastCommittedSeq("s1"), 0u);
  EXPECT_EQ(TotalConnections(*All(*store)), 0u);
}

TEST_P(StoreContractTest, ReopenKeepsRecordsSensorsSeqsAndHello) {
  std::vector<Row> before;
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    synmap::v1::Batch batch = OneRecordBatch(1, kT0);
    batch.mutable_stats()->set_kernel_drops(7);
    AddRecord(batch, "2001:db8::5", "2001:db8::1", 443, 4, kT0 + 2 * kSecond);
    ASSERT_OK(store->Commit("s1", Plain(batch)));
    ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(2, kT0 + kHour))));
    common::SensorInfo hello;
    hello.software_version = "0.1.0";
    hello.interfaces = {"eth0"};
    ASSERT_OK(store->RecordHello("s1", "ipv4:10.9.9.9:4000", hello));
    before = Rows(*All(*store));
    ASSERT_OK(store->Close());
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto snapshot = All(*store);
  EXPECT_EQ(Rows(*snapshot), before);
  EXPECT_EQ(before.size(), 3u);
  ASSERT_EQ(snapshot->sensors.size(), 1u);
  EXPECT_EQ(snapshot->sensors[0].last_seq, 2u);
  EXPECT_EQ(snapshot->sensors[0].batches, 2u);
  EXPECT_EQ(snapshot->sensors[0].totals.kernel_drops, 7u);
  EXPECT_EQ(snapshot->sensors[0].hello.software_version, "0.1.0");
  EXPECT_EQ(snapshot->sensors[0].peer_address, "ipv4:10.9.9.9:4000");
  EXPECT_FALSE(snapshot->sensors[0].connected);
  ASSERT_OK_AND_ASSIGN(CommitResult again,
                       store->Commit("s1", Plain(OneRecordBatch(2, kT0 + kHour))));
  EXPECT_TRUE(again.duplicate);
}

TEST_P(StoreContractTest, ConcurrentCommittersAllLandOnce) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t seq = 1; seq <= 30; ++seq) {
        EXPECT_OK(store->Commit("s" + std::to_string(t), Plain(OneRecordBatch(seq, kT0))));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(TotalConnections(*All(*store)), 180u);
  EXPECT_EQ(store->stats().commits, 180u);
}

TEST_P(StoreContractTest, SnapshotIsNotChangedByLaterCommits) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, kT0, 2))));
  auto before = All(*store);
  const std::vector<Row> rows_before = Rows(*before);
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(2, kT0, 5))));
  EXPECT_EQ(Rows(*before), rows_before);
  EXPECT_EQ(TotalConnections(*All(*store)), 7u);
}

TEST_P(StoreContractTest, SnapshotWindowSelectsOverlappingBucketsAndCoverage) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  synmap::v1::Batch early = OneRecordBatch(1, kT0);
  early.mutable_stats()->set_kernel_drops(3);
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
}

TEST_P(StoreContractTest, SpoolDropCountersBecomeIncreasesAcrossBatchesAndReopen) {
  const std::vector<uint64_t> cumulative = {2, 5, 5, 1};  // The sensor restarted before the 4th.
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    for (uint64_t seq = 1; seq <= 3; ++seq) {
      synmap::v1::Batch batch = OneRecordBatch(seq, kT0);
      batch.mutable_health()->set_batches_dropped(cumulative[seq - 1]);
      ASSERT_OK(store->Commit("s1", Plain(batch)));
    }
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  synmap::v1::Batch batch = OneRecordBatch(4, kT0);
  batch.mutable_health()->set_batches_dropped(cumulative[3]);
  ASSERT_OK(store->Commit("s1", Plain(batch)));
  auto snapshot = store->Snapshot(0, 0, SnapshotBuckets::kNone);
  ASSERT_EQ(snapshot->coverage.size(), 1u);
  EXPECT_EQ(snapshot->coverage[0].spool_batches_dropped, 2u + 3u + 0u + 1u);
}

TEST_P(StoreContractTest, HelloHeartbeatAndDisconnectUpdateSensorState) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(4, kT0))));
  common::SensorInfo hello;
  hello.interfaces = {"eth0"};
  hello.health.spool_batches = 9;
  ASSERT_OK_AND_ASSIGN(uint64_t last_seq, store->RecordHello("s1", "peer", hello));
  EXPECT_EQ(last_seq, 4u);
  ASSERT_OK_AND_ASSIGN(uint64_t fresh, store->RecordHello("new", "peer2", hello));
  EXPECT_EQ(fresh, 0u);
  clock_.Advance(absl::Seconds(30));
  common::SensorHealth health;
  health.spool_batches = 1;
  ASSERT_OK(store->RecordHeartbeat("s1", health));
  auto sensors = store->Snapshot(0, 0, SnapshotBuckets::kNone)->sensors;
  ASSERT_EQ(sensors.size(), 2u);
  EXPECT_EQ(sensors[0].name, "s1");
  EXPECT_TRUE(sensors[0].connected);
  EXPECT_EQ(sensors[0].hello.interfaces, std::vector<std::string>{"eth0"});
  EXPECT_EQ(sensors[0].health.spool_batches, 1u);
  EXPECT_EQ(sensors[0].last_heartbeat_ns, absl::ToUnixNanos(clock_.Now()));
  store->RecordDisconnect("s1");
  EXPECT_FALSE(store->Snapshot(0, 0, SnapshotBuckets::kNone)->sensors[0].connected);
}

TEST_P(StoreContractTest, BatchesAreFiledInTheTierBucketOfTheirStart) {
  const int64_t now = kT0 + 200 * kDay;
  clock_.Set(absl::FromUnixNanos(now));
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, now - kHour + 90 * kSecond))));
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(2, now - 5 * kDay + 90 * kSecond))));
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(3, now - 100 * kDay + kHour))));
  std::map<int64_t, int64_t> widths;
  const auto all = All(*store);
  for (const auto& b : all->buckets) {
    widths[b->width_ns] = b->start_ns;
  }
  ASSERT_EQ(widths.size(), 3u);
  EXPECT_TRUE(widths.contains(60 * kSecond));
  EXPECT_TRUE(widths.contains(kHour));
  EXPECT_TRUE(widths.contains(kDay));
}

TEST_P(StoreContractTest, AgedMinuteBucketsRollUpWithTheSameTotalsAlsoAfterReopen) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    for (uint64_t seq = 1; seq <= 6; ++seq) {
      ASSERT_OK(store->Commit(
          "s1", Plain(OneRecordBatch(seq, kT0 + static_cast<int64_t>(seq) * 300 * kSecond, seq))));
    }
    EXPECT_EQ(All(*store)->buckets.size(), 6u);
    clock_.Advance(absl::Hours(72));  // Past the 48 h of the minute tier.
    ASSERT_OK(store->Checkpoint());
    auto rolled = All(*store);
    ASSERT_EQ(rolled->buckets.size(), 1u);
    EXPECT_EQ(rolled->buckets[0]->width_ns, kHour);
    EXPECT_EQ(TotalConnections(*rolled), 21u);
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto reopened = All(*store);
  ASSERT_EQ(reopened->buckets.size(), 1u);
  EXPECT_EQ(TotalConnections(*reopened), 21u);
}

TEST_P(StoreContractTest, RetentionDropsOldBucketsAndBatchesAlsoAfterReopen) {
  Options options;
  options.retention = absl::Hours(24);
  clock_.Set(absl::FromUnixNanos(kT0 + 12 * kHour));
  {
    auto store = Open(options);
    ASSERT_NE(store, nullptr);
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
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(TotalConnections(*All(*store)), 1u);
  EXPECT_EQ(store->Snapshot(0, 0, SnapshotBuckets::kNone)->coverage[0].batches, 1u);
}

TEST_P(StoreContractTest, NewerSchemaIsRefusedNamingTheVersion) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
  }
  if (GetParam() == Backend::kSqlite) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir_.File("store.db").c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  } else {
    internal::PgConn conn(SharedServer()->uri(), "test");
    ASSERT_OK(conn.ExecScript("UPDATE synmap_schema SET version = 99"));
  }
  absl::StatusOr<std::unique_ptr<Store>> store = TryOpen();
  ASSERT_THAT(store, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(store.status().message()), ::testing::HasSubstr("version 99"));
}

TEST_P(StoreContractTest, CallsAfterCloseAreCancelled) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Close());
  EXPECT_THAT(store->Commit("s1", Plain(OneRecordBatch(1, kT0))),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(store->RecordHello("s1", "p", common::SensorInfo()),
              StatusIs(absl::StatusCode::kCancelled));
}

// The database the store of this test opens, as the collector's --db names it.
std::string DbOf(Backend backend, const TempDir& dir) {
  return backend == Backend::kSqlite ? dir.File("store.db") : SharedServer()->uri();
}

TEST_P(StoreContractTest, RevocationsAreListedByNameReplacedByALaterRevokeAndLifted) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const absl::Time t1 = absl::FromUnixSeconds(1'800'000'000);
  ASSERT_OK(store->Revoke({.name = "router-c", .revoked_at = t1, .reason = "stolen"}));
  ASSERT_OK(store->Revoke({.name = "alice", .revoked_at = t1, .reason = ""}));
  ASSERT_OK(store->Revoke(
      {.name = "router-c", .revoked_at = t1 + absl::Hours(1), .reason = "stolen again"}));
  ASSERT_OK_AND_ASSIGN(std::vector<Revocation> listed, store->Revocations());
  EXPECT_EQ(listed,
            (std::vector<Revocation>{
                {.name = "alice", .revoked_at = t1, .reason = ""},
                {.name = "router-c", .revoked_at = t1 + absl::Hours(1), .reason = "stolen again"},
            }));
  ASSERT_OK(store->Unrevoke("alice"));
  EXPECT_THAT(store->Unrevoke("alice"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store->Revoke({.name = "", .revoked_at = t1, .reason = ""}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(store->Close());
  store.reset();
  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  ASSERT_OK_AND_ASSIGN(listed, reopened->Revocations());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, "router-c");
}

TEST_P(StoreContractTest, AdminStoreOpenedBesideARunningStoreSharesItsRevocations) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, kT0))));
  // As `synmap-collector revoke` does while the collector runs (the SQLite file stays locked).
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AdminStore> admin, OpenAdminStore(DbOf(GetParam(), dir_)));
  const absl::Time t = absl::FromUnixSeconds(1'800'000'000);
  ASSERT_OK(admin->Revoke({.name = "s1", .revoked_at = t, .reason = "lost"}));
  ASSERT_OK_AND_ASSIGN(std::vector<Revocation> seen, store->Revocations());
  EXPECT_EQ(seen, (std::vector<Revocation>{{.name = "s1", .revoked_at = t, .reason = "lost"}}));
  // The store keeps committing beside the admin handle, and the admin sees the store's writes.
  ASSERT_OK(store->Commit("s2", Plain(OneRecordBatch(1, kT0))));
  ASSERT_OK(store->Unrevoke("s1"));
  ASSERT_OK_AND_ASSIGN(seen, admin->Revocations());
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(TotalConnections(*All(*store)), 2u);
}

TEST_P(StoreContractTest, AdminStoreCreatesTheSchemaOfANewDatabase) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AdminStore> admin, OpenAdminStore(DbOf(GetParam(), dir_)));
  ASSERT_OK(admin->Revoke({.name = "early", .revoked_at = absl::FromUnixSeconds(1), .reason = ""}));
  admin.reset();
  auto store = Open();  // A collector started later finds the revocation.
  ASSERT_NE(store, nullptr);
  ASSERT_OK_AND_ASSIGN(std::vector<Revocation> seen, store->Revocations());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].name, "early");
}

EnrolmentToken Token(const std::string& hash, const std::string& name) {
  EnrolmentToken token;
  token.hash = hash;
  token.name = name;
  token.role = "sensor";
  token.created = absl::FromUnixSeconds(1'800'000'000);
  token.expires = token.created + absl::Hours(24);
  return token;
}

TEST_P(StoreContractTest, EnrolmentTokenIsClaimedOnceBesideARunningStoreAndKeptAcrossReopen) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  // As `synmap-collector token create` does while the collector runs.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EnrolmentTokens> maker,
                       OpenEnrolmentTokens(DbOf(GetParam(), dir_)));
  ASSERT_OK(maker->Add(Token("aa11", "router-c")));
  ASSERT_OK(maker->Add(Token("bb22", "router-d")));
  EXPECT_THAT(maker->Add(Token("aa11", "router-x")), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(maker->Add(Token("", "router-x")), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(store->Commit("s1", Plain(OneRecordBatch(1, kT0))));  // The store goes on.

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EnrolmentTokens> collector,
                       OpenEnrolmentTokens(DbOf(GetParam(), dir_)));
  const absl::Time t = absl::FromUnixSeconds(1'800'000'100);
  ASSERT_OK_AND_ASSIGN(EnrolmentToken first, collector->Claim("aa11", t));
  EXPECT_EQ(first, Token("aa11", "router-c"));  // Unused until this claim.
  ASSERT_OK_AND_ASSIGN(EnrolmentToken again, maker->Claim("aa11", t + absl::Seconds(5)));
  ASSERT_TRUE(again.used.has_value());
  EXPECT_EQ(*again.used, t);  // The first claim's time, not the second's.
  EXPECT_THAT(collector->Claim("cc33", t), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK(store->Close());
  store.reset();
  collector.reset();
  maker.reset();
  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EnrolmentTokens> after,
                       OpenEnrolmentTokens(DbOf(GetParam(), dir_)));
  ASSERT_OK_AND_ASSIGN(EnrolmentToken used, after->Claim("aa11", t + absl::Hours(1)));
  EXPECT_EQ(used.used, std::optional<absl::Time>(t));
  ASSERT_OK_AND_ASSIGN(EnrolmentToken unused, after->Claim("bb22", t));
  EXPECT_FALSE(unused.used.has_value());
}

TEST_P(StoreContractTest, ConcurrentClaimsOfOneTokenHaveOneWinner) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EnrolmentTokens> maker,
                       OpenEnrolmentTokens(DbOf(GetParam(), dir_)));
  constexpr int kClaimers = 4;
  for (int round = 0; round < 5; ++round) {
    const std::string hash = absl::StrCat("race", round);
    ASSERT_OK(maker->Add(Token(hash, "s1")));
    std::vector<std::unique_ptr<EnrolmentTokens>> handles;
    for (int i = 0; i < kClaimers; ++i) {
      ASSERT_OK_AND_ASSIGN(handles.emplace_back(), OpenEnrolmentTokens(DbOf(GetParam(), dir_)));
    }
    std::vector<int> won(kClaimers, -1);
    std::vector<std::thread> threads;
    for (int i = 0; i < kClaimers; ++i) {
      threads.emplace_back([&, i] {
        absl::StatusOr<EnrolmentToken> got =
            handles[static_cast<size_t>(i)]->Claim(hash, absl::FromUnixSeconds(1'800'000'000 + i));
        won[static_cast<size_t>(i)] = got.ok() ? (got->used.has_value() ? 0 : 1) : -1;
      });
    }
    for (std::thread& thread : threads) {
      thread.join();
    }
    EXPECT_EQ(std::count(won.begin(), won.end(), 1), 1) << "round " << round;
    EXPECT_EQ(std::count(won.begin(), won.end(), 0), kClaimers - 1) << "round " << round;
  }
}

// A batch [start, start + 10 s) of one record 10.0.0.2 -> 10.0.0.1:22 with one connection per
// (fingerprint, offset ms) handshake, as a sensor with fingerprints sends it.
synmap::v1::Batch FingerprintedBatch(uint64_t seq, int64_t start_ns,
                                     const std::vector<std::pair<uint32_t, uint32_t>>& handshakes) {
  synmap::v1::Batch batch = MakeBatch(seq, start_ns);
  uint32_t first = handshakes.front().second;
  uint32_t last = first;
  for (const auto& [fingerprint, offset_ms] : handshakes) {
    batch.add_handshake_fingerprints(fingerprint);
    batch.add_handshake_offsets_ms(offset_ms);
    first = std::min(first, offset_ms);
    last = std::max(last, offset_ms);
  }
  AddRecord(batch, "10.0.0.2", "10.0.0.1", 22, handshakes.size(), start_ns + first * 1'000'000);
  batch.mutable_records(0)->set_last_seen_unix_ns(start_ns + last * 1'000'000);
  return batch;
}

// Connections in merged answers: each row's connections minus its duplicates.
uint64_t MergedConnections(const StoreSnapshot& s) {
  uint64_t total = 0;
  for (const auto& b : s.buckets) {
    for (size_t r = 0; r < b->size(); ++r) {
      total += b->connections[r] - b->duplicates[r];
    }
  }
  return total;
}

TEST_P(StoreContractTest, OverlappingSensorsCountOnceMergedAcrossResendsRestartsAndOldSensors) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Commit("edge",
                          Plain(FingerprintedBatch(1, kT0, {{1, 0}, {2, 0}, {3, 0}, {5, 9000}}))));
  const synmap::v1::Batch core = FingerprintedBatch(1, kT0, {{2, 0}, {3, 0}, {4, 0}});
  ASSERT_OK(store->Commit("core", Plain(core)));
  EXPECT_EQ(MergedConnections(*All(*store)), 5u);
  EXPECT_EQ(TotalConnections(*All(*store)), 7u) << "each sensor's view stays whole";
  ASSERT_OK_AND_ASSIGN(CommitResult again, store->Commit("core", Plain(core)));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(MergedConnections(*All(*store)), 5u) << "a resend never subtracts twice";
  ASSERT_OK(store->Close());
  store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(MergedConnections(*All(*store)), 5u);
  // After the restart core sees fingerprint 5 1 s after edge did, in its next window: it is
  // matched against edge's batch from before the restart.
  ASSERT_OK(store->Commit("core", Plain(FingerprintedBatch(2, kT0 + 10 * kSecond, {{5, 0}}))));
  EXPECT_EQ(MergedConnections(*All(*store)), 5u);
  // A sensor without fingerprints (an older one) is counted whole.
  ASSERT_OK(store->Commit("old", Plain(OneRecordBatch(1, kT0, 2))));
  EXPECT_EQ(MergedConnections(*All(*store)), 7u);
  const auto snapshot = store->Snapshot(0, 0, SnapshotBuckets::kNone);
  EXPECT_TRUE(snapshot->overlap_enabled);
  EXPECT_EQ(snapshot->overlap_tolerance_ns, 65 * kSecond);
}

TEST_P(StoreContractTest, HandshakesTooLateToMatchAreCountedWholeAndCountedInTheSnapshot) {
  Options o;
  o.overlap.horizon = absl::Minutes(5);
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Commit("edge", Plain(FingerprintedBatch(1, kT0, {{1, 0}}))));
  ASSERT_OK(store->Commit("core", Plain(FingerprintedBatch(1, kT0, {{2, 0}}))));
  // Edge's batch 20 minutes on: what was seen at kT0 is forgotten, so core's copy of edge's
  // first handshake can no longer be matched.
  ASSERT_OK(store->Commit("edge", Plain(FingerprintedBatch(2, kT0 + kHour / 3, {{3, 0}}))));
  ASSERT_OK(store->Commit("core", Plain(FingerprintedBatch(2, kT0 + 10 * kSecond, {{1, 0}}))));
  const auto snapshot = All(*store);
  EXPECT_EQ(MergedConnections(*snapshot), 4u);
  EXPECT_EQ(snapshot->overlap_late, 1u);
}

TEST_P(StoreContractTest, BatchWithFingerprintsNotMatchingItsConnectionsIsRefused) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  synmap::v1::Batch batch = FingerprintedBatch(1, kT0, {{1, 0}, {2, 0}});
  batch.add_handshake_fingerprints(3);
  batch.add_handshake_offsets_ms(0);
  EXPECT_THAT(store->Commit("edge", Plain(batch)), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(TotalConnections(*All(*store)), 0u);
}

TEST_P(StoreContractTest, TwoCollectorsOnOneDatabaseDeduplicateTheSame) {
  if (GetParam() != Backend::kPostgres) {
    GTEST_SKIP() << "one SQLite file has one collector";
  }
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  // Each collector commits one sensor's batch; neither saw the other's when it committed.
  ASSERT_OK(a->Commit("edge", Plain(FingerprintedBatch(1, kT0, {{1, 0}, {2, 0}}))));
  ASSERT_OK(b->Commit("core", Plain(FingerprintedBatch(1, kT0, {{2, 0}, {3, 0}}))));
  ASSERT_OK(a->Checkpoint());  // Follows the other's commits now.
  ASSERT_OK(b->Checkpoint());
  EXPECT_EQ(MergedConnections(*All(*a)), 3u);
  EXPECT_EQ(MergedConnections(*All(*b)), 3u);
}

// The site recorded for `sensor` in `s` (a test failure when it is unknown).
std::string SiteOf(const StoreSnapshot& s, const std::string& sensor) {
  for (const SensorState& state : s.sensors) {
    if (state.name == sensor) {
      return state.site;
    }
  }
  ADD_FAILURE() << "no sensor " << sensor;
  return "";
}

common::SensorInfo HelloFromSite(const std::string& site) {
  common::SensorInfo hello;
  hello.software_version = "test";
  hello.site = site;
  return hello;
}

TEST_P(StoreContractTest, SensorSiteIsRecordedFromItsHelloAndKeptAcrossReopen) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->RecordHello("east", "peer", HelloFromSite("alpha")).status());
  ASSERT_OK(store->RecordHello("plain", "peer", common::SensorInfo()).status());
  ASSERT_OK(store->Commit("east", Plain(OneRecordBatch(1, kT0))));
  EXPECT_EQ(SiteOf(*All(*store), "east"), "alpha");
  EXPECT_EQ(SiteOf(*All(*store), "plain"), "");
  ASSERT_OK(store->Close());
  store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(SiteOf(*All(*store), "east"), "alpha");
  EXPECT_EQ(SiteOf(*All(*store), "plain"), "");
  EXPECT_EQ(TotalConnections(*All(*store)), 1u);
  // A later Hello from another site moves the sensor, its stored rows with it.
  ASSERT_OK(store->RecordHello("east", "peer", HelloFromSite("beta")).status());
  EXPECT_EQ(SiteOf(*All(*store), "east"), "beta");
  ASSERT_OK(store->Close());
  store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(SiteOf(*All(*store), "east"), "beta");
}

TEST_P(StoreContractTest, OverlappingSensorsDeduplicateOnlyWithinOneSite) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  for (const char* sensor : {"edge", "core"}) {
    ASSERT_OK(store->RecordHello(sensor, "peer", HelloFromSite("alpha")).status());
  }
  ASSERT_OK(store->RecordHello("far", "peer", HelloFromSite("beta")).status());
  // The same addresses, ports, fingerprints and times at both sites: alpha's two sensors share
  // handshakes 2 and 3; beta's sensor is another network that reuses the addresses.
  ASSERT_OK(store->Commit("edge", Plain(FingerprintedBatch(1, kT0, {{1, 0}, {2, 0}, {3, 0}}))));
  ASSERT_OK(store->Commit("core", Plain(FingerprintedBatch(1, kT0, {{2, 0}, {3, 0}, {4, 0}}))));
  ASSERT_OK(store->Commit("far", Plain(FingerprintedBatch(1, kT0, {{1, 0}, {2, 0}, {3, 0}}))));
  EXPECT_EQ(TotalConnections(*All(*store)), 9u);
  EXPECT_EQ(MergedConnections(*All(*store)), 4u + 3u) << "alpha: 1-4 once; beta: its own 3";
  ASSERT_OK(store->Close());
  store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(MergedConnections(*All(*store)), 7u);
  // After the restart a late sighting of handshake 1 at beta's site pairs with nothing at alpha.
  ASSERT_OK(store->RecordHello("far2", "peer", HelloFromSite("beta")).status());
  ASSERT_OK(store->Commit("far2", Plain(FingerprintedBatch(1, kT0, {{1, 0}}))));
  EXPECT_EQ(MergedConnections(*All(*store)), 7u) << "far2 pairs with far, both at beta";
  ASSERT_OK(store->RecordHello("lone", "peer", HelloFromSite("gamma")).status());
  ASSERT_OK(store->Commit("lone", Plain(FingerprintedBatch(1, kT0, {{1, 0}}))));
  EXPECT_EQ(MergedConnections(*All(*store)), 8u) << "gamma has no partner for handshake 1";
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

}  // namespace
}  // namespace synmap::collector
