#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace synmap::collector {

// Counts inputs the collector refused, by reason ("unauthenticated", "permission_denied",
// "no_hello", "records_per_batch", ...). Thread-safe.
class RefusalCounters {
 public:
  RefusalCounters() = default;
  RefusalCounters(const RefusalCounters&) = delete;
  RefusalCounters& operator=(const RefusalCounters&) = delete;

  void Add(absl::string_view reason) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    ++counts_[std::string(reason)];
  }
  // Count for `reason` (0 if never seen).
  uint64_t Get(absl::string_view reason) const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto it = counts_.find(std::string(reason));
    return it == counts_.end() ? 0 : it->second;
  }
  // Every reason seen so far, sorted by name.
  std::map<std::string, uint64_t> Snapshot() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return counts_;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, uint64_t> counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace synmap::collector
