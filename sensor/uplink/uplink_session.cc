// The uplink thread: connect, Hello/HelloAck, the send window, acks, heartbeats, failover.

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <deque>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "sensor/uplink/internal/uplink_impl.h"
#include "synmap/v1/ingest.grpc.pb.h"

namespace synmap::sensor {
namespace {

constexpr uint32_t kProtocolVersion = 2;  // 2: understands Ack.status CONFLICT.
constexpr int kKeepaliveTimeMs = 20'000;
constexpr int kKeepaliveTimeoutMs = 10'000;
// How long FinishStream waits for OnDone, on a call that has ended, before cancelling it.
constexpr absl::Duration kEndedGrace = absl::Seconds(5);

}  // namespace

void Uplink::Impl::Run() {
  uint64_t attempts = 0;
  while (true) {
    AbsorbPending();
    const std::string target = options_.collectors[collector_index_];
    {
      absl::MutexLock lock(&mu_);
      if (state_ == State::kStopped) {
        break;
      }
      stats_.current_collector = target;
      if (attempts++ > 0) {
        ++stats_.reconnects;
      }
    }
    bool got_hello_ack = false;
    const absl::Status status = RunSession(target, &got_hello_ack);
    {
      absl::MutexLock lock(&mu_);
      if (state_ == State::kStopped) {
        break;
      }
    }
    if (got_hello_ack) {
      backoff_.Reset();
      refused_backoff_.Reset();
      absl::MutexLock lock(&mu_);
      stats_.identity_refused.clear();
    }
    if (absl::IsAlreadyExists(status)) {
      // Another process holds this sensor's name on that collector (a cloned machine or a
      // reused certificate). Retrying fast cannot help; say so plainly and retry slowly.
      SYNMAP_LOG(ERROR) << "uplink_name_in_use target=" << target << " status=" << status
                        << " hint=\"another sensor is connected with this certificate's name; "
                           "give each sensor its own certificate\" retry_in="
                        << absl::FormatDuration(options_.max_backoff);
      collector_index_ = (collector_index_ + 1) % options_.collectors.size();
      WaitBackoff(options_.max_backoff);
      continue;
    }
    // A collector ends an accepted stream with PERMISSION_DENIED only when this sensor's
    // certificate has been revoked: back off as for a refused identity, not reconnect fast.
    if (const std::string refusal = got_hello_ack && !absl::IsPermissionDenied(status)
                                        ? ""
                                        : IdentityRefusal(status, target);
        !refusal.empty()) {
      collector_index_ = (collector_index_ + 1) % options_.collectors.size();
      BackOffRefusedIdentity(target, refusal);
      continue;
    }
    // A refused batch is the batch's fault, not the collector's: stay. Otherwise fail over.
    if (!(got_hello_ack && absl::IsInvalidArgument(status))) {
      collector_index_ = (collector_index_ + 1) % options_.collectors.size();
    }
    const absl::Duration delay = backoff_.Next();
    {
      absl::MutexLock lock(&mu_);
      stats_.retry_delay = delay;
    }
    SYNMAP_LOG(WARNING) << "uplink_disconnected target=" << target << " status=" << status
                        << " next=" << options_.collectors[collector_index_]
                        << " retry_in=" << absl::FormatDuration(delay);
    WaitBackoff(delay);
  }
}

std::string Uplink::Impl::IdentityRefusal(const absl::Status& status,
                                          const std::string& target) const {
  if (absl::IsPermissionDenied(status) || absl::IsUnauthenticated(status)) {
    return std::string(status.message());
  }
  if (absl::IsUnavailable(status) && options_.explain_refusal) {
    return options_.explain_refusal(target);
  }
  return "";
}

void Uplink::Impl::BackOffRefusedIdentity(const std::string& target, const std::string& refusal) {
  const absl::Duration delay = refused_backoff_.Next();
  bool again = false;
  {
    absl::MutexLock lock(&mu_);
    again = stats_.identity_refused == refusal;
    stats_.identity_refused = refusal;
    ++stats_.identity_refusals;
    stats_.retry_delay = delay;
  }
  if (again) {
    SYNMAP_LOG(WARNING) << "uplink_identity_still_refused target=" << target
                        << " retry_in=" << absl::FormatDuration(delay);
  } else {
    SYNMAP_LOG(ERROR) << "uplink_identity_refused target=" << target << " reason=\"" << refusal
                      << "\" retry_in=" << absl::FormatDuration(delay)
                      << " hint=\"retrying slowly (up to every "
                      << absl::FormatDuration(options_.max_refused_backoff)
                      << ") until the certificate is replaced; data keeps being spooled\"";
  }
  WaitBackoff(delay);
}

void Uplink::Impl::WaitBackoff(absl::Duration delay) {
  const absl::Time deadline = clock_.Now() + delay;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return state_ == State::kStopped || !pending_.empty();
      };
      const absl::Duration remaining = deadline - clock_.Now();
      if (state_ == State::kStopped || remaining <= absl::ZeroDuration()) {
        return;
      }
      // While disconnected, new batches still go through the cap policy.
      mu_.AwaitWithTimeout(absl::Condition(&wake), remaining);
      if (state_ == State::kStopped) {
        return;
      }
    }
    AbsorbPending();
  }
}

