#include "sensor/pipeline/pipeline.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/batch/batch.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace synmap::sensor {
namespace {

// The collector refuses batches with more records than this (ingest.proto limits).
constexpr size_t kMaxRecordsPerBatch = common::kMaxRecordsPerBatch;

bool AllLive(const std::vector<std::unique_ptr<PacketSource>>& sources) {
  return std::all_of(sources.begin(), sources.end(),
                     [](const auto& s) { return s != nullptr && s->is_live(); });
}

bool IsMalformed(common::DecodeResult r) {
  return r == common::DecodeResult::kTruncated || r == common::DecodeResult::kBadHeader;
}

}  // namespace

absl::Status PipelineOptions::Validate() const {
  if (flush_interval < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "flush interval ", absl::FormatDuration(flush_interval), ": want at least 1ms"));
  }
  if (max_keys < 1 || max_keys > kMaxRecordsPerBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("max keys ", max_keys, ": want 1..", kMaxRecordsPerBatch));
  }
  if (close_delay < absl::ZeroDuration() || close_delay > flush_interval) {
    return absl::InvalidArgumentError(absl::StrCat(
        "close delay ", absl::FormatDuration(close_delay), ": want 0..flush interval"));
  }
  return table.Validate();
}

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(
    const PipelineOptions& options, std::vector<std::unique_ptr<PacketSource>> sources,
    Clock& clock, BatchSink sink) {
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  if (sources.empty()) {
    return absl::InvalidArgumentError("pipeline: no packet source");
  }
  for (const auto& source : sources) {
    if (source == nullptr) {
      return absl::InvalidArgumentError("pipeline: null packet source");
    }
  }
  if (!sink) {
    return absl::InvalidArgumentError("pipeline: no batch sink");
  }
  return absl::WrapUnique(new Pipeline(options, std::move(sources), clock, std::move(sink)));
}

Pipeline::Pipeline(const PipelineOptions& options,
                   std::vector<std::unique_ptr<PacketSource>> sources, Clock& clock, BatchSink sink)
    : options_(options),
      flush_interval_ns_(absl::ToInt64Nanoseconds(options.flush_interval)),
      sources_(std::move(sources)),
      clock_(clock),
      sink_(std::move(sink)),
      all_live_(AllLive(sources_)),
      table_(options.table),
      windower_(options.flush_interval),
      last_drops_(sources_.size()) {}

Pipeline::~Pipeline() { Stop(); }

absl::Status Pipeline::Start() {
  absl::MutexLock lock(&mu_);
  if (started_ || stopped_) {
    return absl::FailedPreconditionError("pipeline: Start() called twice or after Stop()");
  }
  started_ = true;
  sources_running_ = sources_.size();
  if (all_live_) {
    // A live capture's first window is the one holding "now", packets or not.
    AdvanceLocked(absl::ToUnixNanos(clock_.Now() - options_.close_delay));
  }
  delivery_thread_ = std::thread([this] { DeliveryLoop(); });
  for (size_t i = 0; i < sources_.size(); ++i) {
    capture_threads_.emplace_back([this, i] { CaptureLoop(i); });
  }
  SYNMAP_LOG(INFO) << "pipeline_started sources=" << sources_.size()
                   << " flush_interval=" << absl::FormatDuration(options_.flush_interval)
                   << " max_keys=" << options_.max_keys << " live=" << all_live_;
  return absl::OkStatus();
}

void Pipeline::CaptureLoop(size_t index) {
  PacketSource& source = *sources_[index];
  while (true) {
    absl::StatusOr<size_t> n =
        source.Dispatch([this](const CapturedPacket& packet) { HandlePacket(packet); });
    CollectDrops(index);
    if (!n.ok()) {
      if (absl::IsOutOfRange(n.status())) {
        SYNMAP_LOG(INFO) << "source_done source=" << source.name();
      } else if (!absl::IsCancelled(n.status())) {
        SYNMAP_LOG(ERROR) << "source_failed source=" << source.name() << " status=" << n.status();
        absl::MutexLock lock(&mu_);
        ++stats_.sources_failed;
      }
      break;
    }
    if (all_live_) {
      CloseByWallClock();
    }
  }
  absl::MutexLock lock(&mu_);
  --sources_running_;
}

