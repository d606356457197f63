// The writer thread of SqliteStore: group commit, publication, checkpoint and retention.

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/store/internal/sqlite_store_impl.h"
#include "common/batch/batch_codec.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace synmap::collector::internal {

bool SqliteStore::CheckpointDue() const {
  return records_since_checkpoint_ >= options_.checkpoint_records ||
         ToNs(clock_.Now()) - last_checkpoint_ns_ >=
             absl::ToInt64Nanoseconds(options_.checkpoint_interval);
}

void SqliteStore::WriterLoop() {
  while (true) {
    std::vector<Op*> group;
    bool stop = false;
    {
      absl::MutexLock lock(&queue_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
        return !queue_.empty() || closing_;
      };
      // Wakes up at least every checkpoint_interval to see whether a checkpoint is due.
      queue_mu_.AwaitWithTimeout(absl::Condition(&ready), options_.checkpoint_interval);
      // Take pending requests up to the group's record budget (always at least one).
      uint64_t records = 0;
      size_t taken = 0;
      while (taken < queue_.size()) {
        const Op* op = queue_[taken];
        const auto n = static_cast<uint64_t>(op->batch.batch.records.size());
        if (taken > 0 && records + n > options_.max_group_records) {
          break;
        }
        records += n;
        ++taken;
      }
      group.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(taken));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(taken));
      stop = closing_ && queue_.empty();
    }
    if (!group.empty()) {
      ProcessGroup(group);
    }
    if (CheckpointDue()) {
      absl::Status status = DoRetention();
      if (status.ok()) {
        status = DoCheckpoint();
      }
      if (!status.ok()) {
        SYNMAP_LOG(ERROR) << "store_checkpoint_failed status=" << status;
        last_checkpoint_ns_ = ToNs(clock_.Now());  // Retry after another interval.
      }
    }
    if (stop) {
      return;
    }
  }
}

absl::StatusOr<uint32_t> SqliteStore::EnsureSensor(const std::string& name) {
  {
    absl::ReaderMutexLock lock(&state_mu_);
    if (std::optional<uint32_t> id = ledger_.Find(name)) {
      return *id;
    }
  }
  uint32_t next_id;
  {
    absl::ReaderMutexLock lock(&state_mu_);
    next_id = static_cast<uint32_t>(ledger_.size());
  }
  SYNMAP_ASSIGN_OR_RETURN(Statement insert,
                          db_->Prepare("INSERT INTO sensors (id, name) VALUES (?, ?)"));
  insert.BindInt64(1, int64_t{next_id} + 1);
  insert.BindText(2, name);
  SYNMAP_RETURN_IF_ERROR(Annotate(insert.Run(), absl::StrCat("add sensor ", name)));
  absl::MutexLock lock(&state_mu_);
  const uint32_t id = ledger_.Add(name);
  SYNMAP_LOG(INFO) << "store_sensor_added sensor=" << name << " id=" << id + 1;
  return id;
}

