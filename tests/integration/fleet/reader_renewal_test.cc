// The connection of a long-running reader (`synmap web`, ConnectToCollector with KeepRenewed)
// against a CollectorServer in this process, over real TLS with certificates from
// make-certs.sh: the reader certificate is renewed in the background and the channel presents
// the new one, so queries go on after the first certificate expired and the collector
// restarted; a connection made without KeepRenewed is refused by then.

#include <grpcpp/client_context.h>

#include <chrono>
#include <fstream>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/collector_client.h"
#include "common/tls/tls_files.h"
#include "synmap/v1/query.grpc.pb.h"
#include "tests/integration/fleet/fleet_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/common/tls/test_certs.h"

namespace synmap::collector {
namespace {

using ::synmap::testing::MakeCerts;

// One Sensors call over `conn`, waiting for the channel to be ready for up to `limit`.
grpc::Status QuerySensors(const cli::CollectorConnection& conn, absl::Duration limit) {
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(limit));
  v1::SensorsResponse response;
  return conn.stub->Sensors(&context, v1::SensorsRequest(), &response);
}

using ReaderRenewalTest = FleetServerTest;

TEST_F(ReaderRenewalTest, LongRunningReaderRenewsAndQueriesPastItsFirstCertificate) {
  // Valid from 3 s ago for 9 s: due 3 s from now, expired 6 s from now.
  ASSERT_OK(MakeCerts(dir_.path(), "reader web-reader --valid-seconds -3,6"));
  const common::TlsFiles files = FilesOf("web-reader");
  ASSERT_OK_AND_ASSIGN(std::string first, common::ReadPemFile("cert", files.cert_path));
  ASSERT_OK_AND_ASSIGN(absl::Time first_end, common::CertificateNotAfter(first));
  std::ofstream(dir_.File("cli.yaml")) << "timeout: 10s\n";
  cli::ConnectionFlags flags{.collector = MainAddress(),
                             .ca = files.ca_path,
                             .cert = files.cert_path,
                             .key = files.key_path,
                             .tls_name = "localhost",
                             .config = dir_.File("cli.yaml"),
                             .timeout = ""};
  ASSERT_OK_AND_ASSIGN(
      cli::CollectorConnection kept,
      cli::ConnectToCollector(
          flags, cli::KeepRenewed{.reload_every = absl::Seconds(1), .retry = absl::Seconds(1)}));
  ASSERT_OK_AND_ASSIGN(cli::CollectorConnection plain, cli::ConnectToCollector(flags));
  ASSERT_TRUE(QuerySensors(kept, absl::Seconds(10)).ok());
  ASSERT_TRUE(QuerySensors(plain, absl::Seconds(10)).ok());
  ASSERT_NE(kept.renewer, nullptr);
  EXPECT_EQ(plain.renewer, nullptr);

  // Past the first certificate's end, and a file-watcher period after that: the collector
  // restarts on the same port, so both channels must handshake again.
  absl::SleepFor(first_end + absl::Milliseconds(2500) - absl::Now());
  EXPECT_GE(kept.renewer->renewals(), 1u) << kept.renewer->last_failure();
  const int port = server_->port();
  StopServer();
  ASSERT_OK(StartServer(port));

  const grpc::Status renewed = QuerySensors(kept, absl::Seconds(10));
  EXPECT_TRUE(renewed.ok()) << renewed.error_message();
  const grpc::Status expired = QuerySensors(plain, absl::Seconds(3));
  EXPECT_FALSE(expired.ok()) << "a connection without renewal still works: the test proves nothing";
}

}  // namespace
}  // namespace synmap::collector
