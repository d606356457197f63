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

absl::Duration CertificateRenewer::NextWait(bool after_failure) const {
  const absl::Time now = clock_.Now();
  absl::StatusOr<std::string> cert = ReadPemFile("certificate", options_.files.cert_path);
  absl::StatusOr<absl::Time> due = cert.ok() ? RenewalDue(*cert) : cert.status();
  absl::StatusOr<absl::Time> end = cert.ok() ? CertificateNotAfter(*cert) : cert.status();
  if (!due.ok() || !end.ok()) {
    SYNMAP_LOG(WARNING) << "certificate_unreadable cert=" << options_.files.cert_path
                        << " status=" << (due.ok() ? end.status() : due.status());
    return retry_;
  }
  if (!after_failure) {
    return std::max(*due - now, absl::ZeroDuration());
  }
  return std::max(std::min(retry_, (*end - now) / 10), absl::Seconds(1));
}

void CertificateRenewer::Run() {
  bool failed = false;
  while (!stop_.WaitForNotificationWithTimeout(NextWait(failed))) {
    absl::StatusOr<absl::Time> renewed = RenewCertificate(options_);
    failed = !renewed.ok();
    if (failed) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      SYNMAP_LOG(WARNING) << "certificate_renewal_failed cert=" << options_.files.cert_path
                          << " collector=" << options_.collector << " status=" << renewed.status();
      continue;
    }
    renewals_.fetch_add(1, std::memory_order_relaxed);
    SYNMAP_LOG(INFO) << "certificate_renewed cert=" << options_.files.cert_path
                     << " not_after=" << absl::FormatTime(*renewed, absl::UTCTimeZone());
  }
}

}  // namespace synmap::common
