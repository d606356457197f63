#include "collector/store/postgres_store.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/memory/memory.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "collector/store/internal/aggregate_index.h"
#include "collector/store/internal/pg_admin.h"
#include "collector/store/internal/pg_conn.h"
#include "collector/store/internal/sensor_ledger.h"
#include "collector/store/internal/store_health.h"
#include "common/batch/batch_codec.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace synmap::collector {

bool IsPostgresDatabase(absl::string_view db) { return internal::IsPostgresUri(db); }

absl::Status PostgresStoreOptions::Validate() const {
  if (!IsPostgresDatabase(uri)) {
    return absl::InvalidArgumentError(
        "postgres store uri must start with postgresql:// or postgres://");
  }
  SqliteStoreOptions tier_check;  // The tier rules are the same for both backends.
  tier_check.path = uri;
  tier_check.tiers = tiers;
  tier_check.retention = retention;
  SYNMAP_RETURN_IF_ERROR(tier_check.Validate());
  SYNMAP_RETURN_IF_ERROR(overlap.Validate());
  if (poll_interval < absl::Milliseconds(10) || poll_interval > absl::Minutes(1)) {
    return absl::InvalidArgumentError("postgres store poll interval must be 10ms..1m");
  }
  if (commit_connections < 1 || commit_connections > 64) {
    return absl::InvalidArgumentError("postgres store commit connections must be 1..64");
  }
  return absl::OkStatus();
}

namespace internal {
namespace {

constexpr int64_t kDayNs = int64_t{86'400} * 1'000'000'000;
// Batches fetched per query when following the log.
constexpr int kFetchBatches = 64;

// Migration N takes the schema from version N to N+1. Never edit a released one: append.
constexpr std::array<const char*, 4> kPgMigrations = {
    // 0 -> 1: sensors, batch metadata with digests, the batch log partitioned by day.
    R"sql(
CREATE TABLE sensors (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  peer_address text NOT NULL DEFAULT '',
  hello bytea NOT NULL DEFAULT '',
  hello_ns bigint NOT NULL DEFAULT 0,
  health bytea NOT NULL DEFAULT '',
  batch_health bytea NOT NULL DEFAULT '',
  last_heartbeat_ns bigint NOT NULL DEFAULT 0,
  -- Highest committed seq; updated in the transaction that commits it, under the row lock
  -- every commit of this sensor takes, so seqs of one sensor become visible in order.
  last_seq bigint NOT NULL DEFAULT 0
);
CREATE TABLE batches (
  sensor_id integer NOT NULL REFERENCES sensors (id),
  seq bigint NOT NULL,
  digest bytea NOT NULL,
  start_ns bigint NOT NULL,
  end_ns bigint NOT NULL,
  commit_ns bigint NOT NULL,
  records bigint NOT NULL,
  packets_received bigint NOT NULL,
  kernel_drops bigint NOT NULL,
  interface_drops bigint NOT NULL,
  synacks bigint NOT NULL,
  retransmissions bigint NOT NULL,
  malformed bigint NOT NULL,
  handshakes_evicted bigint NOT NULL,
  spool_batches_dropped bigint NOT NULL,
  spool_records_dropped bigint NOT NULL,
  PRIMARY KEY (sensor_id, seq)
);
CREATE INDEX batches_end ON batches (end_ns);
-- Every batch as received (a serialized synmap.v1.Batch): the truth every collector's
-- aggregates are built from. One partition per UTC day of start_ns, named batch_log_dN
-- (N = days since the epoch); retention drops whole partitions.
CREATE TABLE batch_log (
  sensor_id integer NOT NULL,
  seq bigint NOT NULL,
  start_ns bigint NOT NULL,
  body bytea NOT NULL,
  PRIMARY KEY (sensor_id, seq, start_ns)
) PARTITION BY RANGE (start_ns);
CREATE FUNCTION synmap_ensure_partition(day bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('synmap.partitions', 0));
  EXECUTE format('CREATE TABLE IF NOT EXISTS batch_log_d%s PARTITION OF batch_log '
                 'FOR VALUES FROM (%s) TO (%s)', day, day * 86400000000000,
                 (day + 1) * 86400000000000);
END $$;
)sql",
    // 1 -> 2: the site each sensor belongs to (docs/sites.md); '' = none, as for every sensor
    // recorded before sites existed.
    R"sql(
ALTER TABLE sensors ADD COLUMN site text NOT NULL DEFAULT '';
)sql",
    // 2 -> 3: revoked identities (docs/operations.md, "Revocation"), written by
    // `synmap-collector revoke` at any collector, read by every collector every 0.5 s.
    R"sql(
CREATE TABLE revocations (
  name text PRIMARY KEY,
  revoked_ns bigint NOT NULL,
  reason text NOT NULL DEFAULT ''
);
)sql",
    // 3 -> 4: one-time enrolment tokens (docs/operations.md, "Add a sensor in two commands"),
    // kept only as their SHA-256; used_ns 0 while unused.
    R"sql(
CREATE TABLE enrolment_tokens (
  hash text PRIMARY KEY,
  name text NOT NULL,
  role text NOT NULL,
  created_ns bigint NOT NULL,
  expires_ns bigint NOT NULL,
  used_ns bigint NOT NULL DEFAULT 0
);
)sql",
};
constexpr int64_t kPgSchemaVersion = static_cast<int64_t>(kPgMigrations.size());

constexpr const char* kBatchColumns =
    "b.sensor_id, b.seq, b.start_ns, b.end_ns, b.commit_ns, b.records, b.packets_received, "
    "b.kernel_drops, b.interface_drops, b.synacks, b.retransmissions, b.malformed, "
    "b.handshakes_evicted, b.spool_batches_dropped, b.spool_records_dropped, l.body";

