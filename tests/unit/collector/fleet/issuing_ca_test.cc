#include "collector/fleet/issuing_ca.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/tls/certificate_check.h"
#include "common/tls/certificate_request.h"
#include "common/tls/peer_identity.h"
#include "common/tls/tls_files.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/common/tls/test_certs.h"

namespace synmap::collector {
namespace {

using ::synmap::testing::MakeCerts;
using ::synmap::testing::RunShell;
using ::synmap::testing::StatusIs;
using ::synmap::testing::TempDir;
using ::testing::HasSubstr;

class IssuingCaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ok_ = MakeCerts(dir_->path(), "ca").ok() && MakeCerts(dir_->path(), "issuing-ca").ok();
  }
  static void TearDownTestSuite() { delete dir_; }
  void SetUp() override {
    ASSERT_TRUE(ok_) << "make-certs.sh failed";
    ASSERT_OK_AND_ASSIGN(root_, common::ReadPemFile("ca", dir_->File("ca.pem")));
  }

  absl::StatusOr<std::unique_ptr<IssuingCa>> Load() {
    return IssuingCa::Load(dir_->File("issuing-ca.pem"), dir_->File("issuing-ca.key"), root_, now_);
  }
  static std::string Csr(const std::string& name, const std::string& role) {
    absl::StatusOr<std::string> key = common::GeneratePrivateKeyPem();
    return key.ok() ? common::MakeCertificateRequest(*key, name, role).value_or("") : "";
  }

  static TempDir* dir_;
  static bool ok_;
  std::string root_;
  absl::Time now_ = absl::Now();
};
TempDir* IssuingCaTest::dir_ = nullptr;
bool IssuingCaTest::ok_ = false;

TEST_F(IssuingCaTest, SignedChainVerifiesAgainstTheRootWithTheRequestedIdentity) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<IssuingCa> ca, Load());
  ASSERT_OK_AND_ASSIGN(std::string chain,
                       ca->Sign(Csr("router-c", "sensor"), now_, absl::Hours(24 * 30)));
  const common::CertificateVerdict verdict = common::CheckCertificateChain(chain, root_, now_);
  EXPECT_EQ(verdict.problem, common::CertificateProblem::kNone) << verdict.detail;
  ASSERT_OK_AND_ASSIGN(common::PeerIdentity identity, common::ParseCertificateIdentity(chain));
  EXPECT_EQ(identity.name, "router-c");
  EXPECT_EQ(identity.role, "sensor");
  ASSERT_OK_AND_ASSIGN(absl::Time end, common::CertificateNotAfter(chain));
  EXPECT_LE(absl::AbsDuration(end - (now_ + absl::Hours(24 * 30))), absl::Seconds(1));
  // Expired after its lifetime.
  EXPECT_EQ(common::CheckCertificateChain(chain, root_, now_ + absl::Hours(24 * 31)).problem,
            common::CertificateProblem::kExpired);
}

TEST_F(IssuingCaTest, ShortLifetimeIsBackdatedByATenthOnly) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<IssuingCa> ca, Load());
  ASSERT_OK_AND_ASSIGN(std::string chain, ca->Sign(Csr("s1", "sensor"), now_, absl::Minutes(2)));
  // The certificate itself (the chain's first), not the issuing CA made a moment ago.
  EXPECT_OK(common::CheckCertificateValidity("cert", chain, now_ - absl::Seconds(11)));
  EXPECT_THAT(common::CheckCertificateValidity("cert", chain, now_ - absl::Seconds(14)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(ca->Sign(Csr("s1", "sensor"), now_, absl::Seconds(30)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(IssuingCaTest, RequestSubjectIsReadAndOddSubjectsOrBrokenSignaturesAreRefused) {
  ASSERT_OK_AND_ASSIGN(RequestSubject subject, ReadRequestSubject(Csr("r1", "reader")));
  EXPECT_EQ(subject, (RequestSubject{.name = "r1", .role = "reader"}));
  EXPECT_THAT(ReadRequestSubject("not a csr"), StatusIs(absl::StatusCode::kInvalidArgument));
  // A CSR with an extra subject field, made with the openssl CLI.
  TempDir tmp;
  ASSERT_OK(
      RunShell("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
               "-keyout '" +
               tmp.File("k") +
               "' -subj '/O=synmap/OU=sensor/CN=s1/C=DE' "
               "-out '" +
               tmp.File("csr") + "'"));
  ASSERT_OK_AND_ASSIGN(std::string odd, common::ReadPemFile("csr", tmp.File("csr")));
  absl::StatusOr<RequestSubject> refused = ReadRequestSubject(odd);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("/O=synmap/OU=ROLE/CN=NAME"));
  // Flip a byte inside the signature (the end of the base64 body).
  std::string tampered = Csr("s1", "sensor");
  const size_t end = tampered.find("-----END");
  ASSERT_NE(end, std::string::npos);
  tampered[end - 6] = tampered[end - 6] == 'A' ? 'B' : 'A';
  EXPECT_THAT(ReadRequestSubject(tampered), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(IssuingCaTest, LoadRefusesAKeyOfAnotherCertificateOrALeafOrAForeignCa) {
  TempDir other;
  ASSERT_OK(MakeCerts(other.path(), "ca"));
  ASSERT_OK(MakeCerts(other.path(), "issuing-ca"));
  ASSERT_OK(MakeCerts(other.path(), "sensor leaf"));
  EXPECT_THAT(
      IssuingCa::Load(dir_->File("issuing-ca.pem"), other.File("issuing-ca.key"), root_, now_),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(IssuingCa::Load(other.File("leaf.pem"), other.File("leaf.key"), root_, now_),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<std::unique_ptr<IssuingCa>> foreign = IssuingCa::Load(
      other.File("issuing-ca.pem"), other.File("issuing-ca.key"), root_, absl::Now());
  EXPECT_THAT(foreign, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(foreign.status().message()), HasSubstr("make-certs.sh"));
}

TEST_F(IssuingCaTest, LoadRefusesARootThatAllowsNoCaBelowIt) {
  TempDir old;
  ASSERT_OK(
      RunShell("openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
               "-keyout '" +
               old.File("ca.key") +
               "' -days 10 -subj '/CN=old' "
               "-addext 'basicConstraints=critical,CA:TRUE,pathlen:0' -out '" +
               old.File("ca.pem") + "'"));
  ASSERT_OK_AND_ASSIGN(std::string old_root, common::ReadPemFile("ca", old.File("ca.pem")));
  absl::StatusOr<std::unique_ptr<IssuingCa>> loaded =
      IssuingCa::Load(dir_->File("issuing-ca.pem"), dir_->File("issuing-ca.key"), old_root, now_);
  EXPECT_THAT(loaded, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("pathlen:0"));
}

}  // namespace
}  // namespace synmap::collector
