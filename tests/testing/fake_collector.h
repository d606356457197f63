#pragma once

// A fake collector for testing the sensor's uplink without the real collector: a scripted
// Ingest service (acks, holds, conflicts, refusals, a silent or role-denying collector) whose
// state survives server restarts, served by a real gRPC server over mutual TLS on loopback or
// in-process only (no network) through the uplink's stub factory.

#include <grpcpp/server.h>
#include <grpcpp/server_context.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/tls/tls_files.h"
#include "synmap/v1/ingest.grpc.pb.h"

namespace synmap::testing {

namespace v1 = ::synmap::v1;

// How long WaitUntil waits.
inline constexpr absl::Duration kFakeCollectorWait = absl::Seconds(20);

// What the test collector has seen and committed. Shared by successive server instances so a
// "restarted collector" keeps its database. Thread-safe.
class FakeCollectorState {
 public:
  // Behaviour knobs (set before the sensor connects, or under the lock via the setters).
  void set_send_acks(bool v) { Set(&FakeCollectorState::send_acks_, v); }
  void set_commit(bool v) { Set(&FakeCollectorState::commit_, v); }
  void set_refuse_seq(uint64_t v) { Set(&FakeCollectorState::refuse_seq_, v); }
  // Whether a refused batch is named in the trailing metadata (default true, as the collector).
  void set_name_refused_seq(bool v) { Set(&FakeCollectorState::name_refused_seq_, v); }
  void set_report_zero_committed(bool v) { Set(&FakeCollectorState::report_zero_committed_, v); }
  void set_silent(bool v) { Set(&FakeCollectorState::silent_, v); }
  // Every stream is ended with PERMISSION_DENIED right after its Hello (a role not allowed).
  void set_deny_role(bool v) { Set(&FakeCollectorState::deny_role_, v); }
  // Marks `seq` committed with unknown content (any resend is a duplicate).
  void PreCommit(uint64_t seq) {
    absl::MutexLock l(&mu_);
    committed_.insert(seq);
  }
  // Marks `seq` committed with content no sensor batch has (a forged batch, a clone's).
  void PreCommitOther(uint64_t seq) {
    absl::MutexLock l(&mu_);
    committed_.insert(seq);
    contents_[seq] = "other";
  }

  // Commits and acks every batch received while acks were held, then acks as they come.
  void ReleaseAcks() {
    absl::MutexLock l(&mu_);
    send_acks_ = true;
    commit_ = true;
    if (stream_ == nullptr) return;
    for (const uint64_t seq : held_) {
      v1::CollectorMessage ack;
      ack.mutable_ack()->set_seq(seq);
      ack.mutable_ack()->set_duplicate(!committed_.insert(seq).second);
      stream_->Write(ack);
    }
    held_.clear();
  }

