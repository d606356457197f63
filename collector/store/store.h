#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "collector/store/admin_store.h"
#include "collector/store/snapshot.h"
#include "common/batch/batch.h"

namespace synmap::collector {

// Counting a handshake several sensors saw once (docs/counting.md, "Overlapping sensors"). Every
// collector sharing a database must use the same values. Plain data.
struct OverlapOptions {
  // Deduplicate fingerprinted handshakes across sensors in merged answers. Off: every sensor's
  // connections are summed, as before fingerprints. Applies to batches applied while set.
  bool enabled = true;
  // Two sensors' sightings of one handshake (same key and fingerprint) match when their first
  // SYN/ACKs lie at most window + skew_tolerance apart in capture time: the sensors'
  // retransmission window (one may miss the first copy) plus the clock skew tolerated between
  // sensors. Defaults 60 s and 5 s.
  absl::Duration window = absl::Seconds(60);
  absl::Duration skew_tolerance = absl::Seconds(5);
  // How far behind the newest batch end (capture time) sightings are remembered, within
  // `max_memory_bytes` (past it the oldest go first). A handshake no later than the newest
  // forgotten plus twice window + skew_tolerance is counted without deduplication. The horizon
  // is long so that sensors replaying captures of a few hours one after the other still meet;
  // the budget bounds what a busy live site keeps. Defaults 6 h and 256 MiB.
  absl::Duration horizon = absl::Hours(6);
  int64_t max_memory_bytes = int64_t{256} << 20;

  // InvalidArgument for a negative window or tolerance, a horizon shorter than four times
  // window + skew_tolerance, or a memory budget under 1 MiB.
  [[nodiscard]] absl::Status Validate() const;
};

// Which aggregate buckets a Snapshot carries.
enum class SnapshotBuckets {
  kWindow,  // Buckets overlapping the window.
  kAll,     // Every stored bucket (for first-seen / last-seen questions).
  kNone,    // None: sensors and coverage only.
};

// The result of a successful Commit.
struct CommitResult {
  // The (sensor, seq) was already committed with the same content; nothing was applied.
  bool duplicate = false;
  // Nothing was applied: the seq is already committed with other content, or is at or below
  // the sensor's highest committed seq without being committed. The sensor must send the
  // batch again under a seq above `last_committed_seq`. Never set together with duplicate.
  bool conflict = false;
  uint64_t last_committed_seq = 0;  // With conflict: the sensor's highest committed seq.
  friend bool operator==(const CommitResult&, const CommitResult&) = default;
};

// Counters of a store, for logs and benchmarks.
struct StoreStats {
  uint64_t commits = 0;             // Batches committed (duplicates excluded).
  uint64_t duplicates = 0;          // Commits answered duplicate.
  uint64_t records = 0;             // Records committed.
  uint64_t transactions = 0;        // Group transactions written.
  uint64_t checkpoints = 0;         // Aggregate checkpoints written.
  uint64_t aggregate_rows = 0;      // Rows in memory over all buckets.
  uint64_t buckets = 0;             // Buckets in memory.
  uint64_t replayed_batches = 0;    // Log batches replayed at open.
  uint64_t aggregate_rebuilds = 0;  // Corrupt stored aggregates rebuilt from the log at open.
  uint64_t saturated_sums = 0;      // Aggregate sums held at UINT64_MAX instead of wrapping.
};

// The collector's durable store: a per-sensor batch log (the truth, exactly-once by
// (sensor, seq)) plus aggregates derived from it, per time bucket, kept in memory for queries.
// Sensor names are trusted (they come from certificates); everything in a batch is not and is
// checked again here. Implementations are thread-safe; Commit may be called from many threads.
// The administrative tables (AdminStore: revocations) are part of every store; changes made
// there by other processes (OpenAdminStore) are seen by the next read.
class Store : public AdminStore {
 public:
  ~Store() override = default;

  // Durably stores `batch` of `sensor`: its records, stats and health and the (sensor, seq)
  // in one transaction, and returns only once that transaction is committed (so the caller may
  // ack). A seq already committed returns {duplicate = true} and applies nothing. Takes the
  // batch by value (move it in): the store keeps it to update its aggregates after the ack.
  // Snapshots taken after Commit returns include the batch. A batch is identified by its
  // content (a digest kept with each (sensor, seq)): the same seq with other content, or an
  // uncommitted seq at or below the highest committed one, returns {conflict = true} and
  // applies nothing. Errors: InvalidArgument (a limit is violated; nothing stored);
  // Unavailable (storage failed; nothing stored, retry later); Cancelled (the store is
  // closing).
  [[nodiscard]] virtual absl::StatusOr<CommitResult> Commit(absl::string_view sensor,
                                                            common::SequencedBatch batch) = 0;

  // Records a Hello from `sensor` connecting from `peer_address`, marks it connected, and
  // returns its highest committed seq (0 if none). Errors: InvalidArgument, Unavailable,
  // Cancelled.
  [[nodiscard]] virtual absl::StatusOr<uint64_t> RecordHello(absl::string_view sensor,
                                                             absl::string_view peer_address,
                                                             const common::SensorInfo& hello) = 0;

  // Records a heartbeat: its collector time and the sensor's health. Errors: as RecordHello.
  [[nodiscard]] virtual absl::Status RecordHeartbeat(absl::string_view sensor,
                                                     const common::SensorHealth& health) = 0;

  // Marks `sensor` disconnected (in memory only). Unknown names are ignored.
  virtual void RecordDisconnect(absl::string_view sensor) = 0;

  // Highest committed seq of `sensor`, 0 if none or unknown.
  virtual uint64_t LastCommittedSeq(absl::string_view sensor) = 0;

  // A consistent snapshot with the coverage of the window [since_ns, until_ns) (0 = open on
  // that side) and the buckets chosen by `buckets`. Cheap: shares memory with the store.
  virtual std::shared_ptr<const StoreSnapshot> Snapshot(int64_t since_ns, int64_t until_ns,
                                                        SnapshotBuckets buckets) = 0;

  // Writes the in-memory aggregates changed since the last checkpoint and trims the log
  // behind it. Also done automatically, off the ack path. Errors: Unavailable, Cancelled.
  [[nodiscard]] virtual absl::Status Checkpoint() = 0;

  // Drops buckets and batch records older than the retention period (no-op without one).
  // Also done at every checkpoint. Errors: Unavailable, Cancelled.
  [[nodiscard]] virtual absl::Status ApplyRetention() = 0;

  virtual StoreStats stats() const = 0;

  // Finishes pending commits, writes a final checkpoint and closes the database. Later calls
  // fail with Cancelled. Idempotent; the destructor calls it.
  [[nodiscard]] virtual absl::Status Close() = 0;
};

}  // namespace synmap::collector
