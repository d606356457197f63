#include "common/tls/tls_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/common/tls/test_certs.h"

namespace synmap::common {
namespace {

using ::synmap::testing::MakeCerts;
using ::synmap::testing::StatusIs;
using ::testing::HasSubstr;

class TlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(MakeCerts(dir_.path(), "ca"));
    ASSERT_OK(MakeCerts(dir_.path(), "sensor s1"));
    ASSERT_OK(MakeCerts(dir_.path(), "sensor s2"));
  }
  TlsFiles Files(const std::string& name) const {
    return TlsFiles{dir_.File("ca.pem"), dir_.File(name + ".pem"), dir_.File(name + ".key")};
  }
  void Write(const std::string& name, const std::string& contents) const {
    std::ofstream(dir_.File(name)) << contents;
  }
  synmap::testing::TempDir dir_;
};

TEST_F(TlsFilesTest, LoadsMatchingFiles) {
  ASSERT_OK_AND_ASSIGN(TlsMaterial m, LoadTlsMaterial(Files("s1")));
  EXPECT_THAT(m.ca_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(m.cert_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(m.key_pem, HasSubstr("PRIVATE KEY"));
}

TEST_F(TlsFilesTest, MissingFileIsNotFoundNamingIt) {
  TlsFiles files = Files("s1");
  files.ca_path = dir_.File("nope.pem");
  absl::StatusOr<TlsMaterial> m = LoadTlsMaterial(files);
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("nope.pem"));
}

TEST_F(TlsFilesTest, EmptyFileIsInvalidArgument) {
  Write("empty.pem", "");
  TlsFiles files = Files("s1");
  files.cert_path = dir_.File("empty.pem");
  absl::StatusOr<TlsMaterial> m = LoadTlsMaterial(files);
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("empty.pem"));
}

TEST_F(TlsFilesTest, NonPemFileIsInvalidArgument) {
  Write("junk.pem", "hello\n");
  TlsFiles files = Files("s1");
  files.key_path = dir_.File("junk.pem");
  absl::StatusOr<TlsMaterial> m = LoadTlsMaterial(files);
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("junk.pem"));
}

TEST_F(TlsFilesTest, KeyInPlaceOfCertificateIsInvalidArgument) {
  TlsFiles files = Files("s1");
  files.cert_path = files.key_path;
  absl::StatusOr<TlsMaterial> m = LoadTlsMaterial(files);
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("not a PEM X.509 certificate"));
}

TEST_F(TlsFilesTest, KeyOfAnotherCertificateIsInvalidArgument) {
  TlsFiles files = Files("s1");
  files.key_path = dir_.File("s2.key");
  absl::StatusOr<TlsMaterial> m = LoadTlsMaterial(files);
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("does not match"));
}

TEST_F(TlsFilesTest, MakeCertsWritesKeysOwnerOnly) {
  struct stat st {};
  ASSERT_EQ(stat(dir_.File("s1.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(dir_.File("ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(TlsFilesTest, FreshCertificateIsValidNowAndNotInTenYears) {
  ASSERT_OK_AND_ASSIGN(TlsMaterial m, LoadTlsMaterial(Files("s1")));
  const absl::Time now = absl::Now();
  EXPECT_OK(CheckCertificateValidity("s1", m.cert_pem, now));
  EXPECT_THAT(CheckCertificateValidity("s1", m.cert_pem, now + absl::Hours(24 * 3650)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CheckCertificateValidity("s1", m.cert_pem, now - absl::Hours(24)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(TlsFilesTest, ExpiredCertificateFailsValidityCheck) {
  ASSERT_OK(MakeCerts(dir_.path(), "sensor old --expired"));
  ASSERT_OK_AND_ASSIGN(TlsMaterial m, LoadTlsMaterial(Files("old")));
  absl::Status s = CheckCertificateValidity("old", m.cert_pem, absl::Now());
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(s.message()), HasSubstr("expired"));
}

TEST_F(TlsFilesTest, NotAfterIsTheBoundTheValidityCheckUses) {
  ASSERT_OK_AND_ASSIGN(TlsMaterial m, LoadTlsMaterial(Files("s1")));
  ASSERT_OK_AND_ASSIGN(absl::Time not_after, CertificateNotAfter(m.cert_pem));
  EXPECT_OK(CheckCertificateValidity("s1", m.cert_pem, not_after));
  EXPECT_THAT(CheckCertificateValidity("s1", m.cert_pem, not_after + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(CertificateNotAfter("not a certificate"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace synmap::common