void SqliteStore::ProcessGroup(const std::vector<Op*>& ops) {
  std::vector<Op*> txn_ops;
  for (Op* op : ops) {
    if (op->kind == Op::Kind::kCheckpoint || op->kind == Op::Kind::kRetention) {
      continue;
    }
    absl::StatusOr<uint32_t> id = EnsureSensor(op->sensor);
    if (!id.ok()) {
      op->status = absl::UnavailableError(id.status().message());
      continue;
    }
    op->sensor_id = *id;
    txn_ops.push_back(op);
  }
  std::vector<Applied> applied;
  if (!txn_ops.empty()) {
    absl::Status status = db_->Exec("BEGIN IMMEDIATE");
    if (status.ok()) {
      status = WriteGroup(txn_ops, applied);
    }
    if (status.ok()) {
      status = db_->Exec("COMMIT");
    }
    if (!status.ok()) {
      (void)db_->Exec("ROLLBACK");
      applied.clear();
      SYNMAP_LOG(ERROR) << "store_group_commit_failed ops=" << txn_ops.size()
                        << " status=" << status;
      for (Op* op : txn_ops) {
        // Duplicates and refusals were decided without the transaction and stand.
        if (op->kind != Op::Kind::kCommit || op->applied) {
          op->status =
              absl::UnavailableError(absl::StrCat("store commit failed: ", status.message()));
        }
      }
    }
  }
  // The transaction is durable: keep what the apply step needs, then wake the callers (they
  // may ack now) and apply off their path. Snapshots wait for the apply (AwaitApplied).
  const bool has_maintenance = txn_ops.size() != ops.size();
  for (Applied& a : applied) {
    if (a.kind == Op::Kind::kCommit) {
      a.batch = std::move(a.op->batch);
    }
    a.op = nullptr;
  }
  {
    absl::MutexLock lock(&state_mu_);
    ++acked_groups_;
    for (const Op* op : txn_ops) {
      stats_.duplicates += op->result.duplicate ? 1 : 0;
    }
  }
  if (!has_maintenance) {
    absl::MutexLock lock(&queue_mu_);
    for (Op* op : ops) {
      op->done = true;
    }
  }
  ApplyGroup(applied);
  if (!has_maintenance) {
    return;
  }
  // Explicit maintenance requests run after the group, so they include it.
  for (Op* op : ops) {
    if (op->kind == Op::Kind::kCheckpoint) {
      op->status = DoCheckpoint();
    } else if (op->kind == Op::Kind::kRetention) {
      op->status = DoRetention();
      if (op->status.ok()) {
        op->status = DoCheckpoint();
      }
    }
  }
  absl::MutexLock lock(&queue_mu_);
  for (Op* op : ops) {
    op->done = true;
  }
}

