#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/enrol/enrol_client.h"
#include "common/time/clock.h"

namespace synmap::common {

// Renews a sensor's or reader's certificate file in the background: two thirds into each
// certificate's validity (RenewalDue) it calls RenewCertificate (each of options.collectors in
// turn), which replaces the file in place, keeping the key; the process's credentials watch the
// file and use the new certificate for new connections, so open streams go on undisturbed. A
// failed renewal is logged with the collectors' reasons (last_failure()) and tried again with
// backoff: `retry` after the first failure, doubling with each further one, but never more than
// a tenth of the remaining validity, and never under 1 s.
// Borrows `clock` (the certificate's dates are read against it; waits are real time), which
// must outlive it. Thread-safe; one thread of its own between Start and Stop.
class CertificateRenewer {
 public:
  CertificateRenewer(RenewalOptions options, const Clock& clock,
                     absl::Duration retry = absl::Minutes(1));
  // Calls Stop().
  ~CertificateRenewer();
  CertificateRenewer(const CertificateRenewer&) = delete;
  CertificateRenewer& operator=(const CertificateRenewer&) = delete;

  // Starts the thread. FailedPrecondition when called twice.
  [[nodiscard]] absl::Status Start();
  // Wakes and joins the thread (an in-flight Renew call finishes first, within its deadline).
  // Idempotent.
  void Stop();

  // Certificates renewed, and renewal attempts that failed, so far.
  uint64_t renewals() const { return renewals_.load(std::memory_order_relaxed); }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  // Why the last attempt failed; OK before any failure and after a renewal.
  absl::Status last_failure() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run();
  // How long to wait before the next attempt, after reading the current certificate, when the
  // attempts since the last renewal have failed `failed_in_row` times.
  absl::Duration NextWait(int failed_in_row) const;

  const RenewalOptions options_;
  const Clock& clock_;
  const absl::Duration retry_;
  absl::Notification stop_;
  std::thread thread_;
  // Relaxed counters, read for tests and logs only.
  std::atomic<uint64_t> renewals_{0};
  std::atomic<uint64_t> failures_{0};
  mutable absl::Mutex mu_;
  absl::Status last_failure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace synmap::common