absl::Status Uplink::Impl::RunSession(const std::string& target, bool* got_hello_ack) {
  grpc::ChannelArguments args;
  if (!options_.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options_.tls_server_name);
  }
  // A private subchannel per attempt: gRPC's own reconnect backoff on a shared subchannel
  // would otherwise keep failing calls after the collector is back, defeating ours.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // HTTP/2 keepalive notices a dead path in ~30 s (ping every 20 s, 10 s to answer), also
  // when no batch is in flight, instead of waiting for ack_timeout. The collector permits
  // pings this frequent (GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS <= 10 s).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  std::unique_ptr<v1::Ingest::StubInterface> stub =
      options_.stub_factory
          ? options_.stub_factory(target)
          : v1::Ingest::NewStub(grpc::CreateCustomChannel(target, options_.credentials, args));
  {
    absl::MutexLock lock(&mu_);
    events_ = internal::StreamEvents();
  }
  internal::IngestStream stream(&mu_, &events_);
  stream.Start(*stub);
  const absl::Status status = Converse(stream, target, got_hello_ack);
  // Converse has returned: no more writes. Cancel the call (harmless if it is over: then
  // FinishStream already ran), release the hold and wait for OnDone before `stream` dies.
  FinishStream(stream, /*cancel=*/true);
  absl::MutexLock lock(&mu_);
  stats_.connected = false;
  return status;
}

grpc::Status Uplink::Impl::FinishStream(internal::IngestStream& stream, bool cancel) {
  if (cancel) {
    stream.Cancel();
  }
  stream.Release();
  {
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&events_.done), kEndedGrace)) {
      return events_.status;
    }
  }
  // A call whose read or write failed is over, so OnDone is due; never wait for it forever.
  SYNMAP_LOG(WARNING) << "uplink_stream_not_done_after_end grace="
                      << absl::FormatDuration(kEndedGrace) << " action=cancel";
  stream.Cancel();
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&events_.done));
  return events_.status;
}

v1::SensorMessage Uplink::Impl::HelloMessage() const {
  v1::SensorMessage msg;
  v1::Hello* hello = msg.mutable_hello();
  hello->set_protocol_version(kProtocolVersion);
  hello->set_software_version(options_.software_version);
  for (const std::string& iface : options_.interfaces) {
    hello->add_interfaces(iface);
  }
  hello->set_filter(options_.filter);
  hello->set_boot_id(options_.boot_id);
  hello->set_site(options_.site);
  hello->set_flush_interval_ns(absl::ToInt64Nanoseconds(options_.flush_interval));
  absl::MutexLock lock(&mu_);
  *hello->mutable_health() = HealthLocked();
  return msg;
}

