#include "common/tls/certificate_check.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/time/clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/common/tls/test_certs.h"

namespace synmap::common {
namespace {

using ::synmap::testing::MakeCerts;
using ::testing::HasSubstr;

// Certificates made once: the CA, a good sensor "s1", an expired reader "old", a reader "young"
// valid from tomorrow, and in other/ a second CA (same subject) with its own sensor "s1".
class CertificateCheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new synmap::testing::TempDir();
    ok_ = MakeCerts(dir_->path(), "ca").ok() && MakeCerts(dir_->path(), "sensor s1").ok() &&
          MakeCerts(dir_->path(), "reader old --expired").ok() &&
          MakeCerts(dir_->path(), "reader young --not-yet-valid").ok() &&
          MakeCerts(dir_->File("other"), "ca").ok() &&
          MakeCerts(dir_->File("other"), "sensor s1").ok();
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(ok_) << "make-certs.sh failed"; }

  static std::string Read(const std::string& name) {
    std::ifstream in(dir_->File(name));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static std::string Ca() { return Read("ca.pem"); }

  static synmap::testing::TempDir* dir_;
  static bool ok_;
};

synmap::testing::TempDir* CertificateCheckTest::dir_ = nullptr;
bool CertificateCheckTest::ok_ = false;

TEST_F(CertificateCheckTest, CertificateOfTheCaValidNowIsAcceptedWithItsNameAndRole) {
  const CertificateVerdict v = CheckCertificateChain(Read("s1.pem"), Ca(), absl::Now());
  EXPECT_EQ(v.problem, CertificateProblem::kNone) << v.detail;
  EXPECT_EQ(v.detail, "");
  EXPECT_EQ(v.name, "s1");
  EXPECT_EQ(v.role, "sensor");
}

TEST_F(CertificateCheckTest, ExpiredCertificateIsNamedExpiredWithItsEndDate) {
  const CertificateVerdict v = CheckCertificateChain(Read("old.pem"), Ca(), absl::Now());
  EXPECT_EQ(v.problem, CertificateProblem::kExpired);
  EXPECT_THAT(v.detail, HasSubstr("certificate has expired (not after 20"));
  EXPECT_EQ(v.name, "old");
  EXPECT_EQ(CertificateProblemReason(v.problem), "client_certificate_expired");
}

TEST_F(CertificateCheckTest, CertificateValidFromTomorrowIsNamedNotYetValid) {
  const CertificateVerdict v = CheckCertificateChain(Read("young.pem"), Ca(), absl::Now());
  EXPECT_EQ(v.problem, CertificateProblem::kNotYetValid);
  EXPECT_THAT(v.detail, HasSubstr("certificate is not yet valid (not before 20"));
  EXPECT_EQ(CertificateProblemReason(v.problem), "client_certificate_not_yet_valid");
}

TEST_F(CertificateCheckTest, TheGivenTimeIsTheOneChecked) {
  EXPECT_EQ(CheckCertificateChain(Read("s1.pem"), Ca(), absl::Now() - absl::Hours(2)).problem,
            CertificateProblem::kNotYetValid);
  EXPECT_EQ(CheckCertificateChain(Read("young.pem"), Ca(), absl::Now() + absl::Hours(49)).problem,
            CertificateProblem::kNone);
}

TEST_F(CertificateCheckTest, CertificateOfAnotherCaWithTheSameNameIsAnUnknownCa) {
  const CertificateVerdict v = CheckCertificateChain(Read("other/s1.pem"), Ca(), absl::Now());
  EXPECT_EQ(v.problem, CertificateProblem::kUnknownCa);
  EXPECT_THAT(v.detail, HasSubstr("unable to get local issuer certificate"));
  EXPECT_EQ(CertificateProblemReason(v.problem), "client_certificate_unknown_ca");
}

TEST_F(CertificateCheckTest, TheCaCertificateItselfIsNotAClientCertificate) {
  // Self-signed and without clientAuth: whatever OpenSSL says first, it is refused.
  EXPECT_NE(CheckCertificateChain(Ca(), Ca(), absl::Now()).problem, CertificateProblem::kNone);
}

TEST_F(CertificateCheckTest, NoCertificateIsNamedAsSuch) {
  EXPECT_EQ(CheckCertificateChain("", Ca(), absl::Now()).problem,
            CertificateProblem::kNoCertificate);
  EXPECT_EQ(CheckCertificateChain("not pem", Ca(), absl::Now()).problem,
            CertificateProblem::kNoCertificate);
}

TEST_F(CertificateCheckTest, WithoutATrustAnchorEverythingIsRefused) {
  const CertificateVerdict v = CheckCertificateChain(Read("s1.pem"), "", absl::Now());
  EXPECT_EQ(v.problem, CertificateProblem::kNotVerified);
  EXPECT_EQ(v.detail, "no trust anchor to verify against");
}

TEST_F(CertificateCheckTest, IntermediatesAfterTheLeafDoNotMakeAForeignChainTrusted) {
  // The other CA sent along as an "intermediate" is untrusted: still an unknown CA.
  const std::string chain = Read("other/s1.pem") + Read("other/ca.pem");
  EXPECT_EQ(CheckCertificateChain(chain, Ca(), absl::Now()).problem,
            CertificateProblem::kUnknownCa);
}

}  // namespace
}  // namespace synmap::common
