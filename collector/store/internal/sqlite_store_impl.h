#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "collector/store/internal/aggregate_index.h"
#include "collector/store/internal/sensor_ledger.h"
#include "collector/store/internal/sqlite_admin.h"
#include "collector/store/internal/sqlite_db.h"
#include "collector/store/internal/store_health.h"
#include "collector/store/sqlite_store.h"

namespace synmap::collector::internal {

// batch_log.body: a serialized synmap.v1.Batch.
inline constexpr int64_t kBodyFormatBatchProto = 1;
inline constexpr int64_t kChunkFormat = 3;  // aggregate_chunks.body: AggregateIndex format 3.
inline constexpr size_t kRowsPerChunk = 65'536;
// The checkpoint manifest's row in aggregate_chunks (no bucket starts there).
inline constexpr int64_t kManifestBucket = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kManifestFormat = 100;

// One request to the writer thread. Lives on the caller's stack until `done`.
struct Op {
  enum class Kind { kCommit, kHello, kHeartbeat, kCheckpoint, kRetention };
  Kind kind = Kind::kCommit;
  std::string sensor;
  common::SequencedBatch batch;  // kCommit: moved out by the writer once committed.
  std::string body;              // Serialized batch, made by the caller's thread.
  std::string peer;
  const common::SensorInfo* hello = nullptr;
  const common::SensorHealth* heartbeat = nullptr;
  // Results, set by the writer thread before `done`.
  bool done = false;
  bool applied = false;  // A new commit written in the group transaction.
  uint32_t sensor_id = 0;
  int64_t log_id = 0;  // batch_log row of a new commit.
  absl::Status status;
  CommitResult result;
  uint64_t last_seq = 0;
};

inline int64_t ToNs(absl::Time t) { return absl::ToUnixNanos(t); }

// One effective change of a committed group, applied to the in-memory state after the ack.
struct Applied {
  Op::Kind kind = Op::Kind::kCommit;
  uint32_t sensor_id = 0;
  int64_t now_ns = 0;
  Op* op = nullptr;              // Until the group is committed; then the batch is moved here.
  common::SequencedBatch batch;  // kCommit.
  BatchInfo info;                // kCommit.
  int64_t log_id = 0;            // kCommit: its batch_log row.
  std::string peer;              // kHello.
  common::SensorInfo hello;      // kHello.
  common::SensorHealth health;   // kHeartbeat.
};

// The SQLite Store. Callers' threads validate and serialise; one writer thread owns the
// connection, group-commits every pending request in one transaction, then publishes the
// result to the in-memory state (under state_mu_) and wakes the callers. Thread-safe.
class SqliteStore final : public Store {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Store>> Open(
      const SqliteStoreOptions& options);
  ~SqliteStore() override { (void)Close(); }

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
  absl::Status Revoke(const Revocation& revocation) override { return admin_->Revoke(revocation); }
  absl::Status Unrevoke(absl::string_view name) override { return admin_->Unrevoke(name); }
  absl::StatusOr<std::vector<Revocation>> Revocations() override { return admin_->Revocations(); }

 private:
  SqliteStore(const SqliteStoreOptions& options, std::unique_ptr<SqliteDb> db)
      : options_(options),
        clock_(options.clock != nullptr ? *options.clock : RealClock::Get()),
        db_(std::move(db)),
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

  absl::Status Load();
  absl::Status LoadSensors();
  absl::Status LoadAggregates(int64_t legacy_width_ns);
  // After `why` (a corrupt chunk): drops every stored chunk and replays the whole log, or
  // fails with DataLoss naming the file when the log no longer holds every batch needed.
  absl::Status RebuildFromLog(const absl::Status& why);
  absl::Status ReplayLog();
  // Puts the fingerprints of checkpointed batches within the overlap horizon back into the
  // overlap index (their duplicates are in the loaded chunks).
  absl::Status SeedOverlap();
  absl::Status Submit(Op* op) ABSL_LOCKS_EXCLUDED(queue_mu_);
  void WriterLoop();
  // Writes the group's transaction, wakes its callers, then applies it. Marks ops done.
  void ProcessGroup(const std::vector<Op*>& ops);
  absl::StatusOr<uint32_t> EnsureSensor(const std::string& name);
  absl::Status WriteGroup(const std::vector<Op*>& ops, std::vector<Applied>& applied);
  absl::Status WriteSensorRow(uint32_t id, const SensorState& state);
  static absl::Status InsertBatch(Statement& insert, uint32_t sensor_id, const BatchInfo& info);
  static void ApplyHello(const Applied& change, SensorState& state);
  static void ApplyHeartbeat(const Applied& change, SensorState& state);
  // Applies a committed group to the in-memory state, one change per lock hold.
  void ApplyGroup(std::vector<Applied>& applied);
  // Waits until every group acked before the call is applied (read-your-writes).
  void AwaitApplied() const ABSL_SHARED_LOCKS_REQUIRED(state_mu_);
  absl::Status DoCheckpoint();
  // Calls options_.step_hook_for_testing, if set.
  void StepHook(absl::string_view step) const;
  absl::Status DoRetention();
  // Deletes batch_log rows older than options_.log_retention that a checkpoint already holds.
  absl::Status TrimCheckpointedLog();
  int64_t RetentionCutoffNs() const;
  bool CheckpointDue() const;

  const SqliteStoreOptions options_;
  Clock& clock_;
  StoreHealthTracker health_{"sqlite"};
  std::unique_ptr<SqliteDb> db_;              // Used only by the writer thread (and Open/Close).
  std::unique_ptr<SqliteAdminTables> admin_;  // Revocations, on a connection of their own.

  absl::Mutex queue_mu_;
  std::vector<Op*> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool closing_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread writer_;

  absl::Mutex close_mu_;
  bool closed_ ABSL_GUARDED_BY(close_mu_) = false;
  absl::Status close_status_ ABSL_GUARDED_BY(close_mu_);

  // What queries see. Only the writer thread mutates it.
  mutable absl::Mutex state_mu_;
  AggregateIndex index_ ABSL_GUARDED_BY(state_mu_);
  SensorLedger ledger_ ABSL_GUARDED_BY(state_mu_);
  StoreStats stats_ ABSL_GUARDED_BY(state_mu_);
  uint64_t acked_groups_ ABSL_GUARDED_BY(state_mu_) = 0;    // Committed, callers woken.
  uint64_t applied_groups_ ABSL_GUARDED_BY(state_mu_) = 0;  // And applied to the state.

  // Writer thread only.
  int64_t applied_log_id_ = 0;
  uint64_t records_since_checkpoint_ = 0;
  int64_t last_checkpoint_ns_ = 0;
};

}  // namespace synmap::collector::internal
