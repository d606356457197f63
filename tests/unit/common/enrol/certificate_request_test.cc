// Key, CSR and fingerprint helpers of common/tls (certificate_request.h) and the renewal time of
// common/enrol, against certificates made by deploy/make-certs.sh and the openssl CLI.
#include "common/tls/certificate_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <string>

#include "common/enrol/enrol_client.h"
#include "common/tls/tls_files.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/common/tls/test_certs.h"

namespace synmap::common {
namespace {

using ::synmap::testing::MakeCerts;
using ::synmap::testing::ShellOutput;
using ::synmap::testing::StatusIs;
using ::synmap::testing::TempDir;
using ::testing::HasSubstr;

// What `openssl x509 -fingerprint -sha256` prints after the '='.
std::string OpensslFingerprint(const std::string& path) {
  return ShellOutput("openssl x509 -in '" + path + "' -noout -fingerprint -sha256 | sed 's/.*=//'");
}

TEST(CertificateRequestTest, CsrCarriesSubjectAndVerifiesWithItsKey) {
  ASSERT_OK_AND_ASSIGN(std::string key, GeneratePrivateKeyPem());
  ASSERT_OK_AND_ASSIGN(std::string csr, MakeCertificateRequest(key, "router-c", "sensor"));
  BIO* bio = BIO_new_mem_buf(csr.data(), static_cast<int>(csr.size()));
  X509_REQ* req = PEM_read_bio_X509_REQ(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
  char subject[256];
  X509_NAME_oneline(X509_REQ_get_subject_name(req), subject, sizeof(subject));
  EXPECT_EQ(std::string(subject), "/O=synmap/OU=sensor/CN=router-c");
  X509_REQ_free(req);
}

TEST(CertificateRequestTest, BadNameOrKeyIsRefused) {
  ASSERT_OK_AND_ASSIGN(std::string key, GeneratePrivateKeyPem());
  EXPECT_THAT(MakeCertificateRequest(key, "a/b", "sensor"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MakeCertificateRequest("not a key", "s1", "sensor"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CertificateRequestTest, FingerprintMatchesOpensslAndNormalizes) {
  TempDir dir;
  ASSERT_OK(MakeCerts(dir.path(), "ca"));
  ASSERT_OK_AND_ASSIGN(std::string pem, ReadPemFile("ca", dir.File("ca.pem")));
  ASSERT_OK_AND_ASSIGN(std::string fingerprint, CertificateFingerprint(pem));
  const std::string expected = OpensslFingerprint(dir.File("ca.pem"));
  ASSERT_EQ(expected.size(), 95u);
  EXPECT_EQ(fingerprint, "SHA256:" + expected);
  std::string bare;
  for (char c : expected) {
    if (c != ':') {
      bare.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  EXPECT_EQ(NormalizeFingerprint(bare).value_or(""), fingerprint);
  EXPECT_EQ(NormalizeFingerprint("sha256:" + expected).value_or(""), fingerprint);
  absl::StatusOr<std::string> short_one = NormalizeFingerprint("SHA256:AB:CD");
  EXPECT_THAT(short_one, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(short_one.status().message()), HasSubstr("64 hex digits"));
}

TEST(CertificateRequestTest, RenewalIsDueTwoThirdsIntoTheValidity) {
  TempDir dir;
  ASSERT_OK(MakeCerts(dir.path(), "ca"));
  ASSERT_OK(MakeCerts(dir.path(), "sensor s1 --days 30"));
  ASSERT_OK_AND_ASSIGN(std::string pem, ReadPemFile("cert", dir.File("s1.pem")));
  ASSERT_OK_AND_ASSIGN(absl::Time end, CertificateNotAfter(pem));
  ASSERT_OK_AND_ASSIGN(absl::Time due, RenewalDue(pem));
  EXPECT_EQ(end - due, absl::Hours(24 * 10));
  EXPECT_THAT(RenewalDue("garbage"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace synmap::common
