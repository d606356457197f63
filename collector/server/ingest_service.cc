#include "collector/server/ingest_service.h"

#include <deque>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "collector/server/access_control.h"
#include "collector/server/internal/worker_pool.h"
#include "common/batch/batch_codec.h"
#include "common/enrol/enrol_client.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "common/tls/peer_identity.h"
#include "common/tls/tls_files.h"

namespace synmap::collector {
namespace internal {

using synmap::v1::CollectorMessage;
using synmap::v1::SensorMessage;

// The site a sensor's data is filed under: its certificate's (subject L) when it has one, else
// the one its Hello claims ("" = none). A claim that is not a valid name is InvalidArgument
// (reason "bad_site"); a claim other than the certificate's site is PermissionDenied (reason
// "site_mismatch"), since a sensor must not write into another site.
absl::StatusOr<std::string> SensorSite(const common::PeerIdentity& identity,
                                       absl::string_view claimed, const char** reason) {
  if (!claimed.empty() && !common::IsValidPeerName(claimed)) {
    *reason = "bad_site";
    return absl::InvalidArgumentError(
        absl::StrCat("Hello site is not a valid name (1 to 64 characters of [A-Za-z0-9._-])"));
  }
  if (identity.site.empty()) {
    return std::string(claimed);
  }
  if (!claimed.empty() && claimed != identity.site) {
    *reason = "site_mismatch";
    return absl::PermissionDeniedError(
        absl::StrCat("sensor ", identity.name, " claims site '", claimed,
                     "' but its certificate binds it to site '", identity.site,
                     "': fix the sensor's --site or issue a certificate for that site"));
  }
  return identity.site;
}

// One Ingest.Stream. Deletes itself in OnDone (gRPC's reactor contract).
//
// All state is guarded by mu_. gRPC callbacks and store completions decide under the lock
// what to start next (a read, a write, a store call, or Finish) and start it after
// unlocking; `starting_` counts decided-but-not-yet-started operations so that Finish, which
// may let OnDone delete `this`, is never decided while another thread is about to touch it.
class IngestReactor final : public grpc::ServerBidiReactor<SensorMessage, CollectorMessage> {
 public:
  IngestReactor(IngestService& service, grpc::CallbackServerContext& context)
      : service_(service), context_(context) {
    absl::StatusOr<common::PeerIdentity> identity = AuthorizePeer(
        context, "Ingest.Stream", common::kRoleSensor, service_.refusals_, service_.revocations_);
    if (!identity.ok()) {
      finishing_ = true;
      Finish(ToGrpcStatus(identity.status()));
      return;
    }
    identity_ = *std::move(identity);
    service_.streams_opened_.fetch_add(1, std::memory_order_relaxed);
    service_.StreamOpened(identity_.name);
    opened_ = true;
    SYNMAP_LOG(INFO) << "ingest_stream_open sensor=" << identity_.name
                     << " peer=" << identity_.address;
    {
      absl::MutexLock lock(&mu_);
      reading_ = true;
    }
    StartRead(&read_msg_);
  }

  void OnReadDone(bool ok) override {
    Actions next;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      if (!ok) {
        read_closed_ = true;
      } else {
        AcceptLocked(std::move(read_msg_));
        read_msg_.Clear();
      }
      next = DecideLocked();
    }
    Run(std::move(next));
  }

