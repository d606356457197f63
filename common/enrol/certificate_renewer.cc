#include "common/enrol/certificate_renewer.h"

#include <algorithm>
#include <utility>

#include "common/log/log.h"
#include "common/tls/tls_files.h"

namespace synmap::common {

CertificateRenewer::CertificateRenewer(RenewalOptions options, const Clock& clock,
                                       absl::Duration retry)
    : options_(std::move(options)), clock_(clock), retry_(retry) {}

CertificateRenewer::~CertificateRenewer() { Stop(); }

absl::Status CertificateRenewer::Start() {
  if (thread_.joinable() || stop_.HasBeenNotified()) {
    return absl::FailedPreconditionError("certificate renewer started twice");
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void CertificateRenewer::Stop() {
  if (!stop_.HasBeenNotified()) {
    stop_.Notify();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

absl::Status CertificateRenewer::last_failure() const {
  absl::MutexLock lock(&mu_);
  return last_failure_;
}

absl::Duration CertificateRenewer::NextWait(int failed_in_row) const {
  const absl::Time now = clock_.Now();
  absl::StatusOr<std::string> cert = ReadPemFile("certificate", options_.files.cert_path);
  absl::StatusOr<absl::Time> due = cert.ok() ? RenewalDue(*cert) : cert.status();
  absl::StatusOr<absl::Time> end = cert.ok() ? CertificateNotAfter(*cert) : cert.status();
  if (!due.ok() || !end.ok()) {
    SYNMAP_LOG(WARNING) << "certificate_unreadable cert=" << options_.files.cert_path
                        << " status=" << (due.ok() ? end.status() : due.status());
    return retry_;
  }
  if (failed_in_row == 0) {
    return std::max(*due - now, absl::ZeroDuration());
  }
  // Doubling stops at 2^20 retries' worth; the tenth of the remaining validity caps it anyway.
  const absl::Duration backoff = retry_ * (int64_t{1} << std::min(failed_in_row - 1, 20));
  return std::max(std::min(backoff, (*end - now) / 10), absl::Seconds(1));
}

void CertificateRenewer::Run() {
  int failed_in_row = 0;
  while (!stop_.WaitForNotificationWithTimeout(NextWait(failed_in_row))) {
    absl::StatusOr<absl::Time> renewed = RenewCertificate(options_);
    {
      absl::MutexLock lock(&mu_);
      last_failure_ = renewed.status();
    }
    if (!renewed.ok()) {
      ++failed_in_row;
      failures_.fetch_add(1, std::memory_order_relaxed);
      SYNMAP_LOG(WARNING) << "certificate_renewal_failed cert=" << options_.files.cert_path
                          << " attempt=" << failed_in_row << " status=" << renewed.status();
      continue;
    }
    failed_in_row = 0;
    renewals_.fetch_add(1, std::memory_order_relaxed);
    SYNMAP_LOG(INFO) << "certificate_renewed cert=" << options_.files.cert_path
                     << " not_after=" << absl::FormatTime(*renewed, absl::UTCTimeZone());
  }
}

}  // namespace synmap::common