int64_t DayOf(int64_t t_ns) { return AggregateIndex::FloorTo(t_ns, kDayNs) / kDayNs; }

std::string Serialized(const common::SensorHealth& h) {
  return common::HealthToProto(h).SerializeAsString();
}

common::SensorHealth ParseHealth(absl::string_view bytes) {
  synmap::v1::SensorHealth proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return {};
  }
  return common::HealthFromProto(proto);
}

// What to answer when the database failed: callers retry Unavailable.
absl::Status Retryable(const absl::Status& status, absl::string_view what) {
  if (status.code() == absl::StatusCode::kUnavailable ||
      status.code() == absl::StatusCode::kCancelled) {
    return Annotate(status, what);
  }
  return absl::UnavailableError(absl::StrCat(what, ": ", status.message()));
}

}  // namespace

absl::Status MigratePostgresSchema(PgConn& conn, absl::string_view uri) {
  // One collector migrates at a time; the others wait, then find the schema current.
  SYNMAP_RETURN_IF_ERROR(conn.ExecScript("BEGIN"));
  auto migrate = [&]() -> absl::Status {
    SYNMAP_RETURN_IF_ERROR(
        conn.Exec("SELECT pg_advisory_xact_lock(hashtextextended('synmap.schema', 0))").status());
    SYNMAP_RETURN_IF_ERROR(conn.ExecScript(
        "CREATE TABLE IF NOT EXISTS synmap_schema (id integer PRIMARY KEY CHECK (id = 1), "
        "version integer NOT NULL); "
        "INSERT INTO synmap_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"));
    SYNMAP_ASSIGN_OR_RETURN(PgResult row,
                            conn.Exec("SELECT version::bigint FROM synmap_schema WHERE id = 1"));
    const int64_t version = row.rows() == 1 ? row.Int(0, 0) : 0;
    if (version > kPgSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database ", RedactUri(uri), " has schema version ", version,
          ", newer than this program's ", kPgSchemaVersion, "; upgrade synmap-collector"));
    }
    for (int64_t v = version; v < kPgSchemaVersion; ++v) {
      SYNMAP_RETURN_IF_ERROR(Annotate(conn.ExecScript(kPgMigrations[static_cast<size_t>(v)]),
                                      absl::StrCat("migrate schema to version ", v + 1)));
      SYNMAP_RETURN_IF_ERROR(
          conn.Exec("UPDATE synmap_schema SET version = $1 WHERE id = 1", PgParams().Int(v + 1))
              .status());
      SYNMAP_LOG(INFO) << "store_schema_migrated version=" << v + 1;
    }
    return conn.ExecScript("COMMIT");
  };
  absl::Status status = migrate();
  if (!status.ok()) {
    (void)conn.ExecScript("ROLLBACK");
  }
  return status;
}