  void OnWriteDone(bool ok) override {
    Actions next;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) {
        // The client is gone: nothing more can be delivered.
        out_.clear();
        write_failed_ = true;
        FailLocked(absl::CancelledError("stream closed by the sensor"), "");
      }
      next = DecideLocked();
    }
    Run(std::move(next));
  }

  void OnCancel() override {
    Actions next;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      pending_.clear();  // Not stored, not acked: the sensor resends them.
      next = DecideLocked();
    }
    Run(std::move(next));
  }

  // Called by IngestService with its mu_ held (which keeps `this` registered, hence alive):
  // keeps the stream from finishing until FinishRevoked. False when it is finishing already.
  bool PinForRevocation() {
    absl::MutexLock lock(&mu_);
    if (finishing_) {
      return false;
    }
    ++starting_;
    return true;
  }

  // After PinForRevocation, without IngestService's mu_: ends the stream with `status` once the
  // acks already due are written (batches not yet committed stay in the sensor's spool).
  void FinishRevoked(const absl::Status& status) {
    Actions next;
    {
      absl::MutexLock lock(&mu_);
      --starting_;
      FailLocked(status, "");  // Counted and logged by RefuseRevoked.
      next = DecideLocked();
    }
    if (!next.empty()) {
      Run(std::move(next));
    }
  }

  void OnDone() override {
    if (opened_) {
      service_.StreamClosed(identity_.name, this);
      absl::MutexLock lock(&mu_);  // Uncontended: every other callback has returned.
      SYNMAP_LOG(INFO) << "ingest_stream_closed sensor=" << identity_.name
                       << " peer=" << identity_.address << " batches_acked=" << acked_
                       << " status=" << end_status_;
    }
    delete this;
  }

 private:
  // What to start after unlocking.
  struct Actions {
    bool start_read = false;
    bool start_write = false;
    std::optional<SensorMessage> store;
    std::optional<grpc::Status> finish;
    bool any() const { return start_read || start_write || store.has_value(); }
    bool empty() const { return !any() && !finish.has_value(); }
  };

  // The end of the sensor's certificate (0 when it cannot be read), for its Hello; logs a
  // warning when less than a quarter of its validity is left (renewal is due at two thirds).
  int64_t CertificateNotAfterNs() const {
    const std::string pem = PeerCertificatePem(context_);
    absl::StatusOr<absl::Time> end = common::CertificateNotAfter(pem);
    absl::StatusOr<absl::Time> due = common::RenewalDue(pem);
    if (!end.ok() || !due.ok()) {
      return 0;
    }
    const absl::Time now = service_.clock_.Now();
    if (now > *due + (*end - *due) / 4) {
      SYNMAP_LOG(WARNING) << "certificate_expiring sensor=" << identity_.name << " not_after="
                          << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *end, absl::UTCTimeZone())
                          << " left="
                          << absl::FormatDuration(absl::Trunc(*end - now, absl::Seconds(1)))
                          << " (renew it: enrolled sensors renew by themselves)";
    }
    return absl::ToUnixNanos(*end);
  }

  // Takes one message read from the sensor: queues it for the store or fails the stream.
  void AcceptLocked(SensorMessage msg) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!status_.ok() || cancelled_) {
      return;
    }
    // gRPC's own receive cap sits above the limit (collector_server.cc) so that a message just
    // over it reaches us and is refused by name, counted and logged, rather than silently
    // cancelled by the transport.
    if (const size_t bytes = msg.ByteSizeLong();
        bytes > static_cast<size_t>(service_.options_.limits.max_message_bytes)) {
      FailLocked(absl::ResourceExhaustedError(absl::StrCat(
                     "message of ", bytes, " bytes exceeds the limit of ",
                     service_.options_.limits.max_message_bytes, " bytes (max_message_bytes)")),
                 "message_too_large", msg.has_batch() ? msg.batch().seq() : 0);
      return;
    }
    if (!hello_seen_) {
      if (!msg.has_hello()) {
        FailLocked(absl::InvalidArgumentError("the first message of a stream must be a Hello"),
                   "no_hello");
        return;
      }
      hello_seen_ = true;
      protocol_version_ = msg.hello().protocol_version();
      const char* reason = "";
      absl::StatusOr<std::string> site = SensorSite(identity_, msg.hello().site(), &reason);
      if (!site.ok()) {
        FailLocked(site.status(), reason);
        return;
      }
      msg.mutable_hello()->set_site(*std::move(site));
      msg.mutable_hello()->set_certificate_not_after_unix_ns(CertificateNotAfterNs());
    } else if (msg.has_hello()) {
      FailLocked(absl::InvalidArgumentError("Hello sent twice on one stream"), "hello_twice");
      return;
    } else if (msg.has_batch()) {
      std::string limit;
      absl::Status valid = ValidateBatch(msg.batch(), absl::ToUnixNanos(service_.clock_.Now()),
                                         service_.options_.limits, &limit);
      if (!valid.ok()) {
        FailLocked(valid, limit, msg.batch().seq());
        return;
      }
    } else if (!msg.has_heartbeat()) {
      FailLocked(absl::InvalidArgumentError("empty SensorMessage (no hello, batch or heartbeat)"),
                 "empty_message");
      return;
    }
    pending_.push_back(std::move(msg));
  }

  // Records the first error; the stream ends with it once acks already due are written.
  // `refused_seq` (0: none) names the batch that caused it, sent to the sensor in the trailing
  // metadata (common::kRefusedSeqMetadataKey) so that it quarantines exactly that batch.
  void FailLocked(const absl::Status& status, absl::string_view reason, uint64_t refused_seq = 0)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!status_.ok()) {
      return;
    }
    status_ = status;
    refused_seq_ = refused_seq;
    pending_.clear();
    if (!reason.empty()) {
      service_.refusals_.Add(reason);
      SYNMAP_LOG(WARNING) << "ingest_refused sensor=" << identity_.name
                          << " peer=" << identity_.address << " reason=" << reason
                          << " status=" << status;
    }
  }

  Actions DecideLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Actions a;
    if (finishing_) {
      return a;
    }
    const bool healthy = status_.ok() && !cancelled_;
    if (!store_busy_ && healthy && !pending_.empty()) {
      store_busy_ = true;
      a.store = std::move(pending_.front());
      pending_.pop_front();
    }
    if (!writing_ && !out_.empty()) {
      writing_ = true;
      write_msg_ = std::move(out_.front());
      out_.pop_front();
      a.start_write = true;
    }
    if (!reading_ && !read_closed_ && healthy &&
        static_cast<int>(pending_.size()) < service_.options_.max_queued_messages) {
      reading_ = true;
      a.start_read = true;
    }
    if (a.any()) {
      ++starting_;
      return a;
    }
    if (starting_ > 0 || store_busy_ || writing_ || !out_.empty()) {
      return a;
    }
    if (!status_.ok()) {
      a.finish = write_failed_ ? grpc::Status::CANCELLED : ToPeerStatus(status_);
    } else if (cancelled_) {
      a.finish = grpc::Status::CANCELLED;
    } else if (read_closed_ && pending_.empty()) {
      a.finish = grpc::Status::OK;
    }
    if (a.finish.has_value()) {
      finishing_ = true;
      if (refused_seq_ != 0 && !write_failed_) {
        // Before Finish, which is started right after unlocking; nothing else touches it now.
        context_.AddTrailingMetadata(common::kRefusedSeqMetadataKey, absl::StrCat(refused_seq_));
      }
      end_status_ = status_.ok() && cancelled_ ? absl::CancelledError("cancelled") : status_;
    }
    return a;
  }

  // Starts what DecideLocked chose, then decides again until nothing is left to start.
  void Run(Actions a) {
    while (true) {
      if (a.finish.has_value()) {
        Finish(*a.finish);  // May delete `this` (via OnDone): touch nothing after it.
        return;
      }
      if (!a.any()) {
        return;
      }
      if (a.store.has_value()) {
        service_.pool_->Schedule(
            [this, msg = std::move(*a.store)]() mutable { CallStore(std::move(msg)); });
      }
      if (a.start_write) {
        StartWrite(&write_msg_);
      }
      if (a.start_read) {
        StartRead(&read_msg_);
      }
      absl::MutexLock lock(&mu_);
      --starting_;
      a = DecideLocked();
    }
  }

  // Runs on the worker pool: one store call, then queues its answer.
  void CallStore(SensorMessage msg) {
    std::optional<CollectorMessage> reply;
    absl::Status status = absl::OkStatus();
    Store& store = service_.store_;
    const char* reason = nullptr;  // Refusal counter name when `status` is an error.
    if (msg.has_hello()) {
      IngestService::NameHolder holder;
      holder.stream = this;
      holder.peer = identity_.address;
      holder.boot_id = msg.hello().boot_id();
      holder.context = &context_;
      holder.reactor = this;
      holder.not_before = identity_.not_before;
      status = service_.ClaimName(identity_, std::move(holder));
      if (absl::IsPermissionDenied(status)) {
        reason = "";  // Revoked: counted and logged by ClaimName.
      } else if (!status.ok()) {
        reason = "sensor_already_connected";
      } else {
        absl::StatusOr<uint64_t> last = store.RecordHello(identity_.name, identity_.address,
                                                          common::SensorInfoFromProto(msg.hello()));
        status = last.status();
        if (last.ok()) {
          reply.emplace();
          reply->mutable_hello_ack()->set_sensor_name(identity_.name);
          reply->mutable_hello_ack()->set_last_committed_seq(*last);
        }
      }
    } else if (msg.has_batch()) {
      const uint64_t seq = msg.batch().seq();
      const int records = msg.batch().records_size();
      // Checked against the limits when read (AcceptLocked); converted here, off the gRPC
      // threads. The store checks the plain form again.
      absl::StatusOr<common::SequencedBatch> batch =
          common::BatchFromProto(msg.batch(), absl::ToUnixNanos(service_.clock_.Now()),
                                 ToBatchLimits(service_.options_.limits), nullptr);
      const absl::Time commit_start = service_.clock_.Now();
      absl::StatusOr<CommitResult> result = batch.ok()
                                                ? store.Commit(identity_.name, *std::move(batch))
                                                : absl::StatusOr<CommitResult>(batch.status());
      if (batch.ok()) {
        service_.commit_seconds_.Observe(
            absl::ToDoubleSeconds(service_.clock_.Now() - commit_start));
      }
      status = result.status();
      if (result.ok() && result->conflict) {
        service_.conflicts_.fetch_add(1, std::memory_order_relaxed);
        service_.refusals_.Add("seq_conflict");
        SYNMAP_LOG(WARNING) << "ingest_batch_conflict sensor=" << identity_.name
                            << " peer=" << identity_.address << " seq=" << seq
                            << " last_committed=" << result->last_committed_seq
                            << " action=sensor_renumbers";
        if (ProtocolVersion() < 2) {
          status = absl::InvalidArgumentError(
              absl::StrCat("batch seq ", seq,
                           " conflicts with a committed batch of other content or is at or "
                           "below the highest committed seq ",
                           result->last_committed_seq));
          reason = "seq_conflict";
        } else {
          reply.emplace();
          reply->mutable_ack()->set_seq(seq);
          reply->mutable_ack()->set_status(synmap::v1::ACK_STATUS_CONFLICT);
          reply->mutable_ack()->set_last_committed_seq(result->last_committed_seq);
        }
      } else if (result.ok()) {
        reply.emplace();
        reply->mutable_ack()->set_seq(seq);
        reply->mutable_ack()->set_duplicate(result->duplicate);
        service_.batches_acked_.fetch_add(1, std::memory_order_relaxed);
        if (result->duplicate) {
          service_.duplicates_.fetch_add(1, std::memory_order_relaxed);
        } else {
          service_.batches_committed_.fetch_add(1, std::memory_order_relaxed);
          service_.records_committed_.fetch_add(records, std::memory_order_relaxed);
        }
      }
    } else {
      absl::Status hb =
          store.RecordHeartbeat(identity_.name, common::HealthFromProto(msg.heartbeat().health()));
      if (!hb.ok()) {
        SYNMAP_LOG_EVERY_N_SEC(WARNING, 10)
            << "ingest_heartbeat_not_recorded sensor=" << identity_.name << " status=" << hb;
      }
    }
    Actions next;
    {
      absl::MutexLock lock(&mu_);
      store_busy_ = false;
      if (!status.ok()) {
        if (reason == nullptr) {
          reason = status.code() == absl::StatusCode::kInvalidArgument ? "store_refused"
                                                                       : "store_unavailable";
        }
        const bool refused = msg.has_batch() && absl::IsInvalidArgument(status);
        FailLocked(status, reason, refused ? msg.batch().seq() : 0);
      } else if (reply.has_value()) {
        if (reply->has_ack()) {
          ++acked_;
        }
        out_.push_back(*std::move(reply));
      }
      next = DecideLocked();
    }
    // With nothing to start, another thread may have finished the stream as soon as the lock
    // was released, and OnDone may have deleted `this`: even calling a member function on it
    // would be use after free (UBSan's vptr check reads the object).
    if (!next.empty()) {
      Run(std::move(next));
    }
  }

  // What the sensor is told: store shutdown and storage failures are retryable.
  static grpc::Status ToPeerStatus(const absl::Status& status) {
    if (status.code() == absl::StatusCode::kCancelled) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "collector shutting down; retry");
    }
    return ToGrpcStatus(status);
  }

  uint32_t ProtocolVersion() {
    absl::MutexLock lock(&mu_);
    return protocol_version_;
  }

  IngestService& service_;
  grpc::CallbackServerContext& context_;
  common::PeerIdentity identity_;
  bool opened_ = false;  // Set in the constructor only; read in OnDone.

  absl::Mutex mu_;
  SensorMessage read_msg_;      // Target of the outstanding read (owned by gRPC meanwhile).
  CollectorMessage write_msg_;  // Source of the outstanding write.
  std::deque<SensorMessage> pending_ ABSL_GUARDED_BY(mu_);  // Accepted, not yet stored.
  std::deque<CollectorMessage> out_ ABSL_GUARDED_BY(mu_);   // Replies waiting to be written.
  absl::Status status_ ABSL_GUARDED_BY(mu_);                // First error; ends the stream.
  uint64_t refused_seq_ ABSL_GUARDED_BY(mu_) = 0;           // The batch that caused it, or 0.
  absl::Status end_status_ ABSL_GUARDED_BY(mu_);            // For the closing log line.
  bool hello_seen_ ABSL_GUARDED_BY(mu_) = false;
  uint32_t protocol_version_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool store_busy_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  int starting_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t acked_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace internal

