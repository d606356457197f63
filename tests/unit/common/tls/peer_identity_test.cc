#include "common/tls/peer_identity.h"

#include <gtest/gtest.h>

#include <string>

#include "common/tls/tls_files.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/common/tls/test_certs.h"

namespace synmap::common {
namespace {

using ::synmap::testing::MakeCerts;
using ::synmap::testing::RunShell;
using ::synmap::testing::StatusIs;

class PeerIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(MakeCerts(dir_.path(), "ca")); }
  std::string Pem(const std::string& name) {
    absl::StatusOr<std::string> pem = ReadPemFile("test", dir_.File(name + ".pem"));
    EXPECT_OK(pem);
    return pem.ok() ? *pem : "";
  }
  // A self-signed cert with the given -subj, for subjects make-certs.sh refuses to make.
  std::string SelfSigned(const std::string& subject) {
    const std::string out = dir_.File("custom.pem");
    EXPECT_OK(
        RunShell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                 "-keyout '" +
                 dir_.File("custom.key") + "' -out '" + out + "' -days 1 -subj '" + subject + "'"));
    return Pem("custom");
  }
  synmap::testing::TempDir dir_;
};

TEST_F(PeerIdentityTest, SensorCertGivesCnAsNameAndOuAsRole) {
  ASSERT_OK(MakeCerts(dir_.path(), "sensor router-1.site_a"));
  ASSERT_OK_AND_ASSIGN(PeerIdentity id, ParseCertificateIdentity(Pem("router-1.site_a")));
  EXPECT_EQ(id.name, "router-1.site_a");
  EXPECT_EQ(id.role, kRoleSensor);
  EXPECT_EQ(id.address, "");
}

TEST_F(PeerIdentityTest, ReaderAndCollectorRoles) {
  ASSERT_OK(MakeCerts(dir_.path(), "reader alice"));
  ASSERT_OK(MakeCerts(dir_.path(), "collector col"));
  ASSERT_OK_AND_ASSIGN(PeerIdentity reader, ParseCertificateIdentity(Pem("alice")));
  ASSERT_OK_AND_ASSIGN(PeerIdentity collector, ParseCertificateIdentity(Pem("col")));
  EXPECT_EQ(reader.role, kRoleReader);
  EXPECT_EQ(collector.role, kRoleCollector);
}

TEST_F(PeerIdentityTest, SiteComesFromTheSubjectLocality) {
  ASSERT_OK(MakeCerts(dir_.path(), "sensor east --site alpha"));
  ASSERT_OK(MakeCerts(dir_.path(), "sensor west"));
  ASSERT_OK_AND_ASSIGN(PeerIdentity east, ParseCertificateIdentity(Pem("east")));
  ASSERT_OK_AND_ASSIGN(PeerIdentity west, ParseCertificateIdentity(Pem("west")));
  EXPECT_EQ(east.name, "east");
  EXPECT_EQ(east.site, "alpha");
  EXPECT_EQ(west.site, "");
  EXPECT_FALSE(MakeCerts(dir_.path(), "reader alice --site alpha").ok()) << "sensors only";
  EXPECT_THAT(ParseCertificateIdentity(SelfSigned("/L=a/L=b/OU=sensor/CN=x")),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(ParseCertificateIdentity(SelfSigned("/L=two words/OU=sensor/CN=x")),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(PeerIdentityTest, GarbageIsUnauthenticated) {
  EXPECT_THAT(ParseCertificateIdentity("-----BEGIN CERTIFICATE-----\nAAAA\n"),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(ParseCertificateIdentity(""), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(PeerIdentityTest, MissingOuGivesEmptyRole) {
  ASSERT_OK_AND_ASSIGN(PeerIdentity id, ParseCertificateIdentity(SelfSigned("/O=x/CN=noou")));
  EXPECT_EQ(id.name, "noou");
  EXPECT_EQ(id.role, "");
}

TEST_F(PeerIdentityTest, TwoOusArePermissionDenied) {
  EXPECT_THAT(ParseCertificateIdentity(SelfSigned("/OU=reader/OU=sensor/CN=both")),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(PeerIdentityTest, MissingCnIsPermissionDenied) {
  EXPECT_THAT(ParseCertificateIdentity(SelfSigned("/O=x/OU=sensor")),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(PeerIdentityTest, CnWithUnsafeCharactersIsPermissionDenied) {
  EXPECT_THAT(ParseCertificateIdentity(SelfSigned("/OU=sensor/CN=a b;c")),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

}  // namespace
}  // namespace synmap::common
