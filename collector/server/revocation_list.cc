#include "collector/server/revocation_list.h"

#include <algorithm>
#include <utility>

#include "common/log/log.h"

namespace synmap::collector {

absl::Status RevocationList::Start() {
  if (absl::Status status = Refresh(); !status.ok()) {
    return status;
  }
  {
    absl::ReaderMutexLock lock(&mu_);
    SYNMAP_LOG(INFO) << "revocations_loaded count=" << revocations_.size()
                     << " poll_interval=" << absl::FormatDuration(poll_interval_);
  }
  poller_ = std::thread([this] { PollLoop(); });
  return absl::OkStatus();
}

void RevocationList::Stop() {
  if (!stop_.HasBeenNotified()) {
    stop_.Notify();
  }
  if (poller_.joinable()) {
    poller_.join();
  }
}

std::optional<Revocation> RevocationList::Find(absl::string_view name,
                                               absl::Time not_before) const {
  absl::ReaderMutexLock lock(&mu_);
  const Revocation* found = FindRevocation(revocations_, name, not_before);
  return found == nullptr ? std::nullopt : std::optional<Revocation>(*found);
}

int RevocationList::AddListener(Listener listener) {
  absl::MutexLock lock(&listeners_mu_);
  const int id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void RevocationList::RemoveListener(int id) {
  absl::MutexLock lock(&listeners_mu_);  // Waits for a listener call in progress.
  listeners_.erase(id);
}

absl::Status RevocationList::Refresh() {
  absl::MutexLock refresh(&refresh_mu_);
  absl::StatusOr<std::vector<Revocation>> fresh = store_.Revocations();
  if (!fresh.ok()) {
    return fresh.status();
  }
  std::vector<Revocation> changed;
  {
    absl::MutexLock lock(&mu_);
    for (const Revocation& r : *fresh) {
      if (std::find(revocations_.begin(), revocations_.end(), r) == revocations_.end()) {
        changed.push_back(r);
      }
    }
    for (const Revocation& r : revocations_) {
      const bool lifted = std::none_of(fresh->begin(), fresh->end(),
                                       [&](const Revocation& f) { return f.name == r.name; });
      if (lifted) {
        SYNMAP_LOG(INFO) << "revocation_lifted name=" << r.name;
      }
    }
    revocations_ = *std::move(fresh);
  }
  if (changed.empty()) {
    return absl::OkStatus();
  }
  for (const Revocation& r : changed) {
    SYNMAP_LOG(WARNING) << "revocation_in_force name=" << r.name
                        << " revoked_at=" << absl::FormatTime(r.revoked_at, absl::UTCTimeZone())
                        << " reason=\"" << r.reason << "\"";
  }
  absl::MutexLock lock(&listeners_mu_);
  for (const auto& [id, listener] : listeners_) {
    listener(changed);
  }
  return absl::OkStatus();
}

void RevocationList::PollLoop() {
  while (!stop_.WaitForNotificationWithTimeout(poll_interval_)) {
    if (absl::Status status = Refresh(); !status.ok()) {
      SYNMAP_LOG_EVERY_N_SEC(WARNING, 10)
          << "revocations_not_read status=" << status << " keeping=previous";
    }
  }
}

}  // namespace synmap::collector