// The PostgreSQL Store. The database holds the truth (sensors, batch metadata with digests,
// the batch log); each collector keeps its own in-memory aggregates and sensor ledger, built
// from the log at open and kept current by its own commits (applied before Commit returns)
// and by a poller that reads what other collectors committed. Both appliers take apply_mu_
// and apply a sensor's batches in seq order, each once. Thread-safe.
class PostgresStore final : public Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(const PostgresStoreOptions& options);
  ~PostgresStore() override { (void)Close(); }

  absl::StatusOr<CommitResult> Commit(absl::string_view sensor,
                                      common::SequencedBatch batch) override;
  absl::StatusOr<uint64_t> RecordHello(absl::string_view sensor, absl::string_view peer_address,
                                       const common::SensorInfo& hello) override;
  absl::Status RecordHeartbeat(absl::string_view sensor,
                               const common::SensorHealth& health) override;
  void RecordDisconnect(absl::string_view sensor) override;
  uint64_t LastCommittedSeq(absl::string_view sensor) override;
  std::shared_ptr<const StoreSnapshot> Snapshot(int64_t since_ns, int64_t until_ns,
                                                SnapshotBuckets buckets) override;
  absl::Status Checkpoint() override;
  absl::Status ApplyRetention() override;
  StoreStats stats() const override;
  absl::Status Close() override;
  absl::Status Revoke(const Revocation& revocation) override { return admin_.Revoke(revocation); }
  absl::Status Unrevoke(absl::string_view name) override { return admin_.Unrevoke(name); }
  absl::StatusOr<std::vector<Revocation>> Revocations() override { return admin_.Revocations(); }

 private:
  explicit PostgresStore(const PostgresStoreOptions& options)
      : options_(options),
        clock_(options.clock != nullptr ? *options.clock : RealClock::Get()),
        admin_(options.uri),
        index_(IndexTiers(options.tiers), options.overlap) {}

  static std::vector<BucketTier> IndexTiers(const std::vector<StoreTier>& tiers) {
    std::vector<BucketTier> out;
    for (const StoreTier& t : tiers) {
      out.push_back({absl::ToInt64Nanoseconds(t.width), t.max_age == absl::InfiniteDuration()
                                                            ? 0
                                                            : absl::ToInt64Nanoseconds(t.max_age)});
    }
    return out;
  }
  int64_t NowNs() const { return absl::ToUnixNanos(clock_.Now()); }
  int64_t RetentionCutoffNs() const {
    return options_.retention == absl::ZeroDuration()
               ? std::numeric_limits<int64_t>::min()
               : absl::ToUnixNanos(clock_.Now() - options_.retention);
  }

  absl::Status Migrate(PgConn& conn);
  // Takes a commit connection (waits for one); nullptr once closing.
  std::unique_ptr<PgConn> Acquire() ABSL_LOCKS_EXCLUDED(pool_mu_);
  void Release(std::unique_ptr<PgConn> conn) ABSL_LOCKS_EXCLUDED(pool_mu_);
  // Reads every sensor row: adds new sensors to the ledger in database id order and refreshes
  // hello, health, heartbeat and connected. Returns each sensor's committed last_seq by id.
  absl::StatusOr<absl::flat_hash_map<int64_t, uint64_t>> SyncSensors(PgConn& conn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  // Applies every committed batch of sensor `db_id` above what is applied, in seq order.
  absl::Status CatchUp(PgConn& conn, int64_t db_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  // One round of following the database: sensors, then every sensor that is behind.
  absl::Status Follow(PgConn& conn) ABSL_LOCKS_EXCLUDED(apply_mu_);
  void PollLoop();
  absl::Status EnsurePartition(PgConn& conn, int64_t start_ns);
  // When this collector holds `sensor`'s stream: checks that the session holding its lock is
  // still alive (a database restart ends it) and takes the lock again if it is not. Unavailable
  // (the stream should end; the sensor reconnects) when the lock cannot be had back.
  absl::Status CheckStreamLock(absl::string_view sensor) ABSL_LOCKS_EXCLUDED(leases_mu_);
  absl::StatusOr<CommitResult> CommitOnce(PgConn& conn, absl::string_view sensor,
                                          const common::SequencedBatch& batch,
                                          const std::string& body, const std::string& digest);
  absl::Status DoRetention(PgConn& conn);
  std::optional<uint32_t> LocalId(int64_t db_id) const ABSL_SHARED_LOCKS_REQUIRED(state_mu_) {
    auto it = local_of_db_id_.find(db_id);
    return it == local_of_db_id_.end() ? std::nullopt : std::optional<uint32_t>(it->second);
  }

  const PostgresStoreOptions options_;
  Clock& clock_;
  PgAdminTables admin_;  // Revocations, on a connection of their own.

  absl::Mutex pool_mu_;
  std::vector<std::unique_ptr<PgConn>> pool_ ABSL_GUARDED_BY(pool_mu_);
  int pool_out_ ABSL_GUARDED_BY(pool_mu_) = 0;
  bool closing_ ABSL_GUARDED_BY(pool_mu_) = false;

  // Stream leases: sensor name -> the connection holding its advisory lock.
  absl::Mutex leases_mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<PgConn>> leases_ ABSL_GUARDED_BY(leases_mu_);

  absl::Mutex partitions_mu_;
  absl::flat_hash_set<int64_t> partitions_ ABSL_GUARDED_BY(partitions_mu_);  // Days known.

  // Serializes appliers (commits' own batches, the poller), so each sensor's batches are
  // applied in seq order and once. Taken before state_mu_.
  absl::Mutex apply_mu_ ABSL_ACQUIRED_BEFORE(state_mu_);
  mutable absl::Mutex state_mu_;
  AggregateIndex index_ ABSL_GUARDED_BY(state_mu_);
  SensorLedger ledger_ ABSL_GUARDED_BY(state_mu_);
  StoreStats stats_ ABSL_GUARDED_BY(state_mu_);
  absl::flat_hash_map<int64_t, uint32_t> local_of_db_id_ ABSL_GUARDED_BY(state_mu_);
  int64_t last_rollup_ns_ ABSL_GUARDED_BY(apply_mu_) = 0;

  StoreHealthTracker health_{"postgresql"};

  std::unique_ptr<PgConn> poll_conn_;  // Poller thread only (and Open).
  absl::Notification stop_;
  std::thread poller_;

  absl::Mutex close_mu_;
  bool closed_ ABSL_GUARDED_BY(close_mu_) = false;
};

absl::StatusOr<std::unique_ptr<Store>> PostgresStore::Open(const PostgresStoreOptions& options) {
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  auto store = absl::WrapUnique(new PostgresStore(options));
  store->poll_conn_ = std::make_unique<PgConn>(options.uri, "follow");
  SYNMAP_RETURN_IF_ERROR(store->poll_conn_->Ensure());
  SYNMAP_RETURN_IF_ERROR(store->Migrate(*store->poll_conn_));
  {
    absl::MutexLock lock(&store->pool_mu_);
    for (int i = 0; i < options.commit_connections; ++i) {
      store->pool_.push_back(std::make_unique<PgConn>(options.uri, absl::StrCat("commit-", i)));
    }
  }
  const absl::Time begin = absl::Now();
  const int64_t loaded_as_of_ns = store->NowNs();
  SYNMAP_RETURN_IF_ERROR(Annotate(store->Follow(*store->poll_conn_), "load the batch log"));
  store->health_.Synced(loaded_as_of_ns);
  {
    absl::MutexLock lock(&store->state_mu_);
    store->index_.RollUp(store->NowNs());
    store->index_.DropBucketsBefore(store->RetentionCutoffNs());
    store->ledger_.DropBatchesBefore(store->RetentionCutoffNs());
    (void)store->index_.TakeDirty();
    SYNMAP_LOG(INFO) << "store_opened db=" << RedactUri(options.uri)
                     << " sensors=" << store->ledger_.size()
                     << " buckets=" << store->index_.bucket_count()
                     << " rows=" << store->index_.rows()
                     << " replayed_batches=" << store->stats_.replayed_batches
                     << " seconds=" << absl::ToDoubleSeconds(absl::Now() - begin);
  }
  store->poller_ = std::thread([s = store.get()] { s->PollLoop(); });
  return store;
}

absl::Status PostgresStore::Migrate(PgConn& conn) {
  return MigratePostgresSchema(conn, options_.uri);
}

std::unique_ptr<PgConn> PostgresStore::Acquire() {
  absl::MutexLock lock(&pool_mu_);
  auto ready = [this]()
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool_mu_) { return closing_ || !pool_.empty(); };
  pool_mu_.Await(absl::Condition(&ready));
  if (closing_) {
    return nullptr;
  }
  std::unique_ptr<PgConn> conn = std::move(pool_.back());
  pool_.pop_back();
  ++pool_out_;
  return conn;
}

