#pragma once

// The uplink's implementation class, shared by uplink.cc (lifecycle, Submit, Drain) and
// uplink_session.cc (the uplink thread: connect, Hello, send window, acks, backoff).
// Internal to sensor/uplink.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "sensor/uplink/internal/backoff.h"
#include "sensor/uplink/internal/ingest_stream.h"
#include "sensor/uplink/internal/seq_counter.h"
#include "sensor/uplink/internal/spool.h"
#include "sensor/uplink/uplink.h"
#include "synmap/v1/ingest.pb.h"

namespace synmap::sensor {

namespace internal {
// Uniform doubles in [0, 1) from a generator seeded by the OS.
std::function<double()> DefaultJitter();
}  // namespace internal

// Thread-safe; see Uplink.
class Uplink::Impl {
 public:
  Impl(UplinkOptions options, Clock& clock, std::unique_ptr<internal::Spool> spool,
       internal::SeqCounter seq)
      : options_(std::move(options)),
        clock_(clock),
        created_at_(clock.Now()),
        spool_(std::move(spool)),
        backoff_(options_.initial_backoff, options_.max_backoff,
                 options_.jitter_source ? options_.jitter_source : internal::DefaultJitter()),
        refused_backoff_(
            std::min(2 * options_.max_backoff, options_.max_refused_backoff),
            options_.max_refused_backoff,
            options_.jitter_source ? options_.jitter_source : internal::DefaultJitter(),
            /*floor=*/0.5),
        seq_(std::move(seq)) {
    absl::MutexLock lock(&mu_);
    PublishLocked();
  }
  ~Impl() { Stop(); }

  absl::Status Start() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Submit(common::Batch batch) ABSL_LOCKS_EXCLUDED(mu_, submit_mu_);
  absl::Status Drain(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  UplinkStats stats() const ABSL_LOCKS_EXCLUDED(mu_);
  bool AwaitStats(const std::function<bool(const UplinkStats&)>& pred, absl::Duration timeout) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  enum class State { kCreated, kRunning, kStopped };
  using InFlight = std::map<uint64_t, absl::Time>;  // Unacked seq -> when it was written.

  // The uplink thread.
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status RunSession(const std::string& target, bool* got_hello_ack) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Converse(internal::IngestStream& stream, const std::string& target,
                        bool* got_hello_ack) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status AwaitHelloAck(internal::IngestStream& stream, const std::string& target)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Ends `stream`'s part in the call (cancelling it first if `cancel`), releases its hold and
  // waits for OnDone; returns the call's final status. Idempotent; the stream may be
  // destroyed afterwards. Without `cancel`, the call must have ended (events_.ended).
  grpc::Status FinishStream(internal::IngestStream& stream, bool cancel) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status HandleHelloAck(const v1::HelloAck& ack, const std::string& target)
      ABSL_LOCKS_EXCLUDED(mu_, submit_mu_);
  // On the first HelloAck seen by a fresh seq counter: if the collector's history reaches
  // the spool's lowest seq, renumbers the whole spool above it; then confirms the counter.
  absl::Status ReconcileFreshSpool(uint64_t committed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(submit_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A collector answered CONFLICT for `seq`: gives that file the next seq above both the
  // counter and `last_committed` (journaled), to be sent again. Errors: the counter's or the
  // spool's (the file stays under its old seq, to be resent and answered again).
  absl::Status RenumberConflicted(uint64_t seq, uint64_t last_committed)
      ABSL_LOCKS_EXCLUDED(mu_, submit_mu_);
  absl::Status HandleStreamEnd(const grpc::Status& end, const InFlight& in_flight)
      ABSL_LOCKS_EXCLUDED(mu_);
  bool SendNextBatch(internal::IngestStream& stream, InFlight& in_flight) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status HandleAcks(const std::deque<v1::CollectorMessage>& inbox, const std::string& target,
                          InFlight& in_flight) ABSL_LOCKS_EXCLUDED(mu_);
  // Writes the next batch, or a heartbeat if one is due; false if nothing was written.
  bool WriteNext(internal::IngestStream& stream, InFlight& in_flight, absl::Time last_write,
                 absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  void WaitForStreamEvent(bool write_pending, absl::Time wake_at) ABSL_LOCKS_EXCLUDED(mu_);
  void WaitBackoff(absl::Duration delay) ABSL_LOCKS_EXCLUDED(mu_);
  // Why the attempt on `target` that ended with `status` before any HelloAck was refused for
  // this sensor's identity, or "" when it was not (a network or collector failure).
  std::string IdentityRefusal(const absl::Status& status, const std::string& target) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // Logs the refusal (ERROR when new, WARNING when the same again), counts it and waits.
  void BackOffRefusedIdentity(const std::string& target, const std::string& refusal)
      ABSL_LOCKS_EXCLUDED(mu_);
  void AbsorbPending() ABSL_LOCKS_EXCLUDED(mu_);
  void PublishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  UplinkStats StatsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::SensorHealth HealthLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // HealthLocked() for a batch or heartbeat about to be written; remembers its backlog.
  v1::SensorHealth ReportHealthLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::SensorMessage HelloMessage() const ABSL_LOCKS_EXCLUDED(mu_);

  const UplinkOptions options_;
  Clock& clock_;
  const absl::Time created_at_;

  // Owned by the uplink thread (Create() before it starts). Read by PublishLocked/HealthLocked,
  // which only the uplink thread (or the constructor) calls.
  std::unique_ptr<internal::Spool> spool_;
  internal::Backoff backoff_;
  internal::Backoff refused_backoff_;  // After a refused identity; see max_refused_backoff.
  size_t collector_index_ = 0;

  // Serializes submitters so seqs reach the spool in order; held across the spool write,
  // which is the durability point. The uplink thread takes it only to move seq forward.
  absl::Mutex submit_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  internal::SeqCounter seq_ ABSL_GUARDED_BY(submit_mu_);

  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kCreated;
  bool joined_ ABSL_GUARDED_BY(mu_) = false;  // Stop() has joined the uplink thread.
  std::vector<internal::SpoolEntry> pending_ ABSL_GUARDED_BY(mu_);  // Spooled, not indexed.
  internal::StreamEvents events_ ABSL_GUARDED_BY(mu_);
  UplinkStats stats_ ABSL_GUARDED_BY(mu_);  // spool_* describe spool_ only (not pending_).
  // The spool backlog in the last health written to the collector. Once the spool drains, a
  // heartbeat reports 0 at once (and Drain() waits for it), so `synmap sensors` shows the
  // backlog the sensor really has after a drained exit, not the batches in flight before it.
  uint64_t reported_backlog_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace synmap::sensor