void Pipeline::HandlePacket(const CapturedPacket& packet) {
  // Decoding needs no lock; only counting does.
  common::SynAckEvent event;
  common::TunnelInfo tunnel;
  const common::DecodeResult result = common::DecodePacket(
      packet.link_type, packet.data, packet.caplen, options_.decode, &event, &tunnel);
  event.timestamp_ns = packet.timestamp_ns;

  absl::MutexLock lock(&mu_);
  AdvanceLocked(packet.timestamp_ns);
  stats_.decode.Count(result, tunnel);
  ++window_stats_.packets_received;
  if (IsMalformed(result)) {
    ++window_stats_.malformed;
  }
  earliest_ns_ = std::min(earliest_ns_.value_or(packet.timestamp_ns), packet.timestamp_ns);
  latest_ns_ = std::max(latest_ns_, packet.timestamp_ns);
  if (result != common::DecodeResult::kSynAck) {
    return;
  }
  if (table_.Add(event) && options_.handshake_fingerprints) {
    handshakes_.Add(event);
  }
  if (table_.key_count() >= options_.max_keys) {
    // Cut just after this packet; the rest of the window goes on in a fresh table.
    const int64_t cut = packet.timestamp_ns + 1;
    CloseLocked(cut);
    cut_start_ns_ = cut;
    ++stats_.early_closes;
  }
}

void Pipeline::CollectDrops(size_t index) {
  absl::StatusOr<DropCounters> drops = sources_[index]->Drops();
  if (!drops.ok()) {
    SYNMAP_LOG_EVERY_N_SEC(WARNING, 60) << "capture_stats_failed source=" << sources_[index]->name()
                                        << " status=" << drops.status();
    return;
  }
  absl::MutexLock lock(&mu_);
  DropCounters& last = last_drops_[index];
  window_stats_.kernel_drops += drops->kernel_drops - last.kernel_drops;
  window_stats_.interface_drops += drops->interface_drops - last.interface_drops;
  last = *drops;
}

void Pipeline::CloseByWallClock() {
  const int64_t due_ns = absl::ToUnixNanos(clock_.Now() - options_.close_delay);
  absl::MutexLock lock(&mu_);
  const std::optional<common::CaptureWindow> open = windower_.current();
  if (!open.has_value() || due_ns >= open->end_ns) {
    AdvanceLocked(due_ns);
  }
}

void Pipeline::AdvanceLocked(int64_t timestamp_ns) {
  const std::optional<common::CaptureWindow> before = windower_.current();
  if (before.has_value() && timestamp_ns < before->start_ns - flush_interval_ns_) {
    // Far behind the open window (e.g. a second file from an earlier day): close the open
    // window rather than lumping this packet into it.
    CloseLocked(before->end_ns);
    windower_.Close();
  }
  if (std::optional<common::CaptureWindow> closed = windower_.Advance(timestamp_ns)) {
    CloseLocked(closed->end_ns);
  }
  const std::optional<common::CaptureWindow> after = windower_.current();
  if (!before.has_value() || !(*before == *after)) {
    cut_start_ns_ = after->start_ns;
  }
}

