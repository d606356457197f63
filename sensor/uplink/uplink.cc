#include "sensor/uplink/uplink.h"

#include <memory>
#include <random>
#include <string>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "sensor/uplink/internal/batch_codec.h"
#include "sensor/uplink/internal/seq_counter.h"
#include "sensor/uplink/internal/spool.h"
#include "sensor/uplink/internal/spool_file.h"
#include "sensor/uplink/internal/uplink_impl.h"

namespace synmap::sensor {
namespace {

// A seq varint and field tag at most: the spool file of a batch is this much larger than
// the batch encoded without its seq.
constexpr uint64_t kSeqFieldBytes = 11;
// How long a drained Drain() waits for the heartbeat that reports the empty backlog.
constexpr absl::Duration kDrainReportGrace = absl::Seconds(2);

std::string RandomHex128() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  return absl::StrFormat("%016x%016x", gen(), gen());
}

}  // namespace

namespace internal {
std::function<double()> DefaultJitter() {
  auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
  // Only the uplink thread draws from it.
  return [gen]() { return std::uniform_real_distribution<double>(0.0, 1.0)(*gen); };
}
}  // namespace internal

absl::Status UplinkOptions::Validate() const {
  if (collectors.empty()) {
    return absl::InvalidArgumentError("uplink: at least one collector address is required");
  }
  for (const std::string& c : collectors) {
    if (c.empty()) {
      return absl::InvalidArgumentError("uplink: empty collector address");
    }
  }
  if (credentials == nullptr && !stub_factory) {
    return absl::InvalidArgumentError("uplink: credentials are required (mTLS)");
  }
  if (spool_dir.empty()) {
    return absl::InvalidArgumentError("uplink: spool_dir is required");
  }
  if (spool_max_bytes < 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("uplink: spool_max_bytes must be >= 1024, got ", spool_max_bytes));
  }
  if (max_in_flight < 1) {
    return absl::InvalidArgumentError("uplink: max_in_flight must be >= 1");
  }
  const std::pair<const char*, absl::Duration> positive[] = {
      {"heartbeat_interval", heartbeat_interval},
      {"initial_backoff", initial_backoff},
      {"max_backoff", max_backoff},
      {"connect_timeout", connect_timeout},
      {"ack_timeout", ack_timeout}};
  for (const auto& [name, d] : positive) {
    if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "uplink: ", name, " must be positive and finite, got ", absl::FormatDuration(d)));
    }
  }
  if (initial_backoff > max_backoff) {
    return absl::InvalidArgumentError("uplink: initial_backoff must be <= max_backoff");
  }
  if (max_refused_backoff < max_backoff || max_refused_backoff == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        "uplink: max_refused_backoff must be finite and >= max_backoff");
  }
  return absl::OkStatus();
}

absl::Status Uplink::Impl::Start() {
  absl::MutexLock lock(&mu_);
  if (state_ != State::kCreated) {
    return absl::FailedPreconditionError("uplink: Start() called twice or after Stop()");
  }
  state_ = State::kRunning;
  thread_ = std::thread(&Impl::Run, this);
  SYNMAP_LOG(INFO) << "uplink_started collectors=" << options_.collectors.size()
                   << " spool_dir=" << options_.spool_dir
                   << " spool_batches=" << stats_.spool_batches
                   << " max_in_flight=" << options_.max_in_flight;
  return absl::OkStatus();
}

absl::Status Uplink::Impl::Submit(common::Batch batch) {
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kCreated) {
      return absl::FailedPreconditionError("uplink: Submit() before Start()");
    }
    if (state_ == State::kStopped) {
      return absl::CancelledError("uplink: stopped");
    }
  }
  // Past this point a refused batch is lost: counted, so the loss reaches the collector in
  // the next batch's or heartbeat's health.
  const uint64_t records = batch.records.size();
  auto lost = [this, records](absl::Status status) {
    absl::MutexLock lock(&mu_);
    ++stats_.batches_lost_write_failed;
    stats_.records_lost_write_failed += records;
    return status;
  };
  if (batch.records.size() > internal::kMaxRecordsPerBatch) {
    return lost(absl::InvalidArgumentError(absl::StrCat("uplink: batch has ", batch.records.size(),
                                                        " records, limit ",
                                                        internal::kMaxRecordsPerBatch)));
  }
  v1::Batch proto = internal::BatchToProto(batch, /*seq=*/0);
  const uint64_t file_bytes = proto.ByteSizeLong() + kSeqFieldBytes + internal::kSpoolHeaderBytes;
  if (file_bytes > options_.spool_max_bytes) {
    return lost(absl::ResourceExhaustedError(absl::StrCat("uplink: batch of ", file_bytes,
                                                          " bytes exceeds spool_max_bytes ",
                                                          options_.spool_max_bytes)));
  }
  absl::MutexLock submit_lock(&submit_mu_);
  absl::StatusOr<uint64_t> next_seq = seq_.Next();
  if (!next_seq.ok()) {
    return lost(next_seq.status());
  }
  const uint64_t seq = *next_seq;
  proto.set_seq(seq);
  absl::StatusOr<internal::SpoolEntry> entry = internal::WriteSpoolBatch(options_.spool_dir, proto);
  if (!entry.ok()) {
    return lost(Annotate(entry.status(), absl::StrCat("spool batch seq ", seq)));
  }
  absl::MutexLock lock(&mu_);
  pending_.push_back(*entry);
  ++stats_.batches_spooled;
  return absl::OkStatus();
}

