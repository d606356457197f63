#include "common/tls/crl.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/tls/certificate_check.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/common/tls/test_certs.h"

namespace synmap::common {
namespace {

using ::synmap::testing::MakeCerts;
using ::synmap::testing::RunShell;
using ::synmap::testing::StatusIs;
using ::testing::HasSubstr;

// A CA with sensors "lost" and "kept"; `openssl ca` revokes "lost" and writes its CRL as PEM
// (lost.crl) and DER (lost.der). other/ is another CA with its own (empty) CRL.
class CrlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new synmap::testing::TempDir();
    const std::string d = dir_->path();
    ok_ =
        MakeCerts(d, "ca").ok() && MakeCerts(d, "sensor lost").ok() &&
        MakeCerts(d, "sensor kept").ok() && MakeCerts(dir_->File("other"), "ca").ok() &&
        MakeCaConfig(d) && MakeCaConfig(dir_->File("other")) &&
        RunShell(absl::StrCat(OpenSslCa(d), " -revoke ", d, "/lost.pem")).ok() &&
        RunShell(absl::StrCat(OpenSslCa(d), " -gencrl -out ", d, "/lost.crl")).ok() &&
        RunShell(
            absl::StrCat("openssl crl -in ", d, "/lost.crl -outform DER -out ", d, "/lost.der"))
            .ok() &&
        RunShell(absl::StrCat(OpenSslCa(dir_->File("other")), " -gencrl -out ", d, "/foreign.crl"))
            .ok();
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(ok_) << "making certificates or CRLs failed"; }

  // An `openssl ca` database beside the CA in `dir`.
  static bool MakeCaConfig(const std::string& dir) {
    std::ofstream(dir + "/index.txt").flush();
    std::ofstream(dir + "/crlnumber") << "1000\n";
    std::ofstream cnf(dir + "/ca.cnf");
    cnf << "[ ca ]\ndefault_ca = test_ca\n[ test_ca ]\ndatabase = " << dir
        << "/index.txt\ncrlnumber = " << dir << "/crlnumber\ndefault_md = sha256\n"
        << "default_crl_days = 7\n";
    return cnf.good();
  }
  static std::string OpenSslCa(const std::string& dir) {
    return absl::StrCat("openssl ca -batch -config ", dir, "/ca.cnf -cert ", dir,
                        "/ca.pem -keyfile ", dir, "/ca.key");
  }
  static std::string Read(const std::string& name) {
    std::ifstream in(dir_->File(name));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  static synmap::testing::TempDir* dir_;
  static bool ok_;
};

synmap::testing::TempDir* CrlTest::dir_ = nullptr;
bool CrlTest::ok_ = false;

TEST_F(CrlTest, PemAndDerCrlsRefuseTheRevokedCertificateOnly) {
  for (const char* file : {"lost.crl", "lost.der"}) {
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<const CertificateRevocationList> crl,
                         CertificateRevocationList::Load(dir_->File(file), Read("ca.pem")));
    EXPECT_EQ(crl->revoked_count(), 1) << file;
    const CertificateVerdict lost =
        CheckCertificateChain(Read("lost.pem"), Read("ca.pem"), absl::Now(), crl.get());
    EXPECT_EQ(lost.problem, CertificateProblem::kRevoked) << file;
    EXPECT_EQ(CertificateProblemReason(lost.problem), "revoked");
    EXPECT_THAT(lost.detail, HasSubstr("listed in the CRL"));
    EXPECT_EQ(lost.name, "lost");
    EXPECT_EQ(
        CheckCertificateChain(Read("kept.pem"), Read("ca.pem"), absl::Now(), crl.get()).problem,
        CertificateProblem::kNone)
        << file;
  }
  // Without a CRL the same certificate verifies.
  EXPECT_EQ(CheckCertificateChain(Read("lost.pem"), Read("ca.pem"), absl::Now()).problem,
            CertificateProblem::kNone);
}

TEST_F(CrlTest, CrlOfAnotherCaIsRefusedNamingTheFile) {
  absl::StatusOr<std::shared_ptr<const CertificateRevocationList>> crl =
      CertificateRevocationList::Load(dir_->File("foreign.crl"), Read("ca.pem"));
  ASSERT_THAT(crl, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(crl.status().message()), HasSubstr("foreign.crl"));
  EXPECT_THAT(std::string(crl.status().message()), HasSubstr("not signed by the deployment CA"));
}

TEST_F(CrlTest, GarbageAndMissingFilesAreRefused) {
  std::ofstream(dir_->File("garbage.crl")) << "not a crl\n";
  EXPECT_THAT(CertificateRevocationList::Load(dir_->File("garbage.crl"), Read("ca.pem")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CertificateRevocationList::Load(dir_->File("missing.crl"), Read("ca.pem")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CrlTest, HolderSwapsTheCrlInForce) {
  CrlHolder holder;
  EXPECT_EQ(holder.Get(), nullptr);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const CertificateRevocationList> crl,
                       CertificateRevocationList::Load(dir_->File("lost.crl"), Read("ca.pem")));
  holder.Set(crl);
  EXPECT_EQ(holder.Get(), crl);
}

}  // namespace
}  // namespace synmap::common