absl::Status IngestServiceOptions::Validate() const {
  if (store_threads < 1 || store_threads > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("store_threads ", store_threads, " is outside 1..1024"));
  }
  if (max_queued_messages < 1 || max_queued_messages > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_queued_messages ", max_queued_messages, " is outside 1..64"));
  }
  if (limits.max_records_per_batch < 1 || limits.max_message_bytes < 1024 ||
      limits.max_future_ns < 0) {
    return absl::InvalidArgumentError("ingest limits must be positive");
  }
  return absl::OkStatus();
}

IngestService::IngestService(Store& store, const Clock& clock, RefusalCounters& refusals,
                             IngestServiceOptions options, RevocationList* revocations)
    : store_(store),
      clock_(clock),
      refusals_(refusals),
      options_(std::move(options)),
      revocations_(revocations),
      pool_(std::make_unique<internal::WorkerPool>(options_.store_threads)) {
  if (revocations_ != nullptr) {
    revocation_listener_ = revocations_->AddListener(
        [this](const std::vector<Revocation>& changed) { CloseRevoked(changed); });
  }
}

IngestService::~IngestService() {
  if (revocations_ != nullptr) {
    revocations_->RemoveListener(revocation_listener_);
  }
  pool_->Stop();
}

grpc::ServerBidiReactor<synmap::v1::SensorMessage, synmap::v1::CollectorMessage>*
IngestService::Stream(grpc::CallbackServerContext* context) {
  return new internal::IngestReactor(*this, *context);
}

