#pragma once

// A Store that keeps commits in memory, for ingest tests: exactly-once by (sensor, seq), the
// same seq-order rule as the real store, and an optional gate that holds commits back so
// tests can observe pipelining and backpressure. Thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "collector/store/store.h"

namespace synmap::testing {

class FakeStore final : public collector::Store {
 public:
  struct CommitCall {
    std::string sensor;
    common::SequencedBatch batch;
  };

  absl::StatusOr<collector::CommitResult> Commit(absl::string_view sensor,
                                                 common::SequencedBatch batch) override {
    absl::MutexLock lock(&mu_);
    ++commit_calls_;
    mu_.Await(absl::Condition(
        +[](FakeStore* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return !s->gate_closed_; },
        this));
    if (!fail_with_.ok()) {
      return fail_with_;
    }
    auto& seqs = seqs_[std::string(sensor)];
    if (seqs.contains(batch.seq)) {
      return collector::CommitResult{.duplicate = true};
    }
    if (!seqs.empty() && batch.seq < *seqs.rbegin()) {
      // As the real store: an unused seq below the highest committed one is a conflict.
      return collector::CommitResult{.conflict = true, .last_committed_seq = *seqs.rbegin()};
    }
    seqs.insert(batch.seq);
    commits_.push_back({std::string(sensor), std::move(batch)});
    return collector::CommitResult{.duplicate = false};
  }

  absl::StatusOr<uint64_t> RecordHello(absl::string_view sensor, absl::string_view peer_address,
                                       const common::SensorInfo& hello) override {
    absl::MutexLock lock(&mu_);
    hellos_.push_back({std::string(sensor), std::string(peer_address), hello});
    connected_[std::string(sensor)] = true;
    auto& seqs = seqs_[std::string(sensor)];
    return seqs.empty() ? 0 : *seqs.rbegin();
  }
  absl::Status RecordHeartbeat(absl::string_view sensor,
                               const common::SensorHealth& /*health*/) override {
    absl::MutexLock lock(&mu_);
    ++heartbeats_[std::string(sensor)];
    return absl::OkStatus();
  }
  void RecordDisconnect(absl::string_view sensor) override {
    absl::MutexLock lock(&mu_);
    connected_[std::string(sensor)] = false;
  }
  uint64_t LastCommittedSeq(absl::string_view sensor) override {
    absl::MutexLock lock(&mu_);
    auto& seqs = seqs_[std::string(sensor)];
    return seqs.empty() ? 0 : *seqs.rbegin();
  }
  std::shared_ptr<const collector::StoreSnapshot> Snapshot(int64_t, int64_t,
                                                           collector::SnapshotBuckets) override {
    return std::make_shared<const collector::StoreSnapshot>();
  }
  absl::Status Checkpoint() override { return absl::OkStatus(); }
  absl::Status ApplyRetention() override { return absl::OkStatus(); }
  collector::StoreStats stats() const override { return {}; }
  absl::Status Close() override { return absl::OkStatus(); }
  absl::Status Revoke(const collector::Revocation& revocation) override {
    absl::MutexLock lock(&mu_);
    revocations_[revocation.name] = revocation;
    return absl::OkStatus();
  }
  absl::Status Unrevoke(absl::string_view name) override {
    absl::MutexLock lock(&mu_);
    return revocations_.erase(std::string(name)) == 1
               ? absl::OkStatus()
               : absl::NotFoundError(absl::StrCat(name, " is not revoked"));
  }
  absl::StatusOr<std::vector<collector::Revocation>> Revocations() override {
    absl::MutexLock lock(&mu_);
    std::vector<collector::Revocation> out;
    for (const auto& [name, revocation] : revocations_) {
      out.push_back(revocation);
    }
    return out;
  }

  // Test controls and observations.
  void CloseGate() {
    absl::MutexLock lock(&mu_);
    gate_closed_ = true;
  }
  void OpenGate() {
    absl::MutexLock lock(&mu_);
    gate_closed_ = false;
  }
  void FailCommitsWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    fail_with_ = std::move(status);
  }
  // Waits until Commit has been called `n` times (including calls held at the gate).
  void AwaitCommitCalls(int n) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return commit_calls_ >= n; };
    mu_.Await(absl::Condition(&reached));
  }
  int commit_calls() const {
    absl::MutexLock lock(&mu_);
    return commit_calls_;
  }
  std::vector<CommitCall> commits() const {
    absl::MutexLock lock(&mu_);
    return commits_;
  }
  struct HelloCall {
    std::string sensor;
    std::string peer_address;
    common::SensorInfo hello;
  };
  std::vector<HelloCall> hellos() const {
    absl::MutexLock lock(&mu_);
    return hellos_;
  }
  int heartbeats(const std::string& sensor) const {
    absl::MutexLock lock(&mu_);
    auto it = heartbeats_.find(sensor);
    return it == heartbeats_.end() ? 0 : it->second;
  }
  // Waits until `sensor` is marked disconnected after having connected.
  void AwaitDisconnected(const std::string& sensor) {
    absl::MutexLock lock(&mu_);
    auto done = [this, &sensor]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      auto it = connected_.find(sensor);
      return it != connected_.end() && !it->second;
    };
    mu_.Await(absl::Condition(&done));
  }

 private:
  mutable absl::Mutex mu_;
  bool gate_closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status fail_with_ ABSL_GUARDED_BY(mu_);
  int commit_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::set<uint64_t>> seqs_ ABSL_GUARDED_BY(mu_);
  std::vector<CommitCall> commits_ ABSL_GUARDED_BY(mu_);
  std::vector<HelloCall> hellos_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> heartbeats_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, bool> connected_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, collector::Revocation> revocations_ ABSL_GUARDED_BY(mu_);
};

}  // namespace synmap::testing