absl::Status Uplink::Impl::AwaitHelloAck(internal::IngestStream& stream,
                                         const std::string& target) {
  const absl::Time deadline = clock_.Now() + options_.connect_timeout;
  v1::CollectorMessage first;
  bool ended = false;
  {
    absl::MutexLock lock(&mu_);
    // The stream holds the call open, so its end shows as `ended` (never `done` yet).
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return state_ == State::kStopped || events_.ended || !events_.inbox.empty();
    };
    while (!ready()) {
      const absl::Duration remaining = deadline - clock_.Now();
      if (remaining <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(
            absl::StrCat("no HelloAck from ", target, " within ",
                         absl::FormatDuration(options_.connect_timeout)));
      }
      mu_.AwaitWithTimeout(absl::Condition(&ready), remaining);
    }
    if (state_ == State::kStopped) {
      return absl::CancelledError("uplink stopping");
    }
    ended = events_.inbox.empty();  // Then `ended` is true: the call is over.
    if (!ended) {
      first = std::move(events_.inbox.front());
      events_.inbox.pop_front();
    }
  }
  if (ended) {
    const grpc::Status end = FinishStream(stream, /*cancel=*/false);
    return Annotate(FromGrpcStatus(end), absl::StrCat("stream to ", target));
  }
  if (!first.has_hello_ack()) {
    return absl::UnavailableError(
        absl::StrCat("protocol error: first message from ", target, " is not a HelloAck"));
  }
  return HandleHelloAck(first.hello_ack(), target);
}

absl::Status Uplink::Impl::HandleHelloAck(const v1::HelloAck& ack, const std::string& target) {
  const uint64_t committed = ack.last_committed_seq();
  {
    // Held from absorbing to renumbering: no seq may be assigned in between.
    absl::MutexLock submit_lock(&submit_mu_);
    AbsorbPending();
    if (seq_.fresh()) {
      SYNMAP_RETURN_IF_ERROR(ReconcileFreshSpool(committed));
    }
    if (committed > seq_.last()) {
      // The collector knows seqs this spool never assigned (spool or seq file lost): move
      // past them, or new batches would be taken for duplicates.
      SYNMAP_LOG(WARNING) << "uplink_seq_behind_collector last_assigned=" << seq_.last()
                          << " last_committed=" << committed;
      const absl::Status advanced = seq_.AdvancePast(committed);
      if (!advanced.ok()) {
        SYNMAP_LOG(ERROR) << "uplink_seq_advance_failed status=" << advanced;
      }
    }
  }
  // A seq alone never proves a batch committed: a spool restored from a backup, a clone or a
  // forged batch may have put other content under it. Files at or below `committed` are sent
  // again and the collector answers per batch (duplicate: same content, deleted; conflict:
  // renumbered above its history). Everything above `committed` is uncommitted (a collector
  // commits only seqs above its highest), so it may be merged again.
  uint64_t behind = 0;
  for (const auto& [seq, entry] : spool_->entries()) {
    behind += seq <= committed ? 1 : 0;
  }
  spool_->MarkAllUnsent(committed);
  absl::MutexLock lock(&mu_);
  stats_.connected = true;
  PublishLocked();
  SYNMAP_LOG(INFO) << "uplink_connected target=" << target << " sensor=" << ack.sensor_name()
                   << " last_committed=" << committed << " spool_batches=" << stats_.spool_batches
                   << " resent_for_content_check=" << behind;
  return absl::OkStatus();
}

absl::Status Uplink::Impl::ReconcileFreshSpool(uint64_t committed) {
  const auto& entries = spool_->entries();
  if (!entries.empty() && entries.begin()->first <= committed) {
    // No batch of a fresh counter was ever sent before this HelloAck, so the collector's
    // seqs belong to an earlier spool of this sensor: ours are new data. Deleting them as
    // committed would lose them; renumber them above the collector's history, in order.
    const uint64_t base = std::max(committed, seq_.last());
    const uint64_t count = entries.size();
    const uint64_t first_old = entries.begin()->first;
    const uint64_t last_old = entries.rbegin()->first;
    SYNMAP_RETURN_IF_ERROR(seq_.AdvancePast(base + count));  // Before any new file exists.
    SYNMAP_RETURN_IF_ERROR(spool_->RenumberAbove(base));
    SYNMAP_LOG(WARNING) << "uplink_spool_reset_renumbered batches=" << count
                        << " old_seqs=" << first_old << ".." << last_old << " new_seqs=" << base + 1
                        << ".." << base + count << " last_committed=" << committed;
    absl::MutexLock lock(&mu_);
    PublishLocked();
  }
  return seq_.ConfirmHistory();
}

