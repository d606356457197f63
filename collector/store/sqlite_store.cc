#include "collector/store/sqlite_store.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "collector/store/internal/aggregate_index.h"
#include "collector/store/internal/batch_digest.h"
#include "collector/store/internal/database_lock.h"
#include "collector/store/internal/schema.h"
#include "collector/store/internal/sensor_ledger.h"
#include "collector/store/internal/sqlite_db.h"
#include "collector/store/internal/sqlite_store_impl.h"
#include "common/batch/batch_codec.h"
#include "common/config/options.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace synmap::collector {

std::vector<StoreTier> DefaultStoreTiers() {
  return {{absl::Minutes(1), absl::Hours(48)},
          {absl::Hours(1), absl::Hours(24 * 90)},
          {absl::Hours(24), absl::InfiniteDuration()}};
}

absl::StatusOr<std::vector<StoreTier>> ParseStoreTiers(absl::string_view text) {
  std::vector<StoreTier> tiers;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::vector<absl::string_view> fields = absl::StrSplit(part, ':');
    if (fields.size() > 2) {
      return absl::InvalidArgumentError(absl::StrCat("bucket tier '", part, "': want WIDTH:AGE"));
    }
    StoreTier tier{absl::ZeroDuration(), absl::InfiniteDuration()};
    SYNMAP_ASSIGN_OR_RETURN(tier.width,
                            common::ParseDurationText(absl::StripAsciiWhitespace(fields[0])));
    if (fields.size() == 2) {
      SYNMAP_ASSIGN_OR_RETURN(tier.max_age,
                              common::ParseDurationText(absl::StripAsciiWhitespace(fields[1])));
    }
    tiers.push_back(tier);
  }
  return tiers;
}

absl::Status SqliteStoreOptions::Validate() const {
  if (path.empty()) {
    return absl::InvalidArgumentError("store path is empty");
  }
  if (tiers.empty()) {
    return absl::InvalidArgumentError("store bucket tiers are empty");
  }
  for (size_t i = 0; i < tiers.size(); ++i) {
    const StoreTier& t = tiers[i];
    const bool last = i + 1 == tiers.size();
    if (t.width < absl::Seconds(1) || t.width > absl::Hours(24 * 366) ||
        t.width % absl::Seconds(1) != absl::ZeroDuration()) {
      return absl::InvalidArgumentError("store bucket widths must be whole seconds, 1s..366d");
    }
    if (last != (t.max_age == absl::InfiniteDuration())) {
      return absl::InvalidArgumentError(
          "store bucket tiers: every tier but the last needs an age; the last has none");
    }
    if (!last &&
        (tiers[i + 1].width % t.width != absl::ZeroDuration() || tiers[i + 1].width == t.width)) {
      return absl::InvalidArgumentError(
          "store bucket tiers: each width must divide the next, coarser one");
    }
    if (t.max_age <= absl::ZeroDuration() || (i > 0 && t.max_age <= tiers[i - 1].max_age)) {
      return absl::InvalidArgumentError("store bucket tiers: ages must be positive and increase");
    }
  }
  if (retention < absl::ZeroDuration() || log_retention < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("store retention and log retention must not be negative");
  }
  if (checkpoint_records == 0 || max_group_records == 0 ||
      checkpoint_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("store checkpoint and group limits must be positive");
  }
  return overlap.Validate();
}

