#include "collector/store/internal/store_health.h"

#include <string>

namespace synmap::collector::internal {

void StoreHealthTracker::Failure(const absl::Status& status, int64_t now_ns) {
  if (status.ok() || status.code() == absl::StatusCode::kCancelled) {
    return;
  }
  absl::MutexLock lock(&mu_);
  if (health_.available) {
    health_.available = false;
    health_.unavailable_since_ns = now_ns;
  }
  health_.problem = std::string(status.message().substr(0, 512));
}

void StoreHealthTracker::Success() {
  absl::MutexLock lock(&mu_);
  SuccessLocked();
}

void StoreHealthTracker::SuccessLocked() {
  health_.available = true;
  health_.unavailable_since_ns = 0;
  health_.problem.clear();
}

void StoreHealthTracker::Synced(int64_t as_of_ns) {
  absl::MutexLock lock(&mu_);
  SuccessLocked();
  if (as_of_ns > health_.synced_ns) {
    health_.synced_ns = as_of_ns;
  }
}

StoreHealth StoreHealthTracker::Get() const {
  absl::MutexLock lock(&mu_);
  return health_;
}

}  // namespace synmap::collector::internal