absl::Status Uplink::Impl::Drain(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  if (state_ == State::kCreated) {
    return absl::FailedPreconditionError("uplink: Drain() before Start()");
  }
  auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pending_.empty() && stats_.spool_batches == 0;
  };
  auto done = [this, &drained]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return state_ == State::kStopped || drained();
  };
  mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  if (drained()) {
    // Best effort, briefly: let the heartbeat that reports the empty backlog be written, so the
    // collector does not keep showing the batches that were in flight before the last acks.
    auto reported = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return state_ == State::kStopped || !stats_.connected ||
             (reported_backlog_ == 0 && !events_.write_pending);
    };
    mu_.AwaitWithTimeout(absl::Condition(&reported), kDrainReportGrace);
    return absl::OkStatus();
  }
  if (state_ == State::kStopped) {
    return absl::CancelledError("uplink: stopped while draining");
  }
  return absl::DeadlineExceededError(
      absl::StrCat("uplink: ", stats_.spool_batches + pending_.size(),
                   " batches still unacked after ", absl::FormatDuration(timeout)));
}

void Uplink::Impl::Stop() {
  bool was_running = false;
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kStopped) {
      // Another caller is stopping: return only once it has joined the thread.
      mu_.Await(absl::Condition(&joined_));
      return;
    }
    was_running = state_ == State::kRunning;
    state_ = State::kStopped;
  }
  if (was_running) {
    thread_.join();
    SYNMAP_LOG(INFO) << "uplink_stopped";
  }
  absl::MutexLock lock(&mu_);
  joined_ = true;
}

UplinkStats Uplink::Impl::stats() const {
  absl::MutexLock lock(&mu_);
  return StatsLocked();
}

bool Uplink::Impl::AwaitStats(const std::function<bool(const UplinkStats&)>& pred,
                              absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto holds = [this, &pred]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return pred(StatsLocked()); };
  return mu_.AwaitWithTimeout(absl::Condition(&holds), timeout);
}

UplinkStats Uplink::Impl::StatsLocked() const {
  UplinkStats s = stats_;
  s.spool_batches += pending_.size();
  for (const internal::SpoolEntry& e : pending_) {
    s.spool_bytes += e.bytes;
  }
  return s;
}

void Uplink::Impl::PublishLocked() {
  const internal::SpoolCounters& c = spool_->counters();
  stats_.batches_merged = c.batches_merged;
  stats_.batches_dropped = c.batches_dropped;
  stats_.records_dropped = c.records_dropped;
  stats_.batches_quarantined = c.batches_quarantined;
  stats_.spool_batches = spool_->entries().size();
  stats_.spool_bytes = spool_->bytes();
}

v1::SensorHealth Uplink::Impl::HealthLocked() const {
  const UplinkStats& s = stats_;
  v1::SensorHealth h;
  h.set_spool_batches(s.spool_batches + pending_.size());
  uint64_t bytes = s.spool_bytes;
  for (const internal::SpoolEntry& e : pending_) {
    bytes += e.bytes;
  }
  h.set_spool_bytes(bytes);
  h.set_batches_merged(s.batches_merged);
  h.set_batches_dropped(s.batches_dropped);
  h.set_records_dropped(s.records_dropped);
  h.set_batches_quarantined(s.batches_quarantined);
  h.set_batches_lost_write_failed(s.batches_lost_write_failed);
  h.set_records_lost_write_failed(s.records_lost_write_failed);
  h.set_uptime_ns(absl::ToInt64Nanoseconds(clock_.Now() - created_at_));
  return h;
}

v1::SensorHealth Uplink::Impl::ReportHealthLocked() {
  v1::SensorHealth h = HealthLocked();
  reported_backlog_ = h.spool_batches();
  return h;
}

void Uplink::Impl::AbsorbPending() {
  absl::MutexLock lock(&mu_);
  for (const internal::SpoolEntry& e : pending_) {
    spool_->Add(e);
  }
  pending_.clear();
  if (spool_->bytes() > options_.spool_max_bytes) {
    // Merging and dropping do file I/O: not under the lock. Drain() still sees the batches,
    // which are indexed in spool_ and published before the lock is released below.
    PublishLocked();
    mu_.Unlock();
    spool_->EnforceCap(options_.spool_max_bytes);
    mu_.Lock();
  }
  PublishLocked();
}

// --- Uplink: the public face, forwarding to Impl. ---

absl::StatusOr<std::unique_ptr<Uplink>> Uplink::Create(UplinkOptions options, Clock& clock) {
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  if (options.boot_id.empty()) {
    options.boot_id = RandomHex128();
  }
  absl::StatusOr<std::unique_ptr<internal::Spool>> spool = internal::Spool::Open(options.spool_dir);
  if (!spool.ok()) {
    return Annotate(spool.status(), "uplink: open spool");
  }
  absl::StatusOr<internal::SeqCounter> seq =
      internal::SeqCounter::Open(options.spool_dir, (*spool)->highest_seq_seen());
  if (!seq.ok()) {
    return Annotate(seq.status(), "uplink: read seq counter");
  }
  auto impl = std::make_unique<Impl>(std::move(options), clock, std::move(*spool), std::move(*seq));
  return absl::WrapUnique(new Uplink(std::move(impl)));
}

Uplink::Uplink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Uplink::~Uplink() { Stop(); }
absl::Status Uplink::Start() { return impl_->Start(); }
absl::Status Uplink::Submit(common::Batch batch) { return impl_->Submit(std::move(batch)); }
absl::Status Uplink::Drain(absl::Duration timeout) { return impl_->Drain(timeout); }
void Uplink::Stop() { impl_->Stop(); }
UplinkStats Uplink::stats() const { return impl_->stats(); }
bool Uplink::AwaitStats(const std::function<bool(const UplinkStats&)>& pred,
                        absl::Duration timeout) const {
  return impl_->AwaitStats(pred, timeout);
}

}  // namespace synmap::sensor
