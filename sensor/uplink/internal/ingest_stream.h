#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include <deque>

#include "absl/synchronization/mutex.h"
#include "synmap/v1/ingest.grpc.pb.h"

namespace synmap::sensor::internal {

// What one stream has reported so far. Owned by the uplink, guarded by its mutex.
struct StreamEvents {
  bool write_pending = false;              // A Write() has not completed yet.
  bool done = false;                       // OnDone ran: the call is over.
  grpc::Status status;                     // Final status once done.
  std::deque<v1::CollectorMessage> inbox;  // Messages read and not yet taken.
};

// One Ingest.Stream call on the gRPC callback API. Its reactions run on gRPC threads and
// only update `*events` under `*mu`, so the owner can Await them. Borrows `mu` and `events`,
// which must outlive the call. The owner must not destroy it before events->done is true.
// Start(), Write() and Cancel() may run reactions inline: never call them with `*mu` held.
class IngestStream final : public grpc::ClientBidiReactor<v1::SensorMessage, v1::CollectorMessage> {
 public:
  IngestStream(absl::Mutex* mu, StreamEvents* events) : mu_(mu), events_(events) {}
  IngestStream(const IngestStream&) = delete;
  IngestStream& operator=(const IngestStream&) = delete;

  // Starts the call on `stub` (which must outlive the call) and the first read. Once.
  void Start(v1::Ingest::StubInterface& stub);
  // Starts writing `message`; the caller must have seen events->write_pending == false.
  void Write(v1::SensorMessage message);
  // Cancels the call (ClientContext::TryCancel). Idempotent.
  void Cancel() { context_.TryCancel(); }

 private:
  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  absl::Mutex* const mu_;
  StreamEvents* const events_;
  grpc::ClientContext context_;
  v1::SensorMessage out_;    // Belongs to the write in flight.
  v1::CollectorMessage in_;  // Belongs to the read in flight.
};

}  // namespace synmap::sensor::internal