void PostgresStore::Release(std::unique_ptr<PgConn> conn) {
  absl::MutexLock lock(&pool_mu_);
  pool_.push_back(std::move(conn));
  --pool_out_;
}

absl::StatusOr<absl::flat_hash_map<int64_t, uint64_t>> PostgresStore::SyncSensors(PgConn& conn) {
  // A sensor is connected when some collector's session holds its stream lock.
  SYNMAP_ASSIGN_OR_RETURN(
      PgResult rows,
      conn.Exec("SELECT s.id::bigint, s.name, s.peer_address, s.hello, s.hello_ns, s.health, "
                "s.last_heartbeat_ns, s.last_seq, s.site, EXISTS (SELECT 1 FROM pg_locks l WHERE "
                "l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND "
                "((l.classid::bigint << 32) | l.objid::bigint) = "
                "hashtextextended('synmap.stream:' || s.name, 0)) "
                "FROM sensors s ORDER BY s.id"));
  absl::flat_hash_map<int64_t, uint64_t> last_seqs;
  absl::MutexLock lock(&state_mu_);
  for (int r = 0; r < rows.rows(); ++r) {
    const int64_t db_id = rows.Int(r, 0);
    std::optional<uint32_t> local = LocalId(db_id);
    if (!local.has_value()) {
      local = ledger_.Add(std::string(rows.Bytes(r, 1)));
      local_of_db_id_[db_id] = *local;
    }
    SensorState& s = ledger_.state(*local);
    s.peer_address = std::string(rows.Bytes(r, 2));
    const absl::string_view hello = rows.Bytes(r, 3);
    synmap::v1::Hello proto;
    if (!hello.empty() && proto.ParseFromArray(hello.data(), static_cast<int>(hello.size()))) {
      s.hello = common::SensorInfoFromProto(proto);
    }
    s.hello_ns = rows.Int(r, 4);
    if (!rows.Bytes(r, 5).empty()) {
      s.health = ParseHealth(rows.Bytes(r, 5));
    }
    s.last_heartbeat_ns = rows.Int(r, 6);
    s.site = std::string(rows.Bytes(r, 8));
    s.connected = rows.Bytes(r, 9) == absl::string_view("\x01", 1);
    last_seqs[db_id] = static_cast<uint64_t>(rows.Int(r, 7));
  }
  return last_seqs;
}

absl::Status PostgresStore::CatchUp(PgConn& conn, int64_t db_id) {
  while (true) {
    uint32_t local;
    uint64_t applied;
    {
      absl::ReaderMutexLock lock(&state_mu_);
      std::optional<uint32_t> id = LocalId(db_id);
      if (!id.has_value()) {
        return absl::InternalError(absl::StrCat("sensor id ", db_id, " not loaded"));
      }
      local = *id;
      applied = ledger_.state(local).last_seq;
    }
    SYNMAP_ASSIGN_OR_RETURN(
        PgResult rows,
        conn.Exec(absl::StrCat("SELECT ", kBatchColumns,
                               " FROM batches b JOIN batch_log l ON l.sensor_id = b.sensor_id "
                               "AND l.seq = b.seq AND l.start_ns = b.start_ns "
                               "WHERE b.sensor_id = $1 AND b.seq > $2 ORDER BY b.seq LIMIT ",
                               kFetchBatches),
                  PgParams().Int(db_id).Int(static_cast<int64_t>(applied))));
    const int64_t cutoff = RetentionCutoffNs();
    const int64_t now_ns = NowNs();
    for (int r = 0; r < rows.rows(); ++r) {
      BatchInfo info;
      int c = 1;
      info.seq = static_cast<uint64_t>(rows.Int(r, c++));
      info.start_ns = rows.Int(r, c++);
      info.end_ns = rows.Int(r, c++);
      info.commit_ns = rows.Int(r, c++);
      info.records = static_cast<uint64_t>(rows.Int(r, c++));
      for (uint64_t* field :
           {&info.stats.packets_received, &info.stats.kernel_drops, &info.stats.interface_drops,
            &info.stats.synacks, &info.stats.retransmissions, &info.stats.malformed,
            &info.stats.handshakes_evicted, &info.spool_batches_dropped,
            &info.spool_records_dropped}) {
        *field = static_cast<uint64_t>(rows.Int(r, c++));
      }
      const absl::string_view body = rows.Bytes(r, c);
      synmap::v1::Batch proto;
      if (!proto.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
        return absl::DataLossError(
            absl::StrCat("batch log of sensor id ", db_id, " seq ", info.seq, " is corrupt"));
      }
      absl::StatusOr<common::SequencedBatch> batch = common::DecodeBatch(proto);
      if (!batch.ok()) {
        return absl::DataLossError(absl::StrCat("batch log of sensor id ", db_id, " seq ", info.seq,
                                                " is corrupt: ", batch.status().message()));
      }
      absl::MutexLock lock(&state_mu_);
      SensorState& state = ledger_.state(local);
      if (info.seq <= state.last_seq) {
        continue;
      }
      AccountBatch(*batch, info, state);
      ledger_.AppendBatch(local, info);
      index_.ApplyBatch(local, state.name, batch->batch, cutoff, now_ns, state.site);
      stats_.records += info.records;
      ++stats_.replayed_batches;
    }
    if (rows.rows() < kFetchBatches) {
      return absl::OkStatus();
    }
  }
}

