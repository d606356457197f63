// Enrolment and renewal through a CollectorServer in this process, over real TLS on loopback
// with certificates from make-certs.sh and a real SQLite store: a renewal over the peer's own
// identity, renewals refused for a revoked identity and for another identity, and the
// enrolment port serving nothing but Enroll (the main port still refuses a peer without a
// client certificate), both ports picking up a replaced collector certificate, and renewal
// going on at the next collector when the first is down.

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "collector/fleet/issuing_ca.h"
#include "collector/fleet/registrar.h"
#include "collector/query/names_holder.h"
#include "collector/query/query_engine.h"
#include "collector/server/collector_server.h"
#include "collector/store/enrolment_tokens.h"
#include "collector/store/sqlite_store.h"
#include "common/enrol/enrol_client.h"
#include "common/enrol/enrolment_token.h"
#include "common/naming/name_table.h"
#include "common/tls/certificate_request.h"
#include "common/tls/credentials.h"
#include "common/tls/peer_identity.h"
#include "common/tls/pinned_tls.h"
#include "common/tls/tls_files.h"
#include "synmap/v1/enrol.grpc.pb.h"
#include "synmap/v1/query.grpc.pb.h"
#include "tests/integration/fleet/fleet_server.h"
#include "tests/testing/eventually.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/common/tls/test_certs.h"

