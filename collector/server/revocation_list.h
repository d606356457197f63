#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "collector/store/admin_store.h"
#include "common/tls/peer_identity.h"

namespace synmap::collector {

// The revocations this collector enforces (docs/operations.md, "Revocation"): read from the
// store's revocations table at Start, then every `poll_interval` by a thread of its own, so
// that `synmap-collector revoke` at any collector sharing the database takes effect here
// within that interval. After each read that found new or changed revocations, the listeners
// are told (on the polling thread), which close the revoked identities' open streams. A read
// that fails keeps the last list and is logged at most every 10 s. Borrows `store`, which must
// outlive it. Thread-safe.
class RevocationList {
 public:
  // Told of the revocations that are new or changed since the previous read.
  using Listener = std::function<void(const std::vector<Revocation>& changed)>;

  RevocationList(AdminStore& store, absl::Duration poll_interval)
      : store_(store), poll_interval_(poll_interval) {}
  ~RevocationList() { Stop(); }
  RevocationList(const RevocationList&) = delete;
  RevocationList& operator=(const RevocationList&) = delete;

  // Reads the revocations once (the store's error if that fails: a collector must not serve
  // without knowing them), then starts polling.
  [[nodiscard]] absl::Status Start() ABSL_LOCKS_EXCLUDED(mu_);
  // Stops polling and joins the thread. Idempotent.
  void Stop();

  // The revocation that cuts off `identity`'s certificate (same name, notBefore at or before the
  // revocation time; FindRevocation), if any.
  std::optional<Revocation> Find(const common::PeerIdentity& identity) const
      ABSL_LOCKS_EXCLUDED(mu_) {
    return Find(identity.name, identity.not_before);
  }
  std::optional<Revocation> Find(absl::string_view name, absl::Time not_before) const
      ABSL_LOCKS_EXCLUDED(mu_);
  bool IsRevoked(const common::PeerIdentity& identity) const { return Find(identity).has_value(); }

  // Registers `listener` and returns its id for RemoveListener.
  int AddListener(Listener listener) ABSL_LOCKS_EXCLUDED(listeners_mu_);
  // Unregisters a listener; returns once it is not running and will not run again.
  void RemoveListener(int id) ABSL_LOCKS_EXCLUDED(listeners_mu_);

  // Reads the store now (as the polling thread does) and tells the listeners of changes.
  // Errors: the store's.
  [[nodiscard]] absl::Status Refresh() ABSL_LOCKS_EXCLUDED(mu_, listeners_mu_);

 private:
  void PollLoop();

  AdminStore& store_;
  const absl::Duration poll_interval_;

  mutable absl::Mutex mu_;
  std::vector<Revocation> revocations_ ABSL_GUARDED_BY(mu_);

  absl::Mutex listeners_mu_;
  std::map<int, Listener> listeners_ ABSL_GUARDED_BY(listeners_mu_);
  int next_listener_ ABSL_GUARDED_BY(listeners_mu_) = 0;

  absl::Mutex refresh_mu_;  // One Refresh at a time, so changes are told in order.
  absl::Notification stop_;
  std::thread poller_;
};

}  // namespace synmap::collector