absl::Status Uplink::Impl::HandleStreamEnd(const grpc::Status& end, const InFlight& in_flight) {
  const absl::Status status = FromGrpcStatus(end);
  if (!absl::IsInvalidArgument(status)) {
    return status;
  }
  // The collector refused a batch: keep it for inspection, never resend it. Only the batch
  // the collector names (trailing metadata) is set aside: guessing (say, the oldest in flight)
  // could quarantine a good batch, which the map would then miss.
  std::optional<uint64_t> seq;
  {
    absl::MutexLock lock(&mu_);
    seq = events_.refused_seq;
  }
  if (seq.has_value() && in_flight.count(*seq) != 0 && spool_->entries().count(*seq) != 0) {
    spool_->Quarantine(*seq, absl::StrCat("refused by collector: ", status.message()));
    absl::MutexLock lock(&mu_);
    PublishLocked();
  } else {
    SYNMAP_LOG(ERROR) << "uplink_refused_unknown_batch status=" << status << " named_seq="
                      << (seq.has_value() ? absl::StrCat(*seq) : std::string("none"));
  }
  return status;
}

bool Uplink::Impl::SendNextBatch(internal::IngestStream& stream, InFlight& in_flight) {
  while (in_flight.size() < options_.max_in_flight) {
    const std::optional<uint64_t> seq = spool_->NextUnsent();
    if (!seq.has_value()) {
      return false;
    }
    absl::StatusOr<v1::Batch> batch = spool_->Read(*seq);
    if (!batch.ok()) {
      spool_->Quarantine(*seq, batch.status().message());
      absl::MutexLock lock(&mu_);
      PublishLocked();
      continue;
    }
    v1::SensorMessage msg;
    *msg.mutable_batch() = std::move(*batch);
    {
      absl::MutexLock lock(&mu_);
      *msg.mutable_batch()->mutable_health() = ReportHealthLocked();
      ++stats_.batches_sent;
    }
    spool_->MarkSent(*seq);
    in_flight[*seq] = clock_.Now();
    stream.Write(std::move(msg));
    return true;
  }
  return false;
}

absl::Status Uplink::Impl::Converse(internal::IngestStream& stream, const std::string& target,
                                    bool* got_hello_ack) {
  stream.Write(HelloMessage());
  SYNMAP_RETURN_IF_ERROR(AwaitHelloAck(stream, target));
  *got_hello_ack = true;
  InFlight in_flight;  // seq -> when it was written.
  absl::Time last_write = clock_.Now();
  while (true) {
    AbsorbPending();
    for (auto it = in_flight.begin(); it != in_flight.end();) {  // Dropped at the cap.
      it = spool_->entries().count(it->first) == 0 ? in_flight.erase(it) : std::next(it);
    }
    std::deque<v1::CollectorMessage> inbox;
    bool ended = false;
    bool write_pending = false;
    {
      absl::MutexLock lock(&mu_);
      if (state_ == State::kStopped) {
        return absl::CancelledError("uplink stopping");
      }
      // Every message read before the call ended is in the inbox by the time `ended` is set.
      ended = events_.ended;
      inbox.swap(events_.inbox);
      write_pending = events_.write_pending;
    }
    SYNMAP_RETURN_IF_ERROR(HandleAcks(inbox, target, in_flight));
    if (ended) {
      // Start nothing more: let OnDone come and bring the final status (e.g. a refusal).
      return HandleStreamEnd(FinishStream(stream, /*cancel=*/false), in_flight);
    }
    const absl::Time now = clock_.Now();
    for (const auto& [seq, sent_at] : in_flight) {
      if (now - sent_at >= options_.ack_timeout) {
        return absl::DeadlineExceededError(
            absl::StrCat("no ack for seq ", seq, " from ", target, " within ",
                         absl::FormatDuration(options_.ack_timeout)));
      }
    }
    if (!write_pending && WriteNext(stream, in_flight, last_write, now)) {
      last_write = now;
      continue;
    }
    absl::Time wake_at = last_write + options_.heartbeat_interval;
    for (const auto& [seq, sent_at] : in_flight) {
      wake_at = std::min(wake_at, sent_at + options_.ack_timeout);
    }
    WaitForStreamEvent(write_pending, wake_at);
  }
}