namespace synmap::collector {
namespace {

using ::synmap::testing::MakeCerts;
using ::synmap::testing::StatusIs;
using ::testing::HasSubstr;

using RenewalTest = FleetServerTest;

TEST_F(RenewalTest, RenewalOverItsOwnIdentityReplacesTheCertificateWithTheSameKey) {
  const common::TlsFiles files = EnrolSensor("router-c");
  ASSERT_OK_AND_ASSIGN(std::string before, common::ReadPemFile("cert", files.cert_path));
  ASSERT_OK_AND_ASSIGN(std::string key_before, common::ReadPemFile("key", files.key_path));
  ASSERT_OK_AND_ASSIGN(absl::Time renewed_until, common::RenewCertificate(Renewal(files)));
  ASSERT_OK_AND_ASSIGN(common::TlsMaterial after, common::LoadTlsMaterial(files));
  EXPECT_NE(after.cert_pem, before);
  EXPECT_EQ(after.key_pem, key_before);
  EXPECT_LE(absl::AbsDuration(renewed_until - (absl::Now() + absl::Hours(1))), absl::Seconds(10));
  ASSERT_OK_AND_ASSIGN(common::PeerIdentity identity,
                       common::ParseCertificateIdentity(after.cert_pem));
  EXPECT_EQ(identity.name, "router-c");
  EXPECT_EQ(identity.role, "sensor");
}

TEST_F(RenewalTest, RenewalOfARevokedIdentityIsRefusedAndTheFileKept) {
  const common::TlsFiles files = EnrolSensor("stolen");
  ASSERT_OK_AND_ASSIGN(std::string before, common::ReadPemFile("cert", files.cert_path));
  ASSERT_OK(store_->Revoke({.name = "stolen", .revoked_at = absl::Now(), .reason = "test"}));
  absl::StatusOr<absl::Time> renewed = common::RenewCertificate(Renewal(files));
  EXPECT_FALSE(renewed.ok());
  ASSERT_OK_AND_ASSIGN(std::string after, common::ReadPemFile("cert", files.cert_path));
  EXPECT_EQ(after, before);
  // Refused by the Renewal service, or already in the handshake when revocations are checked
  // there: either way nothing was signed.
  EXPECT_EQ(server_->refusals().Get("renew_revoked") +
                CollectorServer::tls_refusals().Get("client_certificate_revoked"),
            1u)
      << renewed.status();
}

TEST_F(RenewalTest, RenewalNamingAnotherIdentityIsRefused) {
  const common::TlsFiles files = EnrolSensor("honest");
  ASSERT_OK_AND_ASSIGN(common::TlsMaterial material, common::LoadTlsMaterial(files));
  common::ChannelOptions channel;
  channel.target_name_override = "localhost";
  auto stub = v1::Renewal::NewStub(
      common::MakeChannel(absl::StrCat("127.0.0.1:", server_->port()), material, channel));
  v1::RenewRequest request;
  ASSERT_OK_AND_ASSIGN(*request.mutable_csr_pem(),
                       common::MakeCertificateRequest(material.key_pem, "other", "sensor"));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::RenewResponse response;
  const grpc::Status status = stub->Renew(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_TRUE(response.certificate_chain_pem().empty());
  EXPECT_EQ(server_->refusals().Get("renew_wrong_identity"), 1u);
}

TEST_F(RenewalTest, EnrolmentPortServesOnlyEnrollAndTheMainPortStillNeedsACertificate) {
  const std::string fingerprint = fingerprint_;
  auto enrol_channel =
      common::MakePinnedChannel(absl::StrCat("127.0.0.1:", server_->enrol_port()), fingerprint);
  auto query = v1::Query::NewStub(enrol_channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::SensorsResponse sensors;
  EXPECT_EQ(query->Sensors(&context, v1::SensorsRequest(), &sensors).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // The same pinned TLS without a client certificate, at the main port: no handshake.
  auto main_query = v1::Query::NewStub(
      common::MakePinnedChannel(absl::StrCat("127.0.0.1:", server_->port()), fingerprint));
  grpc::ClientContext main_context;
  main_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  const grpc::Status refused = main_query->Sensors(&main_context, v1::SensorsRequest(), &sensors);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
}

TEST_F(RenewalTest, EnrolmentAgainstAnotherCaFingerprintIsRefusedBeforeTheTokenIsUsed) {
  ASSERT_OK_AND_ASSIGN(std::string token,
                       CreateEnrolmentToken(*tokens_, "s9", "sensor", absl::Hours(1), absl::Now()));
  common::EnrolOptions options;
  options.collector = absl::StrCat("127.0.0.1:", server_->enrol_port());
  options.token = token;
  options.ca_fingerprint = "SHA256:" + std::string(64, 'A');
  options.role = "sensor";
  options.out = {.ca_path = dir_.File("x-ca.pem"),
                 .cert_path = dir_.File("x.pem"),
                 .key_path = dir_.File("x.key")};
  absl::StatusOr<common::EnrolResult> refused = common::Enroll(options);
  EXPECT_FALSE(refused.ok());
  ASSERT_OK_AND_ASSIGN(EnrolmentToken unused,
                       tokens_->Claim(common::EnrolmentTokenHash(token), absl::Now()));
  EXPECT_FALSE(unused.used.has_value());
}

// The notAfter of the certificate the collector presents on `port`, as `openssl x509 -enddate`
// prints it, seen by a client presenting `files` (none when null: the enrolment port).
std::string PresentedEndDate(int port, const common::TlsFiles* files) {
  const std::string client_cert =
      files == nullptr ? ""
                       : absl::StrCat(" -cert '", files->cert_path, "' -key '", files->key_path,
                                      "' -CAfile '", files->ca_path, "'");
  return testing::ShellOutput(absl::StrCat("openssl s_client -connect 127.0.0.1:", port,
                                           client_cert,
                                           " </dev/null 2>/dev/null | openssl x509 -noout -enddate "
                                           "2>/dev/null"));
}

// PresentedEndDate once it differs from `before` (the file watcher's period is 5 s), or after
// 20 s the last one seen.
std::string AwaitPresentedEndDateChange(int port, const common::TlsFiles* files,
                                        const std::string& before) {
  std::string after = before;
  testing::Eventually(
      [&] {
        after = PresentedEndDate(port, files);
        return after != before;
      },
      absl::Seconds(20), absl::Milliseconds(500));
  return after;
}

TEST_F(RenewalTest, CollectorPresentsAReplacedCertificateWithoutARestart) {
  const common::TlsFiles sensor = EnrolSensor("watcher");
  const std::string before = PresentedEndDate(server_->port(), &sensor);
  ASSERT_THAT(before, HasSubstr("notAfter="));
  // A new collector certificate (2 days instead of 825), written over the old files.
  ASSERT_OK(MakeCerts(dir_.path(), "collector collector --days 2 --force"));
  const std::string after = AwaitPresentedEndDateChange(server_->port(), &sensor, before);
  EXPECT_NE(after, before);
  EXPECT_THAT(after, HasSubstr("notAfter="));
}

TEST_F(RenewalTest, EnrolmentPortPresentsAReplacedCertificateWithoutARestart) {
  const std::string before = PresentedEndDate(server_->enrol_port(), nullptr);
  ASSERT_THAT(before, HasSubstr("notAfter="));
  ASSERT_OK(MakeCerts(dir_.path(), "collector collector --days 2 --force"));
  const std::string after = AwaitPresentedEndDateChange(server_->enrol_port(), nullptr, before);
  EXPECT_NE(after, before);
  EXPECT_THAT(after, HasSubstr("notAfter="));
  // The new certificate still comes with the CA, so an enrolment pinned by its fingerprint
  // goes through on the same port.
  const common::TlsFiles enrolled = EnrolSensor("after-replace");
  ASSERT_OK_AND_ASSIGN(common::TlsMaterial material, common::LoadTlsMaterial(enrolled));
  ASSERT_OK_AND_ASSIGN(common::PeerIdentity identity,
                       common::ParseCertificateIdentity(material.cert_pem));
  EXPECT_EQ(identity.name, "after-replace");
}

TEST_F(RenewalTest, RenewalAsksTheNextCollectorWhenTheFirstIsDown) {
  const common::TlsFiles files = EnrolSensor("two-homed");
  ASSERT_OK_AND_ASSIGN(std::string before, common::ReadPemFile("cert", files.cert_path));
  common::RenewalOptions options = Renewal(files);
  options.collectors = {DeadAddress(), MainAddress()};
  options.timeout = absl::Seconds(5);
  ASSERT_OK(common::RenewCertificate(options).status());
  ASSERT_OK_AND_ASSIGN(std::string after, common::ReadPemFile("cert", files.cert_path));
  EXPECT_NE(after, before);
}

TEST_F(RenewalTest, RenewalRefusedEverywhereSaysWhyForEachCollectorAndKeepsTheFile) {
  const common::TlsFiles files = EnrolSensor("stranded");
  ASSERT_OK_AND_ASSIGN(std::string before, common::ReadPemFile("cert", files.cert_path));
  common::RenewalOptions options = Renewal(files);
  const std::string dead = DeadAddress();
  options.collectors = {dead, MainAddress()};
  options.timeout = absl::Seconds(5);
  ASSERT_OK(store_->Revoke({.name = "stranded", .revoked_at = absl::Now(), .reason = "test"}));
  absl::StatusOr<absl::Time> renewed = common::RenewCertificate(options);
  // The first collector's code (down), and each collector's words.
  EXPECT_THAT(renewed, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(renewed.status().message(), HasSubstr("renew at " + dead));
  EXPECT_THAT(renewed.status().message(), HasSubstr("renew at " + MainAddress()));
  ASSERT_OK_AND_ASSIGN(std::string after, common::ReadPemFile("cert", files.cert_path));
  EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace synmap::collector
