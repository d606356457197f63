#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include <cstdint>
#include <deque>
#include <optional>

#include "absl/synchronization/mutex.h"
#include "synmap/v1/ingest.grpc.pb.h"

namespace synmap::sensor::internal {

// What one stream has reported so far. Owned by the uplink, guarded by its mutex.
struct StreamEvents {
  bool write_pending = false;  // A Write() has not completed yet.
  bool ended = false;          // A read or a write failed: the call is over.
  bool done = false;           // OnDone ran: the reactor may be destroyed.
  grpc::Status status;         // Final status once done.
  // Once done: the batch the collector named as the cause of the end (its trailing metadata
  // common::kRefusedSeqMetadataKey), if it named one.
  std::optional<uint64_t> refused_seq;
  std::deque<v1::CollectorMessage> inbox;  // Messages read and not yet taken.
};

// One Ingest.Stream call on the gRPC callback API. Its reactions run on gRPC threads and
// only update `*events` under `*mu`, so the owner can Await them. Borrows `mu` and `events`,
// which must outlive the call.
//
// Lifetime: the owner's thread starts writes from outside the reactions, so Start() takes a
// gRPC hold: until Release(), gRPC neither runs OnDone nor frees the call, and Write() and
// Cancel() are always safe (on a call that is over, a write just fails). While the hold is
// held, the end of the call shows as events->ended (OnReadDone(false) or a failed write),
// never as events->done. The owner must: call Release() once it will start no more writes
// (normally after seeing `ended`, or after Cancel()), then wait for events->done, and only
// then destroy the stream. Start(), Write(), Cancel() and Release() may run reactions
// inline: never call them with `*mu` held. All four belong to one thread (the owner's).
class IngestStream final : public grpc::ClientBidiReactor<v1::SensorMessage, v1::CollectorMessage> {
 public:
  IngestStream(absl::Mutex* mu, StreamEvents* events) : mu_(mu), events_(events) {}
  IngestStream(const IngestStream&) = delete;
  IngestStream& operator=(const IngestStream&) = delete;

  // Starts the call on `stub` (which must outlive the call) and the first read, holding the
  // call open for Write(). Once.
  void Start(v1::Ingest::StubInterface& stub);
  // Starts writing `message`. Only after Start() and before Release(); the caller must have
  // seen events->write_pending == false.
  void Write(v1::SensorMessage message);
  // Cancels the call (ClientContext::TryCancel). Idempotent; safe at any time after Start().
  void Cancel() { context_.TryCancel(); }
  // Gives up the hold taken by Start(): no Write() may follow. OnDone (events->done) comes
  // once the call is over. Idempotent.
  void Release();

 private:
  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  absl::Mutex* const mu_;
  StreamEvents* const events_;
  grpc::ClientContext context_;
  bool held_ = false;        // The hold taken by Start() is outstanding. Owner's thread only.
  v1::SensorMessage out_;    // Belongs to the write in flight.
  v1::CollectorMessage in_;  // Belongs to the read in flight.
};

}  // namespace synmap::sensor::internal