absl::Status PostgresStore::Follow(PgConn& conn) {
  absl::MutexLock apply(&apply_mu_);
  SYNMAP_ASSIGN_OR_RETURN(auto last_seqs, SyncSensors(conn));
  for (const auto& [db_id, last_seq] : last_seqs) {
    uint64_t applied;
    {
      absl::ReaderMutexLock lock(&state_mu_);
      applied = ledger_.state(*LocalId(db_id)).last_seq;
    }
    if (last_seq > applied) {
      SYNMAP_RETURN_IF_ERROR(CatchUp(conn, db_id));
    }
  }
  // Roll aged buckets up and apply retention in memory once a minute.
  const int64_t now_ns = NowNs();
  if (now_ns - last_rollup_ns_ >= int64_t{60} * 1'000'000'000) {
    last_rollup_ns_ = now_ns;
    absl::MutexLock lock(&state_mu_);
    index_.RollUp(now_ns);
    const int64_t cutoff = RetentionCutoffNs();
    index_.DropBucketsBefore(cutoff);
    ledger_.DropBatchesBefore(cutoff);
    (void)index_.TakeDirty();  // Nothing is checkpointed: the log is the only stored form.
  }
  return absl::OkStatus();
}

void PostgresStore::PollLoop() {
  int64_t last_retention_ns = 0;
  while (!stop_.WaitForNotificationWithTimeout(options_.poll_interval)) {
    const int64_t round_start_ns = NowNs();
    absl::Status status = Follow(*poll_conn_);
    if (!status.ok()) {
      health_.Failure(status, NowNs());
      SYNMAP_LOG_EVERY_N_SEC(WARNING, 30) << "store_follow_failed status=" << status;
      continue;
    }
    health_.Synced(round_start_ns);
    if (options_.retention != absl::ZeroDuration() &&
        NowNs() - last_retention_ns >= int64_t{3600} * 1'000'000'000) {
      last_retention_ns = NowNs();
      if (absl::Status r = DoRetention(*poll_conn_); !r.ok()) {
        SYNMAP_LOG(ERROR) << "store_retention_failed status=" << r;
      }
    }
  }
}

absl::Status PostgresStore::EnsurePartition(PgConn& conn, int64_t start_ns) {
  const int64_t day = DayOf(start_ns);
  {
    absl::MutexLock lock(&partitions_mu_);
    if (partitions_.contains(day)) {
      return absl::OkStatus();
    }
  }
  SYNMAP_RETURN_IF_ERROR(
      conn.Exec("SELECT synmap_ensure_partition($1)", PgParams().Int(day)).status());
  absl::MutexLock lock(&partitions_mu_);
  partitions_.insert(day);
  return absl::OkStatus();
}

