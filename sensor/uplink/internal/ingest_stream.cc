#include "sensor/uplink/internal/ingest_stream.h"

#include <utility>

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
  absl::MutexLock lock(mu_);
  events_->status = status;
  events_->ended = true;
  events_->done = true;
}

}  // namespace synmap::sensor::internal
