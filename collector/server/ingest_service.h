#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "collector/server/batch_limits.h"
#include "collector/server/refusal_counters.h"
#include "collector/server/revocation_list.h"
#include "collector/store/store.h"
#include "common/metrics/metrics.h"
#include "common/time/clock.h"
#include "synmap/v1/ingest.grpc.pb.h"

namespace synmap::collector {

namespace internal {
class WorkerPool;
class IngestReactor;
}  // namespace internal

// Options of IngestService. Plain data.
struct IngestServiceOptions {
  IngestLimits limits;
  // Threads making the store's blocking calls for all streams (Commit, RecordHello, ...).
  // Concurrent commits from different streams are what the store groups into one
  // transaction, so this bounds how many streams' batches share a transaction.
  int store_threads = 16;
  // Per stream: validated batches (and heartbeats) queued behind the one the store is
  // committing. When full, the stream stops reading (HTTP/2 flow control pushes back on the
  // sensor). Memory per stream is about (this + 2) * message size.
  int max_queued_messages = 2;

  [[nodiscard]] absl::Status Validate() const;
};

// Counters of IngestService. Plain data.
struct IngestStats {
  uint64_t streams_opened = 0;     // Streams whose peer passed the identity check.
  uint64_t streams_open = 0;       // Streams open now.
  uint64_t batches_acked = 0;      // Acks written (duplicates included).
  uint64_t duplicates = 0;         // Acks with duplicate = true.
  uint64_t conflicts = 0;          // Batches answered CONFLICT (seq used by other content).
  uint64_t batches_committed = 0;  // Non-duplicate batches committed (acked, not duplicates).
  uint64_t records_committed = 0;  // Records of non-duplicate committed batches.
};

// The Ingest.Stream adapter: checks the peer (OU "sensor", name = CN), expects Hello first
// (answered with HelloAck from the store), validates each Batch against the named limits and
// commits it under the certificate's name, writing the Ack only after Commit returned, in
// batch order. A batch the store finds in conflict (its seq used by other content) is answered
// Ack.status = CONFLICT with the last committed seq (protocol_version >= 2; older sensors get
// INVALID_ARGUMENT). One live stream per sensor name: the Hello of a second stream for a name
// whose stream is open is refused with ALREADY_EXISTS naming both peers, counted
// ("sensor_already_connected") and logged, unless it carries the open stream's boot_id (the
// same process reconnecting over a new path), which cancels the old stream and takes over. A bad
// batch ends the stream with INVALID_ARGUMENT (batches before it are still committed and acked
// first); nothing of the bad batch is stored. Uses the callback API: one reactor per stream, no
// thread per stream; store calls run on an internal worker pool, one at a time per stream (the
// store refuses a seq below one already committed, so one stream's batches must reach it in order);
// reading, decoding and validating the next batches overlap with that commit. Borrows `store`,
// `clock` and `refusals`, which must outlive it. Thread-safe. The gRPC server using it must be shut
// down before it is destroyed.
class IngestService final : public synmap::v1::Ingest::CallbackService {
 public:
  // With `revocations` (may be null: none enforced; must outlive the service), a revoked
  // sensor's stream is refused at its start and at its Hello, and an open one is ended with
  // PERMISSION_DENIED ("revoked: ...") as soon as the list learns of the revocation, after the
  // acks of batches already committed are written.
  IngestService(Store& store, const Clock& clock, RefusalCounters& refusals,
                IngestServiceOptions options, RevocationList* revocations = nullptr);
  ~IngestService() override;
  IngestService(const IngestService&) = delete;
  IngestService& operator=(const IngestService&) = delete;

  grpc::ServerBidiReactor<synmap::v1::SensorMessage, synmap::v1::CollectorMessage>* Stream(
      grpc::CallbackServerContext* context) override;

  IngestStats stats() const;
  // Time each Store::Commit call took (seconds, by the injected clock), duplicates and
  // conflicts included. Lock-free to observe and to read.
  const common::Histogram& commit_seconds() const { return commit_seconds_; }

 private:
  friend class internal::IngestReactor;

  // The stream that holds a sensor name (after its Hello).
  struct NameHolder {
    const void* stream = nullptr;
    std::string peer;
    std::string boot_id;
    grpc::CallbackServerContext* context = nullptr;  // Valid while the stream is registered.
    internal::IngestReactor* reactor = nullptr;      // Likewise.
    absl::Time not_before;                           // Of the stream's certificate.
  };

  // Tracks streams per sensor name so that only the last one to close marks it disconnected.
  void StreamOpened(const std::string& sensor) ABSL_LOCKS_EXCLUDED(mu_);
  void StreamClosed(const std::string& sensor, const void* stream) ABSL_LOCKS_EXCLUDED(mu_);
  // Makes `stream` the one live stream of `sensor`. AlreadyExists if another sensor process
  // (another boot_id) holds the name; a holder with the same non-empty boot_id is cancelled
  // and replaced.
  // PermissionDenied (counted and logged "revoked") when the sensor's certificate is revoked.
  [[nodiscard]] absl::Status ClaimName(const common::PeerIdentity& sensor, NameHolder holder)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the open streams of sensors that `changed` revokes (a RevocationList listener).
  void CloseRevoked(const std::vector<Revocation>& changed) ABSL_LOCKS_EXCLUDED(mu_);

  Store& store_;
  const Clock& clock_;
  RefusalCounters& refusals_;
  const IngestServiceOptions options_;
  RevocationList* const revocations_;
  int revocation_listener_ = -1;
  std::unique_ptr<internal::WorkerPool> pool_;

  // Relaxed atomics: statistics only.
  std::atomic<uint64_t> streams_opened_{0};
  std::atomic<uint64_t> batches_acked_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> conflicts_{0};
  std::atomic<uint64_t> batches_committed_{0};
  std::atomic<uint64_t> records_committed_{0};
  common::Histogram commit_seconds_{common::DurationBucketsSeconds()};

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> open_streams_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, NameHolder> holders_ ABSL_GUARDED_BY(mu_);
  uint64_t streams_open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace synmap::collector