absl::StatusOr<CommitResult> PostgresStore::CommitOnce(PgConn& conn, absl::string_view sensor,
                                                       const common::SequencedBatch& batch,
                                                       const std::string& body,
                                                       const std::string& digest) {
  SYNMAP_RETURN_IF_ERROR(EnsurePartition(conn, batch.batch.start_ns));
  SYNMAP_RETURN_IF_ERROR(conn.ExecScript("BEGIN"));
  std::optional<CommitResult> answered;
  int64_t db_id = 0;
  uint64_t last_before = 0;
  BatchInfo info;
  auto write = [&]() -> absl::Status {
    SYNMAP_RETURN_IF_ERROR(
        conn.Exec("INSERT INTO sensors (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
                  PgParams().Text(sensor))
            .status());
    // The row lock serializes this sensor's commits across every collector.
    SYNMAP_ASSIGN_OR_RETURN(
        PgResult row,
        conn.Exec("SELECT id::bigint, last_seq, batch_health FROM sensors WHERE name = $1 "
                  "FOR UPDATE",
                  PgParams().Text(sensor)));
    if (row.rows() != 1) {
      return absl::InternalError(absl::StrCat("sensor ", sensor, " row missing"));
    }
    db_id = row.Int(0, 0);
    last_before = static_cast<uint64_t>(row.Int(0, 1));
    SensorState before;
    before.batch_health = ParseHealth(row.Bytes(0, 2));
    SYNMAP_ASSIGN_OR_RETURN(
        PgResult stored, conn.Exec("SELECT digest FROM batches WHERE sensor_id = $1 AND seq = $2",
                                   PgParams().Int(db_id).Int(static_cast<int64_t>(batch.seq))));
    if (stored.rows() == 1) {
      // Committed before (here or at another collector): the same content is a duplicate,
      // other content a conflict. An empty digest (copied from a store that kept none) is
      // taken as the same content, as SQLite does.
      const absl::string_view d = stored.Bytes(0, 0);
      answered = d.empty() || d == digest
                     ? CommitResult{.duplicate = true}
                     : CommitResult{.conflict = true, .last_committed_seq = last_before};
      return absl::OkStatus();
    }
    if (batch.seq <= last_before) {
      answered = CommitResult{.conflict = true, .last_committed_seq = last_before};
      return absl::OkStatus();
    }
    info = MakeBatchInfo(batch, before, NowNs());
    PgParams meta;
    meta.Int(db_id).Int(static_cast<int64_t>(info.seq)).Bytes(digest);
    for (int64_t v : {info.start_ns, info.end_ns, info.commit_ns}) {
      meta.Int(v);
    }
    for (uint64_t v : {info.records, info.stats.packets_received, info.stats.kernel_drops,
                       info.stats.interface_drops, info.stats.synacks, info.stats.retransmissions,
                       info.stats.malformed, info.stats.handshakes_evicted,
                       info.spool_batches_dropped, info.spool_records_dropped}) {
      meta.Int(static_cast<int64_t>(std::min<uint64_t>(v, std::numeric_limits<int64_t>::max())));
    }
    SYNMAP_RETURN_IF_ERROR(
        conn.Exec("INSERT INTO batches (sensor_id, seq, digest, start_ns, end_ns, commit_ns, "
                  "records, packets_received, kernel_drops, interface_drops, synacks, "
                  "retransmissions, malformed, handshakes_evicted, spool_batches_dropped, "
                  "spool_records_dropped) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                  "$12, $13, $14, $15, $16)",
                  meta)
            .status());
    SYNMAP_RETURN_IF_ERROR(
        conn.Exec("INSERT INTO batch_log (sensor_id, seq, start_ns, body) VALUES ($1, $2, $3, $4)",
                  PgParams()
                      .Int(db_id)
                      .Int(static_cast<int64_t>(batch.seq))
                      .Int(batch.batch.start_ns)
                      .Bytes(body))
            .status());
    const std::string health = Serialized(batch.health);
    return conn
        .Exec("UPDATE sensors SET last_seq = $2, batch_health = $3, health = $3 WHERE id = $1",
              PgParams().Int(db_id).Int(static_cast<int64_t>(batch.seq)).Bytes(health))
        .status();
  };
  absl::Status status = write();
  if (status.ok()) {
    status = conn.ExecScript(answered.has_value() ? "ROLLBACK" : "COMMIT");
  }
  if (!status.ok()) {
    (void)conn.ExecScript("ROLLBACK");
    return status;
  }
  if (answered.has_value()) {
    if (answered->duplicate) {
      absl::MutexLock lock(&state_mu_);
      ++stats_.duplicates;
    }
    return *answered;
  }
  // Committed: apply it here before answering, so this collector's next snapshot has it.
  absl::MutexLock apply(&apply_mu_);
  bool known;
  {
    absl::ReaderMutexLock lock(&state_mu_);
    known = LocalId(db_id).has_value();
  }
  if (!known) {
    SYNMAP_RETURN_IF_ERROR(SyncSensors(conn).status());
  }
  bool behind;
  {
    absl::MutexLock lock(&state_mu_);
    const uint32_t local = *LocalId(db_id);
    SensorState& state = ledger_.state(local);
    stats_.commits += 1;
    stats_.transactions += 1;
    behind = state.last_seq < last_before;
    if (state.last_seq == last_before) {
      AccountBatch(batch, info, state);
      ledger_.AppendBatch(local, info);
      index_.ApplyBatch(local, state.name, batch.batch, RetentionCutoffNs(), NowNs(), state.site);
      stats_.records += info.records;
    }
  }
  if (behind) {
    // Other collectors committed this sensor's earlier batches and the poller has not read
    // them yet: read them (and this one) now, in order.
    SYNMAP_RETURN_IF_ERROR(CatchUp(conn, db_id));
  }
  return CommitResult{};
}

absl::Status PostgresStore::CheckStreamLock(absl::string_view sensor) {
  std::unique_ptr<PgConn> lease;
  {
    absl::MutexLock lock(&leases_mu_);
    auto it = leases_.find(sensor);
    if (it == leases_.end()) {
      return absl::OkStatus();  // No stream here (tests, tools): nothing to hold.
    }
    lease = std::move(it->second);  // Checked without the mutex held.
    leases_.erase(it);
  }
  bool held = lease->Alive();
  if (!held) {
    absl::StatusOr<PgResult> got =
        lease->Exec("SELECT pg_try_advisory_lock(hashtextextended('synmap.stream:' || $1, 0))",
                    PgParams().Text(sensor));
    held = got.ok() && got->Bytes(0, 0) == absl::string_view("\x01", 1);
    SYNMAP_LOG(WARNING) << "store_stream_lock_lost sensor=" << sensor
                        << " retaken=" << (held ? 1 : 0);
  }
  if (!held) {
    return absl::UnavailableError(absl::StrCat("the stream lock of sensor ", sensor,
                                               " was lost with the database session; reconnect"));
  }
  absl::MutexLock lock(&leases_mu_);
  leases_.try_emplace(std::string(sensor), std::move(lease));
  return absl::OkStatus();
}

absl::StatusOr<CommitResult> PostgresStore::Commit(absl::string_view sensor,
                                                   common::SequencedBatch batch) {
  SYNMAP_RETURN_IF_ERROR(common::ValidateSensorName(sensor));
  SYNMAP_RETURN_IF_ERROR(common::CheckBatch(batch, NowNs(), common::BatchLimits(), nullptr));
  SYNMAP_ASSIGN_OR_RETURN(const std::string body, common::EncodeBatch(batch));
  const std::string digest = common::BatchDigest(body);
  SYNMAP_RETURN_IF_ERROR(CheckStreamLock(sensor));
  std::unique_ptr<PgConn> conn = Acquire();
  if (conn == nullptr) {
    return absl::CancelledError("store is closing");
  }
  absl::StatusOr<CommitResult> result = CommitOnce(*conn, sensor, batch, body, digest);
  if (result.status().code() == absl::StatusCode::kAborted) {
    result = CommitOnce(*conn, sensor, batch, body, digest);  // A deadlock victim: once more.
  }
  if (result.status().code() == absl::StatusCode::kFailedPrecondition) {
    // Most likely the day's partition was dropped by retention at another collector since
    // this one made it: make it again and try once more.
    {
      absl::MutexLock lock(&partitions_mu_);
      partitions_.erase(DayOf(batch.batch.start_ns));
    }
    result = CommitOnce(*conn, sensor, batch, body, digest);
  }
  Release(std::move(conn));
  if (!result.ok() && result.status().code() != absl::StatusCode::kDataLoss) {
    health_.Failure(result.status(), NowNs());
    return Retryable(result.status(), absl::StrCat("commit batch seq ", batch.seq));
  }
  if (result.ok()) {
    health_.Success();
  }
  return result;
}

