#include "sensor/uplink/internal/ingest_stream.h"

#include <utility>

namespace synmap::sensor::internal {

void IngestStream::Start(v1::Ingest::StubInterface& stub) {
  // Fail fast when the collector is unreachable: the uplink owns retries and failover.
  context_.set_wait_for_ready(false);
  stub.async()->Stream(&context_, this);
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

void IngestStream::OnWriteDone(bool /*ok*/) {
  // A failed write means the call is ending; OnDone reports why.
  absl::MutexLock lock(mu_);
  events_->write_pending = false;
}

void IngestStream::OnReadDone(bool ok) {
  if (!ok) {
    return;  // The server finished or the call broke; OnDone follows.
  }
  {
    absl::MutexLock lock(mu_);
    events_->inbox.push_back(std::move(in_));
  }
  in_.Clear();
  StartRead(&in_);
}

void IngestStream::OnDone(const grpc::Status& status) {
  absl::MutexLock lock(mu_);
  events_->status = status;
  events_->done = true;
}

}  // namespace synmap::sensor::internal
