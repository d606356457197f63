// CertificateRenewer against a CollectorServer in this process (real TLS on loopback, real
// certificates from make-certs.sh, real SQLite store): it renews two thirds into the
// certificate's life and not before, keeps the key, replaces the file atomically, backs off
// after a refusal and says why, and renews at the next collector when the first is down.

#include "common/enrol/certificate_renewer.h"

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/enrol/enrol_client.h"
#include "common/tls/peer_identity.h"
#include "common/tls/tls_files.h"
#include "tests/integration/fleet/fleet_server.h"
#include "tests/testing/eventually.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/common/tls/test_certs.h"

namespace synmap::collector {
namespace {

using ::synmap::testing::Eventually;
using ::synmap::testing::MakeCerts;
using ::synmap::testing::StatusIs;
using ::testing::HasSubstr;

using CertificateRenewerTest = FleetServerTest;

ino_t InodeOf(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST_F(CertificateRenewerTest, RenewsTwoThirdsIntoTheLifetimeKeepingTheKeyAndReplacingTheFile) {
  // Valid from 4 s ago for 9 s: due 2 s from now.
  ASSERT_OK(MakeCerts(dir_.path(), "sensor due-soon --valid-seconds -4,5"));
  const common::TlsFiles files = FilesOf("due-soon");
  ASSERT_OK_AND_ASSIGN(common::TlsMaterial before, common::LoadTlsMaterial(files));
  ASSERT_OK_AND_ASSIGN(absl::Time due, common::RenewalDue(before.cert_pem));
  const ino_t inode_before = InodeOf(files.cert_path);
  common::CertificateRenewer renewer(Renewal(files), RealClock::Get(), absl::Seconds(1));
  ASSERT_OK(renewer.Start());

  absl::SleepFor(due - absl::Seconds(1) - absl::Now());
  EXPECT_EQ(renewer.renewals(), 0u) << "renewed before two thirds of the lifetime";
  ASSERT_TRUE(Eventually([&] { return renewer.renewals() >= 1; }));
  EXPECT_GE(absl::Now(), due);
  renewer.Stop();

  ASSERT_OK_AND_ASSIGN(common::TlsMaterial after, common::LoadTlsMaterial(files));
  EXPECT_NE(after.cert_pem, before.cert_pem);
  EXPECT_EQ(after.key_pem, before.key_pem);
  ASSERT_OK_AND_ASSIGN(absl::Time not_after, common::CertificateNotAfter(after.cert_pem));
  EXPECT_GT(not_after, absl::Now() + absl::Minutes(50));  // The registrar's 1 h.
  ASSERT_OK_AND_ASSIGN(common::PeerIdentity identity,
                       common::ParseCertificateIdentity(after.cert_pem));
  EXPECT_EQ(identity.name, "due-soon");
  EXPECT_EQ(identity.role, "sensor");
  // Atomic: a new file renamed over the old one, no temporary left behind.
  EXPECT_NE(InodeOf(files.cert_path), inode_before);
  EXPECT_FALSE(std::filesystem::exists(files.cert_path + ".tmp"));
  EXPECT_EQ(renewer.failures(), 0u);
  EXPECT_OK(renewer.last_failure());
}

TEST_F(CertificateRenewerTest, BacksOffAfterARefusalSaysWhyAndKeepsTheFile) {
  // Due since 10 s; valid 30 s more, so the backoff's cap (a tenth of that) is 3 s.
  ASSERT_OK(MakeCerts(dir_.path(), "sensor refused --valid-seconds -90,30"));
  const common::TlsFiles files = FilesOf("refused");
  ASSERT_OK_AND_ASSIGN(std::string before, common::ReadPemFile("cert", files.cert_path));
  ASSERT_OK(store_->Revoke({.name = "refused", .revoked_at = absl::Now(), .reason = "test"}));
  common::CertificateRenewer renewer(Renewal(files), RealClock::Get(), absl::Seconds(1));
  ASSERT_OK(renewer.Start());

  // When each of the first three failures was seen.
  std::vector<absl::Time> failed_at;
  ASSERT_TRUE(Eventually([&] {
    while (failed_at.size() < renewer.failures()) {
      failed_at.push_back(absl::Now());
    }
    return failed_at.size() >= 3;
  }));
  renewer.Stop();
  // 1 s after the first refusal, then 2 s: the wait doubles.
  const absl::Duration first_gap = failed_at[1] - failed_at[0];
  const absl::Duration second_gap = failed_at[2] - failed_at[1];
  EXPECT_GE(first_gap, absl::Milliseconds(900));
  EXPECT_GE(second_gap - first_gap, absl::Milliseconds(700))
      << "first gap " << first_gap << ", second " << second_gap;
  EXPECT_EQ(renewer.renewals(), 0u);
  EXPECT_THAT(renewer.last_failure(), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(renewer.last_failure().message(), HasSubstr("refused is revoked"));
  EXPECT_THAT(renewer.last_failure().message(), HasSubstr("renew at " + MainAddress()));
  ASSERT_OK_AND_ASSIGN(std::string after, common::ReadPemFile("cert", files.cert_path));
  EXPECT_EQ(after, before);
}

TEST_F(CertificateRenewerTest, RenewsAtTheNextCollectorWhenTheFirstIsDown) {
  ASSERT_OK(MakeCerts(dir_.path(), "sensor two-homed --valid-seconds -90,30"));
  const common::TlsFiles files = FilesOf("two-homed");
  common::RenewalOptions options = Renewal(files);
  options.collectors = {DeadAddress(), MainAddress()};
  options.timeout = absl::Seconds(5);
  common::CertificateRenewer renewer(options, RealClock::Get(), absl::Seconds(1));
  ASSERT_OK(renewer.Start());
  ASSERT_TRUE(Eventually([&] { return renewer.renewals() >= 1; }));
  renewer.Stop();
  EXPECT_EQ(renewer.failures(), 0u);
  ASSERT_OK_AND_ASSIGN(std::string after, common::ReadPemFile("cert", files.cert_path));
  ASSERT_OK_AND_ASSIGN(absl::Time not_after, common::CertificateNotAfter(after));
  EXPECT_GT(not_after, absl::Now() + absl::Minutes(50));
}

}  // namespace
}  // namespace synmap::collector