absl::StatusOr<uint64_t> PostgresStore::RecordHello(absl::string_view sensor,
                                                    absl::string_view peer_address,
                                                    const common::SensorInfo& hello) {
  SYNMAP_RETURN_IF_ERROR(common::ValidateSensorName(sensor));
  {
    absl::MutexLock lock(&pool_mu_);
    if (closing_) {
      return absl::CancelledError("store is closing");
    }
  }
  {
    // One stream per sensor name across collectors: a session advisory lock, held on a
    // connection of its own until RecordDisconnect (or until this process dies).
    absl::MutexLock lock(&leases_mu_);
    auto it = leases_.find(sensor);
    if (it == leases_.end() || !it->second->Alive()) {
      auto conn = std::make_unique<PgConn>(options_.uri, absl::StrCat("stream ", sensor));
      // A collector that just died may still hold the lock for a moment (until the server
      // reads the end of its session): ask again briefly before refusing.
      absl::StatusOr<PgResult> got;
      for (int attempt = 0; attempt < 5; ++attempt) {
        got = conn->Exec("SELECT pg_try_advisory_lock(hashtextextended('synmap.stream:' || $1, 0))",
                         PgParams().Text(sensor));
        if (!got.ok() || got->Bytes(0, 0) == absl::string_view("\x01", 1)) {
          break;
        }
        absl::SleepFor(absl::Milliseconds(100));
      }
      if (!got.ok()) {
        return Retryable(got.status(), absl::StrCat("claim the stream of sensor ", sensor));
      }
      if (got->Bytes(0, 0) != absl::string_view("\x01", 1)) {
        return absl::AlreadyExistsError(absl::StrCat(
            "sensor ", sensor,
            " is already streaming to another collector of this database; refusing a second "
            "stream (a sensor whose collector died is accepted once the database notices)"));
      }
      leases_[std::string(sensor)] = std::move(conn);
    }
  }
  std::unique_ptr<PgConn> conn = Acquire();
  if (conn == nullptr) {
    return absl::CancelledError("store is closing");
  }
  const int64_t now_ns = NowNs();
  const std::string info = common::SensorInfoToProto(hello).SerializeAsString();
  const std::string health = Serialized(hello.health);
  absl::StatusOr<PgResult> row = conn->Exec(
      "INSERT INTO sensors (name, peer_address, hello, hello_ns, health, site) VALUES ($1, $2, "
      "$3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET peer_address = $2, hello = $3, "
      "hello_ns = $4, health = $5, site = $6 RETURNING id::bigint, last_seq",
      PgParams()
          .Text(sensor)
          .Text(peer_address.substr(0, 256))
          .Bytes(info)
          .Int(now_ns)
          .Bytes(health)
          .Text(hello.site));
  absl::Status status = row.status();
  int64_t db_id = 0;
  uint64_t last_seq = 0;
  if (status.ok()) {
    db_id = row->Int(0, 0);
    last_seq = static_cast<uint64_t>(row->Int(0, 1));
    absl::MutexLock apply(&apply_mu_);
    bool known;
    {
      absl::ReaderMutexLock lock(&state_mu_);
      known = LocalId(db_id).has_value();
    }
    if (!known) {
      status = SyncSensors(*conn).status();
    }
    if (status.ok()) {
      absl::MutexLock lock(&state_mu_);
      SensorState& s = ledger_.state(*LocalId(db_id));
      s.peer_address = std::string(peer_address.substr(0, 256));
      s.hello = hello;
      s.site = hello.site;
      s.hello_ns = now_ns;
      s.health = hello.health;
      s.connected = true;
    }
  }
  Release(std::move(conn));
  if (!status.ok()) {
    health_.Failure(status, NowNs());
    return Retryable(status, absl::StrCat("record hello of sensor ", sensor));
  }
  return last_seq;
}

absl::Status PostgresStore::RecordHeartbeat(absl::string_view sensor,
                                            const common::SensorHealth& health) {
  SYNMAP_RETURN_IF_ERROR(common::ValidateSensorName(sensor));
  std::unique_ptr<PgConn> conn = Acquire();
  if (conn == nullptr) {
    return absl::CancelledError("store is closing");
  }
  const int64_t now_ns = NowNs();
  absl::Status status =
      conn->Exec("UPDATE sensors SET health = $2, last_heartbeat_ns = $3 WHERE name = $1",
                 PgParams().Text(sensor).Bytes(Serialized(health)).Int(now_ns))
          .status();
  Release(std::move(conn));
  if (!status.ok()) {
    health_.Failure(status, NowNs());
    return Retryable(status, absl::StrCat("record heartbeat of sensor ", sensor));
  }
  absl::MutexLock lock(&state_mu_);
  if (std::optional<uint32_t> id = ledger_.Find(sensor)) {
    ledger_.state(*id).health = health;
    ledger_.state(*id).last_heartbeat_ns = now_ns;
  }
  return absl::OkStatus();
}

void PostgresStore::RecordDisconnect(absl::string_view sensor) {
  {
    absl::MutexLock lock(&leases_mu_);
    leases_.erase(sensor);  // Closing the session releases its advisory lock.
  }
  absl::MutexLock lock(&state_mu_);
  if (std::optional<uint32_t> id = ledger_.Find(sensor)) {
    ledger_.state(*id).connected = false;
  }
}