absl::Status SqliteStore::WriteGroup(const std::vector<Op*>& ops, std::vector<Applied>& applied) {
  SYNMAP_ASSIGN_OR_RETURN(
      Statement insert_batch,
      db_->Prepare("INSERT INTO batches (sensor_id, seq, start_ns, end_ns, commit_ns, records, "
                   "packets_received, kernel_drops, interface_drops, synacks, retransmissions, "
                   "malformed, handshakes_evicted, spool_batches_dropped, spool_records_dropped) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  SYNMAP_ASSIGN_OR_RETURN(
      Statement insert_log,
      db_->Prepare("INSERT INTO batch_log (sensor_id, seq, format, body) VALUES (?, ?, ?, ?)"));
  const int64_t now_ns = ToNs(clock_.Now());
  // The sensors' states as they will be after this group (tentative until COMMIT).
  absl::flat_hash_map<uint32_t, SensorState> touched;
  for (Op* op : ops) {
    auto [it, inserted] = touched.try_emplace(op->sensor_id);
    SensorState& state = it->second;
    if (inserted) {
      absl::ReaderMutexLock lock(&state_mu_);
      state = ledger_.state(op->sensor_id);
    }
    Applied change;
    change.kind = op->kind;
    change.sensor_id = op->sensor_id;
    change.now_ns = now_ns;
    if (op->kind == Op::Kind::kHello) {
      change.peer = op->peer;
      change.hello = *op->hello;
      ApplyHello(change, state);
      op->last_seq = state.last_seq;
      applied.push_back(std::move(change));
      continue;
    }
    if (op->kind == Op::Kind::kHeartbeat) {
      change.health = *op->heartbeat;
      ApplyHeartbeat(change, state);
      applied.push_back(std::move(change));
      continue;
    }
    const uint64_t seq = op->batch.seq;
    bool committed;
    {
      absl::ReaderMutexLock lock(&state_mu_);
      committed = ledger_.IsCommitted(op->sensor_id, seq);
    }
    committed =
        committed || std::any_of(applied.begin(), applied.end(), [&](const Applied& a) {
          return a.kind == Op::Kind::kCommit && a.sensor_id == op->sensor_id && a.info.seq == seq;
        });
    if (committed) {
      op->result.duplicate = true;
      continue;
    }
    if (seq < state.last_seq) {
      op->status = absl::InvalidArgumentError(
          absl::StrCat("batch seq ", seq, " is below the highest committed seq ", state.last_seq,
                       " of sensor ", op->sensor, " and was never committed"));
      continue;
    }
    change.info = MakeBatchInfo(op->batch, state, now_ns);
    SYNMAP_RETURN_IF_ERROR(InsertBatch(insert_batch, op->sensor_id, change.info));
    insert_log.BindInt64(1, int64_t{op->sensor_id} + 1);
    insert_log.BindInt64(2, static_cast<int64_t>(seq));
    insert_log.BindInt64(3, kBodyFormatBatchProto);
    insert_log.BindBlob(4, op->body);
    SYNMAP_RETURN_IF_ERROR(insert_log.Run());
    op->log_id = db_->LastInsertRowId();
    change.log_id = op->log_id;
    AccountBatch(op->batch, change.info, state);
    op->applied = true;
    change.op = op;
    applied.push_back(std::move(change));
  }
  for (const auto& [id, state] : touched) {
    SYNMAP_RETURN_IF_ERROR(WriteSensorRow(id, state));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::InsertBatch(Statement& insert, uint32_t sensor_id,
                                      const BatchInfo& info) {
  int i = 1;
  insert.BindInt64(i++, int64_t{sensor_id} + 1);
  for (int64_t v : {static_cast<int64_t>(info.seq), info.start_ns, info.end_ns, info.commit_ns,
                    static_cast<int64_t>(info.records)}) {
    insert.BindInt64(i++, v);
  }
  for (uint64_t v :
       {info.stats.packets_received, info.stats.kernel_drops, info.stats.interface_drops,
        info.stats.synacks, info.stats.retransmissions, info.stats.malformed,
        info.stats.handshakes_evicted, info.spool_batches_dropped, info.spool_records_dropped}) {
    insert.BindInt64(i++, static_cast<int64_t>(v));
  }
  return insert.Run();
}

absl::Status SqliteStore::WriteSensorRow(uint32_t id, const SensorState& s) {
  SYNMAP_ASSIGN_OR_RETURN(
      Statement update,
      db_->Prepare("UPDATE sensors SET peer_address = ?, hello = ?, hello_ns = ?, "
                   "last_commit_ns = ?, last_batch_end_ns = ?, last_seq = ?, batches = ?, "
                   "records = ?, packets_received = ?, kernel_drops = ?, interface_drops = ?, "
                   "synacks = ?, retransmissions = ?, malformed = ?, handshakes_evicted = ?, "
                   "health = ?, batch_health = ?, last_heartbeat_ns = ?, site = ? WHERE id = ?"));
  const std::string hello = common::SensorInfoToProto(s.hello).SerializeAsString();
  const std::string health = common::HealthToProto(s.health).SerializeAsString();
  const std::string batch_health = common::HealthToProto(s.batch_health).SerializeAsString();
  int i = 1;
  update.BindText(i++, s.peer_address);
  update.BindBlob(i++, hello);
  for (int64_t v : {s.hello_ns, s.last_commit_ns, s.last_batch_end_ns}) {
    update.BindInt64(i++, v);
  }
  for (uint64_t v : {s.last_seq, s.batches, s.records, s.totals.packets_received,
                     s.totals.kernel_drops, s.totals.interface_drops, s.totals.synacks,
                     s.totals.retransmissions, s.totals.malformed, s.totals.handshakes_evicted}) {
    update.BindInt64(i++, static_cast<int64_t>(v));
  }
  update.BindBlob(i++, health);
  update.BindBlob(i++, batch_health);
  update.BindInt64(i++, s.last_heartbeat_ns);
  update.BindText(i++, s.site);
  update.BindInt64(i++, int64_t{id} + 1);
  return update.Run();
}

void SqliteStore::ApplyHello(const Applied& change, SensorState& state) {
  state.peer_address = change.peer;
  state.hello = change.hello;
  state.site = change.hello.site;
  state.hello_ns = change.now_ns;
  state.health = change.hello.health;
}

void SqliteStore::ApplyHeartbeat(const Applied& change, SensorState& state) {
  state.last_heartbeat_ns = change.now_ns;
  state.health = change.health;
}

void SqliteStore::ApplyGroup(std::vector<Applied>& applied) {
  const int64_t cutoff = RetentionCutoffNs();
  const int64_t now_ns = ToNs(clock_.Now());
  // Replays, in order and one lock hold per change, what WriteGroup did to the tentative
  // states, so a snapshot sees whole batches only.
  for (Applied& a : applied) {
    absl::MutexLock lock(&state_mu_);
    SensorState& state = ledger_.state(a.sensor_id);
    if (a.kind == Op::Kind::kHello) {
      ApplyHello(a, state);
      state.connected = true;
    } else if (a.kind == Op::Kind::kHeartbeat) {
      ApplyHeartbeat(a, state);
    } else {
      AccountBatch(a.batch, a.info, state);
      ledger_.AppendBatch(a.sensor_id, a.info);
      records_since_checkpoint_ +=
          index_.ApplyBatch(a.sensor_id, state.name, a.batch.batch, cutoff, now_ns, state.site);
      stats_.commits += 1;
      stats_.records += a.info.records;
    }
  }
  absl::MutexLock lock(&state_mu_);
  for (const Applied& a : applied) {
    if (a.kind == Op::Kind::kCommit) {
      applied_log_id_ = std::max(applied_log_id_, a.log_id);
    }
  }
  stats_.transactions += applied.empty() ? 0 : 1;
  ++applied_groups_;
}

absl::Status SqliteStore::TrimCheckpointedLog() {
  if (options_.log_retention == absl::ZeroDuration()) {
    return absl::OkStatus();
  }
  // Only rows up to the committed checkpoint: their records are in the stored chunks, so no
  // replay at open needs them. The batches' metadata and digests stay (exactly-once).
  SYNMAP_ASSIGN_OR_RETURN(
      Statement trim,
      db_->Prepare("DELETE FROM batch_log WHERE log_id <= (SELECT log_id FROM checkpoint WHERE "
                   "id = 1) AND (sensor_id, seq) IN (SELECT sensor_id, seq FROM batches WHERE "
                   "start_ns < ?)"));
  trim.BindInt64(1, ToNs(clock_.Now() - options_.log_retention));
  return Annotate(trim.Run(), "trim the batch log");
}

absl::Status SqliteStore::DoRetention() {
  SYNMAP_RETURN_IF_ERROR(TrimCheckpointedLog());
  const int64_t cutoff = RetentionCutoffNs();
  if (options_.retention == absl::ZeroDuration()) {
    return absl::OkStatus();
  }
  int64_t log_cutoff;
  {
    absl::MutexLock lock(&state_mu_);
    index_.DropBucketsBefore(cutoff);
    ledger_.DropBatchesBefore(cutoff);
    // A batch's records live in the bucket holding its start: batches starting before every
    // retained bucket are the ones whose log rows can go. Their bucket deletions are written
    // by the checkpoint that follows; a crash in between reloads those buckets and drops them
    // again at open, so no retained total changes.
    log_cutoff =
        std::min(index_.EarliestStart(cutoff),
                 AggregateIndex::FloorTo(cutoff, index_.TierWidth(cutoff, ToNs(clock_.Now()))));
  }
  SYNMAP_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
  auto write = [&]() -> absl::Status {
    SYNMAP_ASSIGN_OR_RETURN(
        Statement trim, db_->Prepare("DELETE FROM batch_log WHERE (sensor_id, seq) IN "
                                     "(SELECT sensor_id, seq FROM batches WHERE start_ns < ?)"));
    trim.BindInt64(1, log_cutoff);
    SYNMAP_RETURN_IF_ERROR(trim.Run());
    StepHook("log_trimmed");
    SYNMAP_ASSIGN_OR_RETURN(Statement drop, db_->Prepare("DELETE FROM batches WHERE end_ns <= ?"));
    drop.BindInt64(1, cutoff);
    return drop.Run();
  };
  absl::Status status = write();
  if (status.ok()) {
    status = db_->Exec("COMMIT");
  }
  if (!status.ok()) {
    (void)db_->Exec("ROLLBACK");
  }
  return Annotate(status, "apply retention");
}

void SqliteStore::StepHook(absl::string_view step) const {
  if (options_.step_hook_for_testing) {
    options_.step_hook_for_testing(step);
  }
}

absl::Status SqliteStore::DoCheckpoint() {
  std::vector<int64_t> dirty;
  size_t rolled_up;
  {
    // Roll-up changes memory only; the checkpoint transaction below replaces the fine chunks
    // with the coarse one and moves log_id in one commit. A crash before that commit leaves
    // the fine chunks and the old log_id, from which open rebuilds the same totals.
    absl::MutexLock lock(&state_mu_);
    rolled_up = index_.RollUp(ToNs(clock_.Now()));
    dirty = index_.TakeDirty();
  }
  StepHook("rolled_up");
  absl::Status status = db_->Exec("BEGIN IMMEDIATE");
  size_t chunks_written = 0;
  if (status.ok()) {
    auto write = [&]() -> absl::Status {
      SYNMAP_ASSIGN_OR_RETURN(Statement erase,
                              db_->Prepare("DELETE FROM aggregate_chunks WHERE bucket_ns = ?"));
      SYNMAP_ASSIGN_OR_RETURN(
          Statement insert,
          db_->Prepare("INSERT INTO aggregate_chunks (bucket_ns, chunk, format, body) "
                       "VALUES (?, ?, ?, ?)"));
      for (int64_t start : dirty) {
        erase.BindInt64(1, start);
        SYNMAP_RETURN_IF_ERROR(erase.Run());
        std::vector<std::string> chunks;
        {
          // Only this thread mutates the index, so a reader lock suffices to encode it.
          absl::ReaderMutexLock lock(&state_mu_);
          chunks = index_.EncodeBucket(start, kRowsPerChunk);
        }
        for (size_t c = 0; c < chunks.size(); ++c) {
          insert.BindInt64(1, start);
          insert.BindInt64(2, static_cast<int64_t>(c));
          insert.BindInt64(3, kChunkFormat);
          insert.BindBlob(4, chunks[c]);
          SYNMAP_RETURN_IF_ERROR(insert.Run());
          ++chunks_written;
        }
      }
      SYNMAP_ASSIGN_OR_RETURN(
          Statement mark,
          db_->Prepare("UPDATE checkpoint SET log_id = ?, written_ns = ? WHERE id = 1"));
      mark.BindInt64(1, applied_log_id_);
      mark.BindInt64(2, ToNs(clock_.Now()));
      SYNMAP_RETURN_IF_ERROR(mark.Run());
      SYNMAP_ASSIGN_OR_RETURN(
          int64_t stored,
          db_->QueryInt64(absl::StrCat("SELECT COUNT(*) FROM aggregate_chunks WHERE bucket_ns > ",
                                       kManifestBucket)));
      SYNMAP_ASSIGN_OR_RETURN(
          Statement manifest,
          db_->Prepare("INSERT OR REPLACE INTO aggregate_chunks (bucket_ns, chunk, format, body) "
                       "VALUES (?, 0, ?, ?)"));
      const std::string body = AggregateIndex::EncodeManifest(applied_log_id_, stored);
      manifest.BindInt64(1, kManifestBucket);
      manifest.BindInt64(2, kManifestFormat);
      manifest.BindBlob(3, body);
      SYNMAP_RETURN_IF_ERROR(manifest.Run());
      StepHook("chunks_written");
      // The log is kept (retention trims it): it is the truth a corrupt chunk is rebuilt from.
      return absl::OkStatus();
    };
    status = write();
  }
  if (status.ok()) {
    status = db_->Exec("COMMIT");
  }
  if (!status.ok()) {
    (void)db_->Exec("ROLLBACK");
    absl::MutexLock lock(&state_mu_);
    index_.MarkDirty(dirty);
    return Annotate(status, "write checkpoint");
  }
  records_since_checkpoint_ = 0;
  last_checkpoint_ns_ = ToNs(clock_.Now());
  absl::MutexLock lock(&state_mu_);
  stats_.checkpoints += 1;
  SYNMAP_LOG(INFO) << "store_checkpoint buckets=" << dirty.size() << " rolled_up=" << rolled_up
                   << " chunks=" << chunks_written << " log_id=" << applied_log_id_;
  return absl::OkStatus();
}

}  // namespace synmap::collector::internal