void Pipeline::CloseLocked(int64_t end_ns) {
  ++stats_.batches_closed;
  const common::SynAckTableStats& totals = table_.stats();
  window_stats_.synacks = totals.synacks - table_stats_at_close_.synacks;
  window_stats_.retransmissions = totals.retransmissions - table_stats_at_close_.retransmissions;
  window_stats_.handshakes_evicted =
      totals.handshakes_evicted - table_stats_at_close_.handshakes_evicted;
  if (totals.late_connections > table_stats_at_close_.late_connections) {
    // Capture time went back by more than the retransmission window (files read out of time
    // order, a clock stepped back): the handshake memory may have forgotten these.
    SYNMAP_LOG(WARNING) << "synacks_out_of_time_order late_connections="
                        << totals.late_connections - table_stats_at_close_.late_connections
                        << " window_end_ns=" << end_ns
                        << " effect=\"each may be a handshake counted twice\"";
  }
  table_stats_at_close_ = totals;

  common::Batch batch;
  batch.records = table_.TakeRecords();
  batch.stats = window_stats_;
  // Out-of-order packets may lie just outside the aligned window: widen it to cover them,
  // so every record's first/last seen lies inside [start, end].
  batch.start_ns = std::min(cut_start_ns_, earliest_ns_.value_or(cut_start_ns_));
  batch.end_ns = std::max(end_ns, earliest_ns_.has_value() ? latest_ns_ + 1 : end_ns);
  if (options_.handshake_fingerprints) {
    batch.handshakes = handshakes_.Take(batch.records, batch.start_ns);
  }
  window_stats_ = common::CaptureStats{};
  earliest_ns_.reset();
  latest_ns_ = 0;
  if (batch.records.empty() && batch.stats == common::CaptureStats{}) {
    return;
  }
  stats_.capture.MergeFrom(batch.stats);
  const common::CaptureStats& total = stats_.capture;
  published_capture_.packets_received.store(total.packets_received, std::memory_order_relaxed);
  published_capture_.kernel_drops.store(total.kernel_drops, std::memory_order_relaxed);
  published_capture_.interface_drops.store(total.interface_drops, std::memory_order_relaxed);
  published_capture_.synacks.store(total.synacks, std::memory_order_relaxed);
  published_capture_.malformed.store(total.malformed, std::memory_order_relaxed);
  queue_.push_back(std::move(batch));
}

void Pipeline::DeliveryLoop() {
  while (true) {
    common::Batch batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Pipeline* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
            return !p->queue_.empty() || p->delivery_done_;
          },
          this));
      if (queue_.empty()) {
        return;
      }
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    const size_t records = batch.records.size();
    const absl::Status status = sink_(std::move(batch));
    absl::MutexLock lock(&mu_);
    if (status.ok()) {
      ++stats_.batches_submitted;
    } else {
      ++stats_.submit_failures;
      SYNMAP_LOG(ERROR) << "batch_lost records=" << records << " status=" << status;
    }
  }
}

bool Pipeline::WaitForSourcesDone(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(
                                  +[](Pipeline* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
                                    return p->sources_running_ == 0;
                                  },
                                  this),
                              timeout);
}

void Pipeline::Interrupt() {
  for (auto& source : sources_) {
    source->Break();
  }
}

void Pipeline::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) {
      return;
    }
    stopped_ = true;
    if (!started_) {
      return;
    }
  }
  Interrupt();
  for (std::thread& t : capture_threads_) {
    t.join();
  }
  // The capture threads are gone: their sources may be read from here.
  for (size_t i = 0; i < sources_.size(); ++i) {
    CollectDrops(i);
  }
  {
    absl::MutexLock lock(&mu_);
    if (std::optional<common::CaptureWindow> open = windower_.Close()) {
      CloseLocked(open->end_ns);
    }
    delivery_done_ = true;
  }
  delivery_thread_.join();
  const PipelineStats totals = stats();
  SYNMAP_LOG(INFO) << "pipeline_stopped packets=" << totals.capture.packets_received
                   << " synacks=" << totals.capture.synacks
                   << " retransmissions=" << totals.capture.retransmissions
                   << " malformed=" << totals.capture.malformed
                   << " kernel_drops=" << totals.capture.kernel_drops
                   << " interface_drops=" << totals.capture.interface_drops
                   << " batches=" << totals.batches_submitted
                   << " lost_batches=" << totals.submit_failures
                   << " early_closes=" << totals.early_closes;
}

PipelineStats Pipeline::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

common::CaptureStats Pipeline::capture_totals() const {
  common::CaptureStats c;
  c.packets_received = published_capture_.packets_received.load(std::memory_order_relaxed);
  c.kernel_drops = published_capture_.kernel_drops.load(std::memory_order_relaxed);
  c.interface_drops = published_capture_.interface_drops.load(std::memory_order_relaxed);
  c.synacks = published_capture_.synacks.load(std::memory_order_relaxed);
  c.malformed = published_capture_.malformed.load(std::memory_order_relaxed);
  return c;
}

}  // namespace synmap::sensor
