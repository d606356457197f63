#pragma once

// Test fixture of the fleet tests: a CollectorServer in this process with an issuing CA, over
// real TLS on loopback with certificates from make-certs.sh and a real SQLite store; sensors
// and readers enrolled by token or made by make-certs.sh.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/fleet/issuing_ca.h"
#include "collector/fleet/registrar.h"
#include "collector/query/names_holder.h"
#include "collector/query/query_engine.h"
#include "collector/server/collector_server.h"
#include "collector/store/enrolment_tokens.h"
#include "collector/store/sqlite_store.h"
#include "common/enrol/enrol_client.h"
#include "common/naming/name_table.h"
#include "common/status/status_macros.h"
#include "common/tls/certificate_request.h"
#include "common/tls/tls_files.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/common/tls/test_certs.h"

namespace synmap::collector {

class FleetServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(testing::MakeCerts(dir_.path(), "ca"));
    ASSERT_OK(testing::MakeCerts(dir_.path(), "issuing-ca"));
    ASSERT_OK(testing::MakeCerts(dir_.path(), "collector collector"));
    collector_files_ = common::TlsFiles{.ca_path = dir_.File("ca.pem"),
                                        .cert_path = dir_.File("collector.pem"),
                                        .key_path = dir_.File("collector.key")};
    ASSERT_OK_AND_ASSIGN(common::TlsMaterial tls, common::LoadTlsMaterial(collector_files_));
    SqliteStoreOptions store_options;
    store_options.path = dir_.File("store.db");
    ASSERT_OK_AND_ASSIGN(store_, OpenSqliteStore(store_options));
    ASSERT_OK_AND_ASSIGN(
        ca_, IssuingCa::Load(dir_.File("issuing-ca.pem"), dir_.File("issuing-ca.key"), tls.ca_pem,
                             absl::Now()));
    ASSERT_OK_AND_ASSIGN(tokens_, OpenEnrolmentTokens(store_options.path));
    registrar_ =
        std::make_unique<Registrar>(*ca_, *tokens_, *store_, RealClock::Get(), absl::Hours(1));
    engine_ = std::make_unique<QueryEngine>(*store_, names_);
    ASSERT_OK_AND_ASSIGN(fingerprint_, common::CertificateFingerprint(tls.ca_pem));
    ASSERT_OK(StartServer(0));
  }
  void TearDown() override { StopServer(); }

  // Starts the collector's main and enrolment ports; `port` 0 picks free ones, else the main
  // port is `port` (a restart on the same address).
  [[nodiscard]] absl::Status StartServer(int port) {
    SYNMAP_ASSIGN_OR_RETURN(common::TlsMaterial tls, common::LoadTlsMaterial(collector_files_));
    CollectorServerOptions options;
    options.listen_address = absl::StrCat("127.0.0.1:", port);
    options.enrol_listen_address = "127.0.0.1:0";
    options.tls = tls;
    options.tls_files = collector_files_;
    options.registrar = registrar_.get();
    SYNMAP_ASSIGN_OR_RETURN(server_,
                            CollectorServer::Start(options, *store_, *engine_, RealClock::Get()));
    return absl::OkStatus();
  }
  void StopServer() {
    if (server_ != nullptr) {
      server_->Shutdown(absl::Seconds(1));
    }
    server_.reset();
  }
  std::string MainAddress() const { return absl::StrCat("127.0.0.1:", server_->port()); }

  // The files make-certs.sh writes for NAME into the test directory.
  common::TlsFiles FilesOf(const std::string& name) const {
    return {.ca_path = dir_.File("ca.pem"),
            .cert_path = dir_.File(name + ".pem"),
            .key_path = dir_.File(name + ".key")};
  }

  // Enrols `name` as a sensor into the test directory; returns its files.
  common::TlsFiles EnrolSensor(const std::string& name) {
    common::TlsFiles files{.ca_path = dir_.File("ca-" + name + ".pem"),
                           .cert_path = dir_.File(name + ".pem"),
                           .key_path = dir_.File(name + ".key")};
    absl::StatusOr<std::string> token =
        CreateEnrolmentToken(*tokens_, name, "sensor", absl::Hours(1), absl::Now());
    EXPECT_OK(token);
    common::EnrolOptions options;
    options.collector = absl::StrCat("127.0.0.1:", server_->enrol_port());
    options.token = token.value_or("");
    options.ca_fingerprint = fingerprint_;
    options.role = "sensor";
    options.out = files;
    EXPECT_OK(common::Enroll(options).status());
    return files;
  }
  // Renewal of `files` at this collector's main port.
  common::RenewalOptions Renewal(const common::TlsFiles& files) {
    common::RenewalOptions options;
    options.collectors = {MainAddress()};
    options.files = files;
    options.channel.target_name_override = "localhost";
    return options;
  }

  testing::TempDir dir_;
  common::TlsFiles collector_files_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<IssuingCa> ca_;
  std::unique_ptr<EnrolmentTokens> tokens_;
  std::unique_ptr<Registrar> registrar_;
  NamesHolder names_{std::make_shared<const common::NameTable>()};
  std::unique_ptr<QueryEngine> engine_;
  std::unique_ptr<CollectorServer> server_;
  std::string fingerprint_;
};

// A "HOST:PORT" on loopback where nothing listens (a collector that is down): a port bound and
// kept bound, never listening, for the rest of the process, so that no test running beside
// this one can take it and answer there (connecting to it is refused).
inline std::string DeadAddress() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  return absl::StrCat("127.0.0.1:", port);
}

}  // namespace synmap::collector
