#include "sensor/uplink/internal/ingest_stream.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "common/batch/batch_codec.h"

namespace synmap::sensor::internal {

void IngestStream::Start(v1::Ingest::StubInterface& stub) {
  // Fail fast when the collector is unreachable: the uplink owns retries and failover.
  context_.set_wait_for_ready(false);
  stub.async()->Stream(&context_, this);
  // Writes come from the owner's thread, outside the reactions: without a hold, a call that
  // fails fast would run OnDone and free itself under a concurrent StartWrite. The hold must
  // be added before StartCall.
  AddHold();
  held_ = true;
  StartRead(&in_);
  StartCall();
}

void IngestStream::Write(v1::SensorMessage message) {
  {
    absl::MutexLock lock(mu_);
    events_->write_pending = true;
  }
  out_ = std::move(message);
  StartWrite(&out_);
}

void IngestStream::Release() {
  if (held_) {
    held_ = false;
    RemoveHold();
  }
}

void IngestStream::OnWriteDone(bool ok) {
  absl::MutexLock lock(mu_);
  events_->write_pending = false;
  if (!ok) {
    events_->ended = true;  // Writes fail only once the call is over; OnDone reports why.
  }
}

void IngestStream::OnReadDone(bool ok) {
  if (!ok) {
    // The server finished or the call broke. No more reads; OnDone follows the Release().
    absl::MutexLock lock(mu_);
    events_->ended = true;
    return;
  }
  {
    absl::MutexLock lock(mu_);
    events_->inbox.push_back(std::move(in_));
  }
  in_.Clear();
  StartRead(&in_);
}

void IngestStream::OnDone(const grpc::Status& status) {
  // gRPC has already freed the call; this is the last use of the reactor by gRPC, and the
  // owner may destroy it as soon as `done` is seen.
  std::optional<uint64_t> refused_seq;
  const auto& trailers = context_.GetServerTrailingMetadata();
  if (auto it = trailers.find(common::kRefusedSeqMetadataKey); it != trailers.end()) {
    uint64_t seq = 0;
    if (absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &seq) &&
        seq != 0) {
      refused_seq = seq;
    }
  }
  absl::MutexLock lock(mu_);
  events_->refused_seq = refused_seq;
  events_->status = status;
  events_->ended = true;
  events_->done = true;
}

}  // namespace synmap::sensor::internal