namespace internal {

absl::StatusOr<std::unique_ptr<Store>> SqliteStore::Open(const SqliteStoreOptions& options) {
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, OpenWalConnection(options.path));
  if (const int rc = RegisterBatchDigestFunction(db->raw()); rc != SQLITE_OK) {
    return SqliteError(db->raw(), rc, "register synmap_batch_digest");
  }
  // FULL syncs the WAL at every commit, so an acked batch survives power loss; NORMAL only
  // survives crashes.
  SYNMAP_RETURN_IF_ERROR(
      db->Exec(options.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  SYNMAP_RETURN_IF_ERROR(db->Exec("PRAGMA cache_size=-65536"));
  SYNMAP_RETURN_IF_ERROR(MigrateSchema(*db));
  auto store = absl::WrapUnique(new SqliteStore(options, std::move(db)));
  SYNMAP_ASSIGN_OR_RETURN(store->admin_, SqliteAdminTables::Open(options.path));
  SYNMAP_RETURN_IF_ERROR(store->Load());
  store->writer_ = std::thread([s = store.get()] { s->WriterLoop(); });
  return store;
}

absl::Status SqliteStore::Load() {
  // checkpoint.bucket_ns: the width of format-1 chunks, written before buckets were tiered
  // (format 2 carries its own width). A new database records the finest width.
  SYNMAP_ASSIGN_OR_RETURN(int64_t legacy_width_ns,
                          db_->QueryInt64("SELECT bucket_ns FROM checkpoint WHERE id = 1"));
  if (legacy_width_ns == 0) {
    legacy_width_ns = absl::ToInt64Nanoseconds(options_.tiers.front().width);
    SYNMAP_RETURN_IF_ERROR(db_->Exec(
        absl::StrCat("UPDATE checkpoint SET bucket_ns = ", legacy_width_ns, " WHERE id = 1")));
  }
  SYNMAP_RETURN_IF_ERROR(LoadSensors());
  if (absl::Status loaded = LoadAggregates(legacy_width_ns); !loaded.ok()) {
    if (loaded.code() != absl::StatusCode::kDataLoss) {
      return loaded;
    }
    SYNMAP_RETURN_IF_ERROR(RebuildFromLog(loaded));
  }
  SYNMAP_RETURN_IF_ERROR(ReplayLog());
  last_checkpoint_ns_ = ToNs(clock_.Now());
  absl::MutexLock lock(&state_mu_);
  const int64_t cutoff = RetentionCutoffNs();
  index_.RollUp(ToNs(clock_.Now()));
  index_.DropBucketsBefore(cutoff);
  ledger_.DropBatchesBefore(cutoff);
  SYNMAP_LOG(INFO) << "store_opened path=" << options_.path << " sensors=" << ledger_.size()
                   << " buckets=" << index_.bucket_count() << " rows=" << index_.rows()
                   << " replayed_batches=" << stats_.replayed_batches;
  return absl::OkStatus();
}

absl::Status SqliteStore::LoadSensors() {
  SYNMAP_ASSIGN_OR_RETURN(
      Statement sensors,
      db_->Prepare("SELECT id, name, peer_address, hello, hello_ns, last_commit_ns, "
                   "last_batch_end_ns, last_seq, batches, records, packets_received, "
                   "kernel_drops, interface_drops, synacks, retransmissions, malformed, "
                   "handshakes_evicted, health, batch_health, last_heartbeat_ns, site "
                   "FROM sensors ORDER BY id"));
  absl::MutexLock lock(&state_mu_);
  while (true) {
    SYNMAP_ASSIGN_OR_RETURN(bool row, sensors.Step());
    if (!row) {
      break;
    }
    if (sensors.ColumnInt64(0) != static_cast<int64_t>(ledger_.size()) + 1) {
      return absl::DataLossError("sensors table ids are not contiguous");
    }
    SensorState& s = ledger_.state(ledger_.Add(std::string(sensors.ColumnBlob(1))));
    s.peer_address = std::string(sensors.ColumnBlob(2));
    int c = 3;
    synmap::v1::Hello hello;
    const bool parsed = hello.ParseFromString(std::string(sensors.ColumnBlob(c++)));
    s.hello = common::SensorInfoFromProto(hello);
    s.hello_ns = sensors.ColumnInt64(c++);
    s.last_commit_ns = sensors.ColumnInt64(c++);
    s.last_batch_end_ns = sensors.ColumnInt64(c++);
    s.last_seq = static_cast<uint64_t>(sensors.ColumnInt64(c++));
    s.batches = static_cast<uint64_t>(sensors.ColumnInt64(c++));
    s.records = static_cast<uint64_t>(sensors.ColumnInt64(c++));
    for (uint64_t* field : {&s.totals.packets_received, &s.totals.kernel_drops,
                            &s.totals.interface_drops, &s.totals.synacks, &s.totals.retransmissions,
                            &s.totals.malformed, &s.totals.handshakes_evicted}) {
      *field = static_cast<uint64_t>(sensors.ColumnInt64(c++));
    }
    synmap::v1::SensorHealth health;
    synmap::v1::SensorHealth batch_health;
    const bool health_ok = health.ParseFromString(std::string(sensors.ColumnBlob(c++))) &&
                           batch_health.ParseFromString(std::string(sensors.ColumnBlob(c++)));
    s.health = common::HealthFromProto(health);
    s.batch_health = common::HealthFromProto(batch_health);
    s.last_heartbeat_ns = sensors.ColumnInt64(c++);
    s.site = std::string(sensors.ColumnBlob(c++));
    if (!parsed || !health_ok) {
      return absl::DataLossError(absl::StrCat("sensor ", s.name, ": corrupt hello or health"));
    }
  }
  SYNMAP_ASSIGN_OR_RETURN(
      Statement batches,
      db_->Prepare("SELECT sensor_id, seq, start_ns, end_ns, commit_ns, records, "
                   "packets_received, kernel_drops, interface_drops, synacks, retransmissions, "
                   "malformed, handshakes_evicted, spool_batches_dropped, spool_records_dropped "
                   "FROM batches ORDER BY sensor_id, seq"));
  while (true) {
    SYNMAP_ASSIGN_OR_RETURN(bool row, batches.Step());
    if (!row) {
      break;
    }
    const int64_t sensor_id = batches.ColumnInt64(0);
    if (sensor_id < 1 || sensor_id > static_cast<int64_t>(ledger_.size())) {
      return absl::DataLossError(absl::StrCat("batch of unknown sensor id ", sensor_id));
    }
    BatchInfo b;
    int c = 1;
    b.seq = static_cast<uint64_t>(batches.ColumnInt64(c++));
    b.start_ns = batches.ColumnInt64(c++);
    b.end_ns = batches.ColumnInt64(c++);
    b.commit_ns = batches.ColumnInt64(c++);
    b.records = static_cast<uint64_t>(batches.ColumnInt64(c++));
    for (uint64_t* field :
         {&b.stats.packets_received, &b.stats.kernel_drops, &b.stats.interface_drops,
          &b.stats.synacks, &b.stats.retransmissions, &b.stats.malformed,
          &b.stats.handshakes_evicted, &b.spool_batches_dropped, &b.spool_records_dropped}) {
      *field = static_cast<uint64_t>(batches.ColumnInt64(c++));
    }
    ledger_.AppendBatch(static_cast<uint32_t>(sensor_id - 1), b);
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::LoadAggregates(int64_t legacy_width_ns) {
  SYNMAP_ASSIGN_OR_RETURN(
      Statement chunks,
      db_->Prepare(
          "SELECT bucket_ns, format, body FROM aggregate_chunks ORDER BY bucket_ns, chunk"));
  SYNMAP_ASSIGN_OR_RETURN(const int64_t log_id,
                          db_->QueryInt64("SELECT log_id FROM checkpoint WHERE id = 1"));
  absl::MutexLock lock(&state_mu_);
  const auto sensor_count = static_cast<uint32_t>(ledger_.size());
  // The manifest (the first row: its bucket_ns is the smallest) holds the checkpoint's log_id
  // and chunk count; stores written before it have none.
  std::optional<std::pair<int64_t, int64_t>> manifest;
  int64_t loaded = 0;
  while (true) {
    SYNMAP_ASSIGN_OR_RETURN(bool row, chunks.Step());
    if (!row) {
      break;
    }
    const int64_t start = chunks.ColumnInt64(0);
    if (start == kManifestBucket) {
      int64_t manifest_log_id = 0;
      int64_t manifest_chunks = 0;
      SYNMAP_RETURN_IF_ERROR(
          AggregateIndex::DecodeManifest(chunks.ColumnBlob(2), &manifest_log_id, &manifest_chunks));
      manifest.emplace(manifest_log_id, manifest_chunks);
      continue;
    }
    ++loaded;
    SYNMAP_RETURN_IF_ERROR(
        Annotate(index_.LoadChunk(start, chunks.ColumnInt64(1), chunks.ColumnBlob(2),
                                  legacy_width_ns, sensor_count),
                 absl::StrCat("bucket ", start)));
  }
  if (manifest.has_value() && (manifest->first != log_id || manifest->second != loaded)) {
    return absl::DataLossError(
        absl::StrCat("checkpoint manifest says log_id ", manifest->first, " and ", manifest->second,
                     " chunks; the database has log_id ", log_id, " and ", loaded, " chunks"));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::RebuildFromLog(const absl::Status& why) {
  // The log rebuilds the aggregates only if it still holds every batch whose records can be in
  // a retained bucket (retention trims it together with the buckets; stores written before the
  // log was kept in full have trimmed it at every checkpoint).
  const int64_t cutoff = RetentionCutoffNs();
  const std::string from = absl::StrCat(" WHERE b.start_ns >= ", cutoff);
  SYNMAP_ASSIGN_OR_RETURN(int64_t batches,
                          db_->QueryInt64(absl::StrCat("SELECT COUNT(*) FROM batches b", from)));
  SYNMAP_ASSIGN_OR_RETURN(int64_t logged, db_->QueryInt64(absl::StrCat(
                                              "SELECT COUNT(*) FROM batch_log l JOIN batches b ON "
                                              "b.sensor_id = l.sensor_id AND b.seq = l.seq",
                                              from)));
  if (logged != batches) {
    return absl::DataLossError(absl::StrCat(
        "database ", options_.path, ": stored aggregates are corrupt (", why.message(),
        ") and the batch log lacks ", batches - logged,
        " batch(es) needed to rebuild them; restore the database from a backup, or move it "
        "aside to start empty"));
  }
  SYNMAP_LOG(ERROR) << "store_aggregates_corrupt status=" << why
                    << " action=rebuild_from_log batches=" << batches;
  SYNMAP_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  absl::Status status = db_->Exec("DELETE FROM aggregate_chunks");
  if (status.ok()) {
    status = db_->Exec("UPDATE checkpoint SET log_id = 0 WHERE id = 1");
  }
  if (status.ok()) {
    status = db_->Exec("COMMIT");
  }
  if (!status.ok()) {
    (void)db_->Exec("ROLLBACK");
    return Annotate(status, "reset corrupt aggregates");
  }
  absl::MutexLock lock(&state_mu_);
  index_.Clear();
  ++stats_.aggregate_rebuilds;
  return absl::OkStatus();
}

namespace {

// Steps `log` (rows: log_id, sensor_id, format, body) and calls fn(log_id, sensor index,
// batch) for each row. DataLoss for a row that is not a well-formed batch of one of the first
// `sensors` sensors.
template <typename Fn>
absl::Status ForEachLoggedBatch(Statement& log, size_t sensors, Fn&& fn) {
  synmap::v1::Batch proto;
  while (true) {
    SYNMAP_ASSIGN_OR_RETURN(bool row, log.Step());
    if (!row) {
      return absl::OkStatus();
    }
    const int64_t log_id = log.ColumnInt64(0);
    const int64_t sensor_id = log.ColumnInt64(1);
    const absl::string_view body = log.ColumnBlob(3);
    if (log.ColumnInt64(2) != kBodyFormatBatchProto || sensor_id < 1 ||
        sensor_id > static_cast<int64_t>(sensors) ||
        !proto.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return absl::DataLossError(absl::StrCat("batch log row ", log_id, " is corrupt"));
    }
    absl::StatusOr<common::SequencedBatch> batch = common::DecodeBatch(proto);
    if (!batch.ok()) {
      return absl::DataLossError(
          absl::StrCat("batch log row ", log_id, " is corrupt: ", batch.status().message()));
    }
    fn(log_id, static_cast<uint32_t>(sensor_id - 1), batch->batch);
  }
}

}  // namespace

absl::Status SqliteStore::SeedOverlap() {
  // The checkpointed batches' duplicates are in the chunks; their fingerprints (within the
  // horizon) go back into the overlap index so later batches are matched against them.
  SYNMAP_ASSIGN_OR_RETURN(
      Statement log,
      db_->Prepare("SELECT l.log_id, l.sensor_id, l.format, l.body FROM batch_log l JOIN batches b "
                   "ON b.sensor_id = l.sensor_id AND b.seq = l.seq WHERE l.log_id <= ? AND "
                   "b.end_ns >= (SELECT MAX(end_ns) FROM batches) - ? ORDER BY l.log_id"));
  log.BindInt64(1, applied_log_id_);
  log.BindInt64(2, absl::ToInt64Nanoseconds(options_.overlap.horizon));
  absl::MutexLock lock(&state_mu_);
  return ForEachLoggedBatch(log, ledger_.size(),
                            [&](int64_t, uint32_t sensor, const common::Batch& batch)
                                ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_mu_) {
                                  const SensorState& s = ledger_.state(sensor);
                                  index_.NoteSightings(sensor, s.name, batch, s.site);
                                });
}

absl::Status SqliteStore::ReplayLog() {
  SYNMAP_ASSIGN_OR_RETURN(applied_log_id_,
                          db_->QueryInt64("SELECT log_id FROM checkpoint WHERE id = 1"));
  if (options_.overlap.enabled) {
    SYNMAP_RETURN_IF_ERROR(SeedOverlap());
  }
  SYNMAP_ASSIGN_OR_RETURN(
      Statement log,
      db_->Prepare("SELECT log_id, sensor_id, format, body FROM batch_log WHERE log_id > ? "
                   "ORDER BY log_id"));
  log.BindInt64(1, applied_log_id_);
  const int64_t cutoff = RetentionCutoffNs();
  const int64_t now_ns = ToNs(clock_.Now());
  absl::MutexLock lock(&state_mu_);
  return ForEachLoggedBatch(log, ledger_.size(),
                            [&](int64_t log_id, uint32_t sensor, const common::Batch& batch)
                                ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_mu_) {
                                  const SensorState& s = ledger_.state(sensor);
                                  records_since_checkpoint_ += index_.ApplyBatch(
                                      sensor, s.name, batch, cutoff, now_ns, s.site);
                                  applied_log_id_ = log_id;
                                  ++stats_.replayed_batches;
                                });
}

int64_t SqliteStore::RetentionCutoffNs() const {
  if (options_.retention == absl::ZeroDuration()) {
    return std::numeric_limits<int64_t>::min();
  }
  return ToNs(clock_.Now() - options_.retention);
}

absl::Status SqliteStore::Submit(Op* op) {
  {
    absl::MutexLock lock(&queue_mu_);
    if (closing_) {
      return absl::CancelledError("store is closing");
    }
    queue_.push_back(op);
    queue_mu_.Await(absl::Condition(&op->done));
  }
  if (op->status.code() == absl::StatusCode::kUnavailable) {
    health_.Failure(op->status, ToNs(clock_.Now()));
  } else if (op->status.ok()) {
    health_.Success();
  }
  return op->status;
}

absl::StatusOr<CommitResult> SqliteStore::Commit(absl::string_view sensor,
                                                 common::SequencedBatch batch) {
  SYNMAP_RETURN_IF_ERROR(common::ValidateSensorName(sensor));
  SYNMAP_RETURN_IF_ERROR(
      common::CheckBatch(batch, ToNs(clock_.Now()), common::BatchLimits(), nullptr));
  Op op;
  op.kind = Op::Kind::kCommit;
  op.sensor = std::string(sensor);
  // Serialising here keeps that work on the callers' threads, in parallel.
  SYNMAP_ASSIGN_OR_RETURN(op.body, EncodeBatch(batch));
  op.batch = std::move(batch);
  SYNMAP_RETURN_IF_ERROR(Submit(&op));
  return op.result;
}

absl::StatusOr<uint64_t> SqliteStore::RecordHello(absl::string_view sensor,
                                                  absl::string_view peer_address,
                                                  const common::SensorInfo& hello) {
  SYNMAP_RETURN_IF_ERROR(common::ValidateSensorName(sensor));
  Op op;
  op.kind = Op::Kind::kHello;
  op.sensor = std::string(sensor);
  op.peer = std::string(peer_address.substr(0, 256));
  op.hello = &hello;
  SYNMAP_RETURN_IF_ERROR(Submit(&op));
  return op.last_seq;
}

absl::Status SqliteStore::RecordHeartbeat(absl::string_view sensor,
                                          const common::SensorHealth& health) {
  SYNMAP_RETURN_IF_ERROR(common::ValidateSensorName(sensor));
  Op op;
  op.kind = Op::Kind::kHeartbeat;
  op.sensor = std::string(sensor);
  op.heartbeat = &health;
  return Submit(&op);
}

void SqliteStore::RecordDisconnect(absl::string_view sensor) {
  absl::MutexLock lock(&state_mu_);
  AwaitApplied();  // So a Hello committed before this call cannot reconnect it afterwards.
  if (std::optional<uint32_t> id = ledger_.Find(sensor)) {
    ledger_.state(*id).connected = false;
  }
}

void SqliteStore::AwaitApplied() const {
  const uint64_t target = acked_groups_;
  auto applied = [this, target]()
                     ABSL_SHARED_LOCKS_REQUIRED(state_mu_) { return applied_groups_ >= target; };
  state_mu_.Await(absl::Condition(&applied));
}

uint64_t SqliteStore::LastCommittedSeq(absl::string_view sensor) {
  absl::ReaderMutexLock lock(&state_mu_);
  AwaitApplied();
  std::optional<uint32_t> id = ledger_.Find(sensor);
  return id ? ledger_.state(*id).last_seq : 0;
}

std::shared_ptr<const StoreSnapshot> SqliteStore::Snapshot(int64_t since_ns, int64_t until_ns,
                                                           SnapshotBuckets buckets) {
  auto snapshot = std::make_shared<StoreSnapshot>();
  absl::ReaderMutexLock lock(&state_mu_);
  AwaitApplied();
  const AnsweredWindow answered = index_.Widen(since_ns, until_ns, ToNs(clock_.Now()));
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

absl::Status SqliteStore::Checkpoint() {
  Op op;
  op.kind = Op::Kind::kCheckpoint;
  return Submit(&op);
}

absl::Status SqliteStore::ApplyRetention() {
  Op op;
  op.kind = Op::Kind::kRetention;
  return Submit(&op);
}

StoreStats SqliteStore::stats() const {
  absl::ReaderMutexLock lock(&state_mu_);
  AwaitApplied();
  StoreStats out = stats_;
  out.aggregate_rows = index_.rows();
  out.buckets = index_.bucket_count();
  out.saturated_sums = index_.saturated();
  return out;
}

absl::Status SqliteStore::Close() {
  absl::MutexLock close_lock(&close_mu_);
  if (closed_) {
    return close_status_;
  }
  closed_ = true;
  {
    absl::MutexLock lock(&queue_mu_);
    closing_ = true;
  }
  if (writer_.joinable()) {
    writer_.join();  // Drains the queue first.
  }
  if (options_.checkpoint_on_close) {
    close_status_ = DoRetention();
    if (close_status_.ok()) {
      close_status_ = DoCheckpoint();
    }
  }
  db_.reset();
  if (!close_status_.ok()) {
    SYNMAP_LOG(ERROR) << "store_close_failed status=" << close_status_;
  }
  return close_status_;
}

// The SQLite store as every caller gets it: holds the database's lock for as long as it is
// open, and answers a batch whose seq the sensor already used (seq <= its highest committed
// seq) from the committed batch's digest: same content = duplicate (the inner store acks it),
// other content or never committed = conflict. Only that rare path reads the database, on a
// connection of its own; everything else goes straight to the inner store. Thread-safe.
class ContentCheckedStore final : public Store {
 public:
  ContentCheckedStore(Clock& clock, std::unique_ptr<DatabaseLock> lock,
                      std::unique_ptr<Store> inner, std::unique_ptr<SqliteDb> reader)
      : clock_(clock),
        lock_(std::move(lock)),
        inner_(std::move(inner)),
        reader_(std::move(reader)) {}
  ~ContentCheckedStore() override { (void)Close(); }

  absl::StatusOr<CommitResult> Commit(absl::string_view sensor,
                                      common::SequencedBatch batch) override {
    const uint64_t last = inner_->LastCommittedSeq(sensor);
    if (batch.seq > last || batch.seq > common::kMaxSeq) {
      return inner_->Commit(sensor, std::move(batch));
    }
    SYNMAP_RETURN_IF_ERROR(common::ValidateSensorName(sensor));
    SYNMAP_RETURN_IF_ERROR(
        common::CheckBatch(batch, ToNs(clock_.Now()), common::BatchLimits(), nullptr));
    SYNMAP_ASSIGN_OR_RETURN(std::optional<std::string> stored, StoredDigest(sensor, batch.seq));
    bool conflict = !stored.has_value();
    if (stored.has_value() && !stored->empty()) {
      conflict = common::BatchDigest(batch) != *stored;
    }
    if (!conflict) {
      return inner_->Commit(sensor, std::move(batch));  // Answered duplicate, applies nothing.
    }
    CommitResult result;
    result.conflict = true;
    result.last_committed_seq = last;
    return result;
  }
  absl::StatusOr<uint64_t> RecordHello(absl::string_view sensor, absl::string_view peer_address,
                                       const common::SensorInfo& hello) override {
    return inner_->RecordHello(sensor, peer_address, hello);
  }
  absl::Status RecordHeartbeat(absl::string_view sensor,
                               const common::SensorHealth& health) override {
    return inner_->RecordHeartbeat(sensor, health);
  }
  void RecordDisconnect(absl::string_view sensor) override { inner_->RecordDisconnect(sensor); }
  uint64_t LastCommittedSeq(absl::string_view sensor) override {
    return inner_->LastCommittedSeq(sensor);
  }
  std::shared_ptr<const StoreSnapshot> Snapshot(int64_t since_ns, int64_t until_ns,
                                                SnapshotBuckets buckets) override {
    return inner_->Snapshot(since_ns, until_ns, buckets);
  }
  absl::Status Checkpoint() override { return inner_->Checkpoint(); }
  absl::Status ApplyRetention() override { return inner_->ApplyRetention(); }
  StoreStats stats() const override { return inner_->stats(); }
  absl::Status Revoke(const Revocation& revocation) override { return inner_->Revoke(revocation); }
  absl::Status Unrevoke(absl::string_view name) override { return inner_->Unrevoke(name); }
  absl::StatusOr<std::vector<Revocation>> Revocations() override { return inner_->Revocations(); }
  absl::Status Close() override {
    absl::Status status = inner_->Close();
    absl::MutexLock lock(&reader_mu_);
    reader_.reset();
    lock_.reset();  // Last: the database file is closed by now.
    return status;
  }

 private:
  // The digest stored with (sensor, seq): nullopt if that seq is not committed, empty if it
  // was committed before digests were kept. Unavailable if the database cannot be read.
  absl::StatusOr<std::optional<std::string>> StoredDigest(absl::string_view sensor, uint64_t seq) {
    absl::MutexLock lock(&reader_mu_);
    if (reader_ == nullptr) {
      return absl::CancelledError("store is closing");
    }
    SYNMAP_ASSIGN_OR_RETURN(
        Statement query,
        reader_->Prepare("SELECT b.digest FROM batches b JOIN sensors s ON s.id = b.sensor_id "
                         "WHERE s.name = ? AND b.seq = ?"));
    query.BindText(1, sensor);
    query.BindInt64(2, static_cast<int64_t>(seq));
    absl::StatusOr<bool> row = query.Step();
    if (!row.ok()) {
      return absl::UnavailableError(
          absl::StrCat("read digest of batch seq ", seq, ": ", row.status().message()));
    }
    if (!*row) {
      return std::optional<std::string>();
    }
    return std::optional<std::string>(std::string(query.ColumnBlob(0)));
  }

  Clock& clock_;
  std::unique_ptr<DatabaseLock> lock_;
  std::unique_ptr<Store> inner_;
  absl::Mutex reader_mu_;
  std::unique_ptr<SqliteDb> reader_ ABSL_GUARDED_BY(reader_mu_);
};

}  // namespace internal

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteStoreOptions& options) {
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<internal::DatabaseLock> lock,
                          internal::LockDatabase(options.path));
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<Store> inner, internal::SqliteStore::Open(options));
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<internal::SqliteDb> reader,
                          internal::SqliteDb::Open(options.path));
  SYNMAP_RETURN_IF_ERROR(reader->Exec("PRAGMA query_only=1"));
  SYNMAP_RETURN_IF_ERROR(reader->Exec("PRAGMA busy_timeout=5000"));
  return std::make_unique<internal::ContentCheckedStore>(
      options.clock != nullptr ? *options.clock : RealClock::Get(), std::move(lock),
      std::move(inner), std::move(reader));
}

}  // namespace synmap::collector