  bool WaitUntil(const std::function<bool()>& pred) {
    absl::MutexLock l(&mu_);
    auto holds = [&pred]() { return pred(); };
    return mu_.AwaitWithTimeout(absl::Condition(&holds), kFakeCollectorWait);
  }
  // Unlocked accessors for use inside WaitUntil predicates only.
  const std::vector<v1::Batch>& received_locked() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return received_;
  }
  const std::set<uint64_t>& committed_locked() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return committed_;
  }

  std::vector<v1::Batch> received() const {
    absl::MutexLock l(&mu_);
    return received_;
  }
  std::vector<uint64_t> received_seqs() const {
    absl::MutexLock l(&mu_);
    std::vector<uint64_t> seqs;
    for (const v1::Batch& b : received_) seqs.push_back(b.seq());
    return seqs;
  }
  std::set<uint64_t> committed() const {
    absl::MutexLock l(&mu_);
    return committed_;
  }
  // Server port of the first record of each batch this collector committed, by seq.
  std::map<uint64_t, uint32_t> committed_ports() const {
    absl::MutexLock l(&mu_);
    return committed_ports_;
  }
  int conflicts() const {
    absl::MutexLock l(&mu_);
    return conflicts_;
  }
  std::vector<v1::Hello> hellos() const {
    absl::MutexLock l(&mu_);
    return hellos_;
  }
  std::vector<std::string> peer_names() const {
    absl::MutexLock l(&mu_);
    return peer_names_;
  }
  int heartbeats_locked() const ABSL_NO_THREAD_SAFETY_ANALYSIS { return heartbeats_; }
  // The health of the last heartbeat received, if any.
  std::optional<v1::SensorHealth> last_heartbeat_health_locked() const
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return last_heartbeat_health_;
  }
  void ClearReceived() {
    absl::MutexLock l(&mu_);
    received_.clear();
  }

  // The body of Ingest.Stream: Hello -> HelloAck, then an Ack per Batch as the knobs say.
  // A refused batch ends the stream with INVALID_ARGUMENT and names its seq only in the
  // trailing metadata (common::kRefusedSeqMetadataKey), as the collector does.
  grpc::Status Serve(grpc::ServerContext* context,
                     grpc::ServerReaderWriter<v1::CollectorMessage, v1::SensorMessage>* stream);

 private:
  // Sets one knob under the lock.
  template <typename T>
  void Set(T FakeCollectorState::*knob, T value) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock l(&mu_);
    this->*knob = value;
  }

  mutable absl::Mutex mu_;
  bool send_acks_ ABSL_GUARDED_BY(mu_) = true;
  bool commit_ ABSL_GUARDED_BY(mu_) = true;
  uint64_t refuse_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool name_refused_seq_ ABSL_GUARDED_BY(mu_) = true;
  bool report_zero_committed_ ABSL_GUARDED_BY(mu_) = false;
  bool silent_ ABSL_GUARDED_BY(mu_) = false;
  bool deny_role_ ABSL_GUARDED_BY(mu_) = false;
  std::set<uint64_t> committed_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::string> contents_ ABSL_GUARDED_BY(mu_);  // "" = unknown content.
  std::map<uint64_t, uint32_t> committed_ports_ ABSL_GUARDED_BY(mu_);
  int conflicts_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<v1::Batch> received_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> held_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Hello> hellos_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> peer_names_ ABSL_GUARDED_BY(mu_);
  int heartbeats_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<v1::SensorHealth> last_heartbeat_health_ ABSL_GUARDED_BY(mu_);
  grpc::ServerReaderWriter<v1::CollectorMessage, v1::SensorMessage>* stream_ ABSL_GUARDED_BY(mu_) =
      nullptr;
};

class FakeIngestService final : public v1::Ingest::Service {
 public:
  explicit FakeIngestService(FakeCollectorState& state) : state_(state) {}
  grpc::Status Stream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::CollectorMessage, v1::SensorMessage>* stream) override {
    return state_.Serve(context, stream);
  }

 private:
  FakeCollectorState& state_;
};

// A running fake collector: a real gRPC server, over mutual TLS on 127.0.0.1 (port 0 = pick
// one), or with no port at all, reached only through StubFactory()'s in-process channels.
class FakeCollector {
 public:
  FakeCollector(FakeCollectorState& state, const common::TlsMaterial& tls, int port = 0);
  // In-process only: no socket, no TLS, no peer identity.
  explicit FakeCollector(FakeCollectorState& state);
  ~FakeCollector() { Shutdown(); }
  FakeCollector(const FakeCollector&) = delete;
  FakeCollector& operator=(const FakeCollector&) = delete;

  bool ok() {
    absl::MutexLock lock(&mu_);
    return server_ != nullptr && (in_process_ || port_ > 0);
  }
  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  // For sensor::UplinkOptions::stub_factory: every attempt, whatever its target, gets a stub
  // on a new in-process channel to this server (fails like a dead path once Shutdown() ran).
  // The collector must outlive the uplink using it.
  std::function<std::unique_ptr<v1::Ingest::StubInterface>(const std::string& target)>
  StubFactory();
  // Cancels open streams now and stops serving.
  void Shutdown();

 private:
  FakeIngestService service_;
  bool in_process_ = false;
  int port_ = 0;
  absl::Mutex mu_;  // Guards server_ against StubFactory() calls from the uplink's thread.
  std::unique_ptr<grpc::Server> server_ ABSL_GUARDED_BY(mu_);
};

}  // namespace synmap::testing