IngestStats IngestService::stats() const {
  IngestStats s;
  s.streams_opened = streams_opened_.load(std::memory_order_relaxed);
  s.batches_acked = batches_acked_.load(std::memory_order_relaxed);
  s.duplicates = duplicates_.load(std::memory_order_relaxed);
  s.conflicts = conflicts_.load(std::memory_order_relaxed);
  s.batches_committed = batches_committed_.load(std::memory_order_relaxed);
  s.records_committed = records_committed_.load(std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  s.streams_open = streams_open_;
  return s;
}

void IngestService::StreamOpened(const std::string& sensor) {
  absl::MutexLock lock(&mu_);
  ++open_streams_[sensor];
  ++streams_open_;
}

absl::Status IngestService::ClaimName(const common::PeerIdentity& identity, NameHolder holder) {
  const std::string& sensor = identity.name;
  absl::MutexLock lock(&mu_);
  // Under mu_: a revocation the list learns of after this check finds the stream registered
  // (CloseRevoked takes mu_ after the list is updated).
  if (revocations_ != nullptr) {
    if (std::optional<Revocation> revoked = revocations_->Find(identity)) {
      return RefuseRevoked(identity, *revoked, "Ingest.Stream", refusals_);
    }
  }
  auto [it, inserted] = holders_.try_emplace(sensor, holder);
  if (inserted || it->second.stream == holder.stream) {
    it->second = std::move(holder);
    return absl::OkStatus();
  }
  if (!holder.boot_id.empty() && it->second.boot_id == holder.boot_id) {
    // The same sensor process on a new connection: its old path is dead but not yet noticed.
    // Holding mu_ keeps the old stream's context valid (its OnDone unregisters under mu_).
    SYNMAP_LOG(WARNING) << "ingest_stream_replaced sensor=" << sensor
                        << " old_peer=" << it->second.peer << " new_peer=" << holder.peer;
    it->second.context->TryCancel();
    it->second = std::move(holder);
    return absl::OkStatus();
  }
  return absl::AlreadyExistsError(absl::StrCat(
      "sensor ", sensor, " is already connected from ", it->second.peer,
      "; refusing a second stream from ", holder.peer,
      " (two sensors share one certificate name: give each sensor its own certificate)"));
}

void IngestService::CloseRevoked(const std::vector<Revocation>& changed) {
  std::vector<std::pair<internal::IngestReactor*, absl::Status>> revoked;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, holder] : holders_) {
      const Revocation* revocation = FindRevocation(changed, name, holder.not_before);
      if (revocation == nullptr || !holder.reactor->PinForRevocation()) {
        continue;
      }
      common::PeerIdentity identity;
      identity.name = name;
      identity.role = std::string(common::kRoleSensor);
      identity.address = holder.peer;
      identity.not_before = holder.not_before;
      revoked.emplace_back(holder.reactor,
                           RefuseRevoked(identity, *revocation, "Ingest.Stream", refusals_));
    }
  }
  for (auto& [reactor, status] : revoked) {
    reactor->FinishRevoked(status);
  }
}

void IngestService::StreamClosed(const std::string& sensor, const void* stream) {
  bool last = false;
  {
    absl::MutexLock lock(&mu_);
    if (auto holder = holders_.find(sensor);
        holder != holders_.end() && holder->second.stream == stream) {
      holders_.erase(holder);
    }
    --streams_open_;
    auto it = open_streams_.find(sensor);
    if (it != open_streams_.end() && --it->second == 0) {
      open_streams_.erase(it);
      last = true;
    }
  }
  if (last) {
    store_.RecordDisconnect(sensor);
  }
}

}  // namespace synmap::collector
