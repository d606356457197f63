#pragma once

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "collector/store/snapshot.h"

namespace synmap::collector::internal {

// Whether a store's database answered its latest operations, and (for a database shared
// by several collectors) up to when this collector has applied what the others committed.
// Snapshots carry it so that every answer can say when it may be missing data. Thread-safe.
class StoreHealthTracker {
 public:
  explicit StoreHealthTracker(std::string backend) { health_.backend = std::move(backend); }

  // A database operation failed at `now_ns` (Cancelled, the store closing, is ignored). The
  // store stays unavailable, naming the latest failure, until an operation succeeds.
  void Failure(const absl::Status& status, int64_t now_ns) ABSL_LOCKS_EXCLUDED(mu_);
  // A database operation succeeded.
  void Success() ABSL_LOCKS_EXCLUDED(mu_);
  // Every batch committed anywhere before `as_of_ns` is applied here (a successful follow
  // round that started then); also a success.
  void Synced(int64_t as_of_ns) ABSL_LOCKS_EXCLUDED(mu_);

  StoreHealth Get() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void SuccessLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  StoreHealth health_ ABSL_GUARDED_BY(mu_);
};

}  // namespace synmap::collector::internal