absl::Status Uplink::Impl::HandleAcks(const std::deque<v1::CollectorMessage>& inbox,
                                      const std::string& target, InFlight& in_flight) {
  for (const v1::CollectorMessage& msg : inbox) {
    if (!msg.has_ack()) {
      return absl::UnavailableError(
          absl::StrCat("protocol error: ", target, " sent a message other than Ack"));
    }
    in_flight.erase(msg.ack().seq());
    if (msg.ack().status() == v1::ACK_STATUS_CONFLICT) {
      SYNMAP_RETURN_IF_ERROR(RenumberConflicted(msg.ack().seq(), msg.ack().last_committed_seq()));
      continue;
    }
    if (msg.ack().status() != v1::ACK_STATUS_COMMITTED) {
      return absl::UnavailableError(absl::StrCat("protocol error: ", target,
                                                 " sent an unknown ack status ",
                                                 static_cast<int>(msg.ack().status())));
    }
    // An ack for a seq no longer spooled (dropped at the cap) changes nothing.
    if (spool_->Remove(msg.ack().seq())) {
      absl::MutexLock lock(&mu_);
      ++stats_.batches_acked;
      stats_.duplicates += msg.ack().duplicate() ? 1 : 0;
      PublishLocked();
    }
  }
  return absl::OkStatus();
}

absl::Status Uplink::Impl::RenumberConflicted(uint64_t seq, uint64_t last_committed) {
  if (spool_->entries().count(seq) == 0) {
    return absl::OkStatus();  // Dropped at the cap meanwhile.
  }
  uint64_t to = 0;
  {
    absl::MutexLock submit_lock(&submit_mu_);
    SYNMAP_RETURN_IF_ERROR(Annotate(seq_.AdvancePast(last_committed), "renumber conflicted batch"));
    SYNMAP_ASSIGN_OR_RETURN(to, seq_.Next());
    // Under submit_mu_: `to` must be the highest seq on disk when the file appears.
    const absl::Status moved = spool_->Renumber(seq, to);
    if (!moved.ok() && !absl::IsDataLoss(moved) && !absl::IsNotFound(moved)) {
      return Annotate(moved, absl::StrCat("renumber conflicted batch seq ", seq));
    }
  }
  SYNMAP_LOG(WARNING) << "uplink_batch_conflict_renumbered old_seq=" << seq << " new_seq=" << to
                      << " last_committed=" << last_committed
                      << " reason=\"the collector holds other content under this seq\"";
  absl::MutexLock lock(&mu_);
  ++stats_.batches_renumbered;
  PublishLocked();
  return absl::OkStatus();
}

bool Uplink::Impl::WriteNext(internal::IngestStream& stream, InFlight& in_flight,
                             absl::Time last_write, absl::Time now) {
  if (SendNextBatch(stream, in_flight)) {
    return true;
  }
  v1::SensorMessage msg;
  {
    absl::MutexLock lock(&mu_);
    // Due every heartbeat_interval, and at once when the spool has just drained: the collector
    // still holds the backlog of the last batch's health, which counted the batches in flight.
    const bool drained = in_flight.empty() && pending_.empty() && stats_.spool_batches == 0;
    if (now - last_write < options_.heartbeat_interval && !(drained && reported_backlog_ != 0)) {
      return false;
    }
    *msg.mutable_heartbeat()->mutable_health() = ReportHealthLocked();
  }
  msg.mutable_heartbeat()->set_sent_unix_ns(absl::ToUnixNanos(now));
  stream.Write(std::move(msg));
  return true;
}

void Uplink::Impl::WaitForStreamEvent(bool write_pending, absl::Time wake_at) {
  absl::MutexLock lock(&mu_);
  auto wake = [this, write_pending]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return state_ == State::kStopped || !pending_.empty() || !events_.inbox.empty() ||
           events_.ended || (write_pending && !events_.write_pending);
  };
  mu_.AwaitWithTimeout(absl::Condition(&wake), wake_at - clock_.Now());
}

}  // namespace synmap::sensor