uint64_t PostgresStore::LastCommittedSeq(absl::string_view sensor) {
  absl::ReaderMutexLock lock(&state_mu_);
  std::optional<uint32_t> id = ledger_.Find(sensor);
  return id ? ledger_.state(*id).last_seq : 0;
}

std::shared_ptr<const StoreSnapshot> PostgresStore::Snapshot(int64_t since_ns, int64_t until_ns,
                                                             SnapshotBuckets buckets) {
  auto snapshot = std::make_shared<StoreSnapshot>();
  absl::ReaderMutexLock lock(&state_mu_);
  const AnsweredWindow answered = index_.Widen(since_ns, until_ns, NowNs());
  snapshot->answered_since_ns = answered.since_ns;
  snapshot->answered_until_ns = answered.until_ns;
  snapshot->resolution_ns = answered.resolution_ns;
  if (buckets == SnapshotBuckets::kWindow) {
    index_.CollectBuckets(answered.since_ns, answered.until_ns, &snapshot->buckets);
  } else if (buckets == SnapshotBuckets::kAll) {
    index_.CollectBuckets(0, 0, &snapshot->buckets);
  }
  std::tie(snapshot->stored_since_ns, snapshot->stored_until_ns) = index_.StoredSpan();
  snapshot->ips = index_.ips();
  snapshot->keys = index_.keys();
  snapshot->sensors = ledger_.States();
  snapshot->coverage = ledger_.Coverage(answered.since_ns, answered.until_ns);
  snapshot->overlap = index_.OverlapReport();
  snapshot->overlap_enabled = index_.overlap_enabled();
  snapshot->overlap_tolerance_ns = index_.overlap_tolerance_ns();
  snapshot->overlap_late = index_.overlap_late();
  snapshot->store = health_.Get();
  return snapshot;
}

absl::Status PostgresStore::Checkpoint() {
  // Nothing to write back (the log is the stored form): catch up with other collectors and
  // roll aged buckets up, so the next snapshot reflects the database as of now.
  std::unique_ptr<PgConn> conn = Acquire();
  if (conn == nullptr) {
    return absl::CancelledError("store is closing");
  }
  absl::Status status = Follow(*conn);
  Release(std::move(conn));
  if (!status.ok()) {
    return Retryable(status, "follow the database");
  }
  absl::MutexLock lock(&state_mu_);
  index_.RollUp(NowNs());
  (void)index_.TakeDirty();
  ++stats_.checkpoints;
  return absl::OkStatus();
}

absl::Status PostgresStore::DoRetention(PgConn& conn) {
  if (options_.retention == absl::ZeroDuration()) {
    return absl::OkStatus();
  }
  const int64_t cutoff = RetentionCutoffNs();
  // A partition goes once every batch starting in it has ended before the cutoff (batches
  // are at most a day long in practice; one spare day keeps a straddling batch's body).
  const int64_t last_day = DayOf(cutoff) - 2;
  SYNMAP_ASSIGN_OR_RETURN(
      PgResult parts,
      conn.Exec("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'batch_log'"));
  int dropped = 0;
  for (int r = 0; r < parts.rows(); ++r) {
    const std::string name(parts.Bytes(r, 0));
    int64_t day = 0;
    if (!absl::StartsWith(name, "batch_log_d") ||
        !absl::SimpleAtoi(absl::string_view(name).substr(11), &day) || day > last_day) {
      continue;
    }
    SYNMAP_RETURN_IF_ERROR(conn.ExecScript(absl::StrCat("DROP TABLE IF EXISTS ", name)));
    ++dropped;
    absl::MutexLock lock(&partitions_mu_);
    partitions_.erase(day);
  }
  // Metadata (and digests) go with the buckets, as in SQLite; a log row left without its
  // metadata is never read again and goes with its partition.
  SYNMAP_RETURN_IF_ERROR(
      conn.Exec("DELETE FROM batches WHERE end_ns <= $1", PgParams().Int(cutoff)).status());
  {
    absl::MutexLock lock(&state_mu_);
    index_.DropBucketsBefore(cutoff);
    ledger_.DropBatchesBefore(cutoff);
    (void)index_.TakeDirty();
  }
  SYNMAP_LOG(INFO) << "store_retention partitions_dropped=" << dropped;
  return absl::OkStatus();
}

absl::Status PostgresStore::ApplyRetention() {
  std::unique_ptr<PgConn> conn = Acquire();
  if (conn == nullptr) {
    return absl::CancelledError("store is closing");
  }
  absl::Status status = DoRetention(*conn);
  Release(std::move(conn));
  return status.ok() ? status : Retryable(status, "apply retention");
}

StoreStats PostgresStore::stats() const {
  absl::ReaderMutexLock lock(&state_mu_);
  StoreStats out = stats_;
  out.aggregate_rows = index_.rows();
  out.buckets = index_.bucket_count();
  out.saturated_sums = index_.saturated();
  return out;
}

absl::Status PostgresStore::Close() {
  absl::MutexLock close_lock(&close_mu_);
  if (closed_) {
    return absl::OkStatus();
  }
  closed_ = true;
  stop_.Notify();
  if (poller_.joinable()) {
    poller_.join();
  }
  {
    absl::MutexLock lock(&pool_mu_);
    closing_ = true;
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool_mu_) { return pool_out_ == 0; };
    pool_mu_.Await(absl::Condition(&idle));
    pool_.clear();
  }
  {
    absl::MutexLock lock(&leases_mu_);
    leases_.clear();
  }
  poll_conn_.reset();
  return absl::OkStatus();
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options) {
  return internal::PostgresStore::Open(options);
}

}  // namespace synmap::collector
