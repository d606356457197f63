// Refused TLS handshakes end to end: the synmap-collector binary logs each one once with the
// peer's address and its own reason and counts it; the synmap CLI says in its own words what is
// wrong with its certificate. Real mTLS on loopback with certificates from make-certs.sh.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "synmap/v1/query.grpc.pb.h"
#include "tests/integration/collector/collector_process.h"
#include "tests/integration/collector/ingest_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap::testing {
namespace {

using ::testing::HasSubstr;

std::string CliBinary() { return SYNMAP_CLI_BINARY; }

// Runs `command` through the shell; stdout and stderr together, and the exit code.
struct CliResult {
  int exit_code = -1;
  std::string output;
};
CliResult RunShellCapture(const std::string& command) {
  CliResult r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    return r;
  }
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) {
    r.output.append(buf, n);
  }
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A TCP connection from 127.0.0.1 to `port` whose local port is known before it connects.
struct Connection {
  int fd = -1;
  int local_port = 0;
};
Connection ConnectFromKnownPort(int port) {
  Connection c;
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (c.fd < 0 || bind(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(c.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return c;
  }
  c.local_port = ntohs(addr.sin_port);
  const timeval tv{.tv_sec = 10, .tv_usec = 0};
  setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(c.fd);
    c.fd = -1;
  }
  return c;
}

// Sockets of finished attempts kept open until the test's end, so that no later attempt gets
// the same local port (the collector closes first, so a closed client port is free at once): the
// tests tell attempts apart by their ports. Thread-safe.
class HeldSockets {
 public:
  ~HeldSockets() {
    for (int fd : fds_) {
      close(fd);
    }
  }
  void Hold(int fd) {
    absl::MutexLock lock(&mu_);
    fds_.push_back(fd);
  }

 private:
  absl::Mutex mu_;
  std::vector<int> fds_;
};

// Closes `fd` now, or hands it to `held` when given.
void Release(int fd, HeldSockets* held) {
  if (held != nullptr) {
    held->Hold(fd);
  } else {
    close(fd);
  }
}

// A TLS client handshake presenting `material`'s certificate (none when `material` is null),
// then one read for the collector's verdict; returns the local port used (0 on failure).
int TlsAttempt(int port, const common::TlsMaterial* material, HeldSockets* held = nullptr) {
  Connection c = ConnectFromKnownPort(port);
  if (c.fd < 0) {
    return 0;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (material != nullptr) {
    BIO* cert_bio = BIO_new_mem_buf(material->cert_pem.data(), -1);
    X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    BIO* key_bio = BIO_new_mem_buf(material->key_pem.data(), -1);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    SSL_CTX_use_certificate(ctx, cert);
    SSL_CTX_use_PrivateKey(ctx, key);
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cert_bio);
    BIO_free(key_bio);
  }
  static constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};
  SSL* ssl = SSL_new(ctx);
  SSL_set_alpn_protos(ssl, kAlpnH2, sizeof(kAlpnH2));
  SSL_set_fd(ssl, c.fd);
  if (SSL_connect(ssl) == 1) {
    char byte = 0;
    SSL_read(ssl, &byte, 1);  // The refusal closes the connection after our certificate.
  }
  ERR_clear_error();
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  Release(c.fd, held);
  return c.local_port;
}

// Plain text where a TLS ClientHello belongs; waits for the collector to close.
int PlainTcpAttempt(int port, bool same_bytes = false, HeldSockets* held = nullptr) {
  Connection c = ConnectFromKnownPort(port);
  if (c.fd < 0) {
    return 0;
  }
  // Unless `same_bytes`, each attempt's bytes are its own (its port in the path): the collector
  // tells handshakes apart by their first bytes (collector/server/handshake_peer.h), and does
  // not name the peer of identical requests at once.
  const std::string request =
      absl::StrCat("GET /", same_bytes ? 0 : c.local_port, " HTTP/1.1\r\nHost: collector\r\n\r\n");
  if (write(c.fd, request.data(), request.size()) < 0) {
    close(c.fd);
    return 0;
  }
  char buf[256];
  while (read(c.fd, buf, sizeof(buf)) > 0) {
  }
  Release(c.fd, held);
  return c.local_port;
}

// Lines of `log` containing `text`.
std::vector<std::string> LinesWith(const std::string& log, absl::string_view text) {
  std::vector<std::string> found;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, text)) {
      found.emplace_back(line);
    }
  }
  return found;
}

class TlsRefusalTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TestPki();
    extra_ok_ = MakeCerts(pki_->dir(), "reader rold --expired").ok() &&
                MakeCerts(pki_->dir(), "reader ryoung --not-yet-valid").ok() &&
                MakeCerts(pki_->dir() + "/other", "reader r1").ok();
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(pki_->ok() && extra_ok_) << "make-certs.sh failed"; }

  std::unique_ptr<CollectorProcess> Start(std::vector<std::string> extra = {}) {
    const common::TlsFiles col = pki_->Files("col");
    std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--db",   data_.File("synmap.db"),
                                     "--ca",     col.ca_path,   "--cert", col.cert_path,
                                     "--key",    col.key_path};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = std::make_unique<CollectorProcess>(CollectorBinary(), args);
    port_ = p->WaitForPort();
    EXPECT_NE(port_, 0) << p->Log();
    return p;
  }

  // `synmap summary` against the collector with the CA of the deployment and `cert`/`key`.
  CliResult Summary(const std::string& cert, const std::string& key) const {
    return RunShellCapture(absl::StrCat(CliBinary(), " summary --collector 127.0.0.1:", port_,
                                        " --ca ", pki_->Files("col").ca_path, " --cert ", cert,
                                        " --key ", key, " --timeout 20s"));
  }
  CliResult SummaryAs(const std::string& name, bool other_ca = false) const {
    const common::TlsFiles f = pki_->Files(name, other_ca);
    return Summary(f.cert_path, f.key_path);
  }

  // Stops the collector (so its log is complete and ends with the counters) and returns it.
  static std::string StopAndLog(CollectorProcess& collector) {
    collector.Signal(SIGTERM);
    collector.Wait();
    collector.WaitForLog("collector_stopped", 1, absl::Seconds(10));
    return collector.Log();
  }

  static TestPki* pki_;
  static bool extra_ok_;
  TempDir data_;
  int port_ = 0;
};

TestPki* TlsRefusalTest::pki_ = nullptr;
bool TlsRefusalTest::extra_ok_ = false;

// One refused CLI handshake: exactly one refusal line in the collector's log, with the peer's
// loopback address and `reason`; the counter for `reason` is 1; the CLI exits 2 with `words`.
void ExpectOneRefusal(const std::string& log, const CliResult& cli, const std::string& reason,
                      const std::string& words) {
  const std::vector<std::string> refused = LinesWith(log, "tls_handshake_refused");
  ASSERT_EQ(refused.size(), 1u) << log;
  EXPECT_THAT(refused[0], HasSubstr("peer=ipv4:127.0.0.1:"));
  EXPECT_THAT(refused[0], HasSubstr(absl::StrCat(" reason=", reason, " ")));
  EXPECT_THAT(log, HasSubstr(absl::StrCat("tls_refusals reason=", reason, " count=1")));
  EXPECT_EQ(cli.exit_code, 2) << cli.output;
  EXPECT_THAT(cli.output, HasSubstr(words));
}

TEST_F(TlsRefusalTest, CertificateOfAnotherCaIsLoggedOnceWithItsPeerAndTheCliSaysSo) {
  auto collector = Start();
  const CliResult cli = SummaryAs("r1", /*other_ca=*/true);
  ExpectOneRefusal(StopAndLog(*collector), cli, "client_certificate_unknown_ca",
                   "this certificate is not issued by the CA in --ca, the collector's CA");
}

TEST_F(TlsRefusalTest, ExpiredCertificateIsLoggedOnceWithItsPeerAndTheCliSaysSo) {
  auto collector = Start();
  const CliResult cli = SummaryAs("rold");
  ExpectOneRefusal(StopAndLog(*collector), cli, "client_certificate_expired",
                   "this certificate has expired (not after ");
}

TEST_F(TlsRefusalTest, NotYetValidCertificateIsLoggedOnceWithItsPeerAndTheCliSaysSo) {
  auto collector = Start();
  const CliResult cli = SummaryAs("ryoung");
  ExpectOneRefusal(StopAndLog(*collector), cli, "client_certificate_not_yet_valid",
                   "this certificate is not valid yet (not before ");
}

TEST_F(TlsRefusalTest, WrongRoleIsRefusedAtTheCallOnceWithItsPeerAndTheCliSaysSo) {
  auto collector = Start();
  const CliResult cli = SummaryAs("s1");
  const std::string log = StopAndLog(*collector);
  // The handshake is fine (a sensor certificate is a valid identity); the Query call is not.
  EXPECT_TRUE(LinesWith(log, "tls_handshake_refused").empty()) << log;
  const std::vector<std::string> refused = LinesWith(log, "peer_refused");
  ASSERT_EQ(refused.size(), 1u) << log;
  EXPECT_THAT(refused[0], HasSubstr("rpc=Query.Summary peer=ipv4:127.0.0.1:"));
  EXPECT_THAT(refused[0], HasSubstr("name=s1 role=sensor reason=role_not_allowed"));
  EXPECT_THAT(log, HasSubstr("refusals reason=permission_denied count=1"));
  EXPECT_EQ(cli.exit_code, 2) << cli.output;
  EXPECT_THAT(
      cli.output,
      HasSubstr("certificate rejected: Query.Summary requires a certificate with OU=reader; 's1' "
                "has OU=sensor"));
}

TEST_F(TlsRefusalTest, NoClientCertificateIsLoggedOnceWithItsExactPeer) {
  auto collector = Start();
  const int local_port = TlsAttempt(port_, nullptr);
  ASSERT_NE(local_port, 0);
  const std::string log = StopAndLog(*collector);
  const std::vector<std::string> refused = LinesWith(log, "tls_handshake_refused");
  ASSERT_EQ(refused.size(), 1u) << log;
  EXPECT_THAT(refused[0], HasSubstr(absl::StrCat("peer=ipv4:127.0.0.1:", local_port,
                                                 " reason=no_client_certificate ")));
  EXPECT_THAT(log, HasSubstr("tls_refusals reason=no_client_certificate count=1"));
}

TEST_F(TlsRefusalTest, TheCliWithoutACertificateSaysWhatToGive) {
  auto collector = Start();
  const common::TlsFiles f = pki_->Files("r1");
  const CliResult cli = RunShellCapture(
      absl::StrCat("env -u SYNMAP_CERT -u SYNMAP_KEY -u SYNMAP_CONFIG HOME=", data_.path(), " ",
                   CliBinary(), " summary --collector 127.0.0.1:", port_, " --ca ", f.ca_path));
  EXPECT_EQ(cli.exit_code, 2) << cli.output;
  EXPECT_THAT(cli.output, HasSubstr("no reader certificate: give --ca, --cert and --key"));
  EXPECT_TRUE(LinesWith(StopAndLog(*collector), "tls_handshake_refused").empty());
}

TEST_F(TlsRefusalTest, PlainTcpIsLoggedOnceWithItsExactPeerAsNotTls) {
  auto collector = Start();
  const int local_port = PlainTcpAttempt(port_);
  ASSERT_NE(local_port, 0);
  const std::string log = StopAndLog(*collector);
  const std::vector<std::string> refused = LinesWith(log, "tls_handshake_refused");
  ASSERT_EQ(refused.size(), 1u) << log;
  EXPECT_THAT(refused[0],
              HasSubstr(absl::StrCat("peer=ipv4:127.0.0.1:", local_port, " reason=not_tls ")));
  EXPECT_THAT(log, HasSubstr("tls_refusals reason=not_tls count=1"));
}

TEST_F(TlsRefusalTest, TheCliSaysWhenTheCollectorDoesNotSpeakTls) {
  auto collector = Start({"--insecure-for-testing"});
  const CliResult cli = SummaryAs("r1");
  EXPECT_EQ(cli.exit_code, 2) << cli.output;
  EXPECT_THAT(cli.output, HasSubstr(absl::StrCat("the service at 127.0.0.1:", port_,
                                                 " does not answer in TLS")));
}

// Concurrent handshakes of every refused kind: each line names the connection it is about.
TEST_F(TlsRefusalTest, ConcurrentRefusalsAreEachLoggedWithTheirOwnPeerAndReason) {
  auto collector = Start();
  const common::TlsMaterial expired = pki_->Material("rold");
  const common::TlsMaterial foreign = pki_->Material("r1", /*other_ca=*/true);
  const common::TlsMaterial young = pki_->Material("ryoung");
  constexpr int kRounds = 6;
  struct Attempt {
    std::string reason;
    int local_port = 0;
  };
  std::vector<Attempt> attempts(5 * kRounds);
  std::vector<std::thread> threads;
  HeldSockets held;  // Every attempt's local port stays its own.
  for (int i = 0; i < 5 * kRounds; ++i) {
    threads.emplace_back([&, i] {
      Attempt& a = attempts[static_cast<size_t>(i)];
      switch (i % 5) {
        case 0:
          a = {"client_certificate_expired", TlsAttempt(port_, &expired, &held)};
          break;
        case 1:
          a = {"client_certificate_unknown_ca", TlsAttempt(port_, &foreign, &held)};
          break;
        case 2:
          a = {"client_certificate_not_yet_valid", TlsAttempt(port_, &young, &held)};
          break;
        case 3:
          a = {"no_client_certificate", TlsAttempt(port_, nullptr, &held)};
          break;
        default:
          a = {"not_tls", PlainTcpAttempt(port_, /*same_bytes=*/false, &held)};
          break;
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  const std::string log = StopAndLog(*collector);
  EXPECT_EQ(LinesWith(log, "tls_handshake_refused").size(), attempts.size()) << log;
  for (const Attempt& a : attempts) {
    ASSERT_NE(a.local_port, 0);
    const std::vector<std::string> mine =
        LinesWith(log, absl::StrCat("peer=ipv4:127.0.0.1:", a.local_port, " "));
    ASSERT_EQ(mine.size(), 1u) << a.reason << " from port " << a.local_port << "\n" << log;
    EXPECT_THAT(mine[0], HasSubstr(absl::StrCat(" reason=", a.reason, " ")));
  }
  EXPECT_THAT(log, HasSubstr(absl::StrCat("tls_refusals reason=not_tls count=", kRounds)));
}

// Identical plain-TCP probes at once (a scanner): their handshakes cannot be told apart by their
// bytes, so each line names its probe's own address or none ("unknown"), never another probe's.
TEST_F(TlsRefusalTest, IdenticalConcurrentProbesAreNeverLoggedWithAnotherOnesAddress) {
  auto collector = Start();
  constexpr int kProbes = 16;
  std::vector<int> ports(kProbes);
  std::vector<std::thread> threads;
  HeldSockets held;  // Every probe's local port stays its own.
  for (int i = 0; i < kProbes; ++i) {
    threads.emplace_back(
        [&, i] { ports[static_cast<size_t>(i)] = PlainTcpAttempt(port_, true, &held); });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  const std::string log = StopAndLog(*collector);
  const std::vector<std::string> refused = LinesWith(log, "tls_handshake_refused");
  ASSERT_EQ(refused.size(), static_cast<size_t>(kProbes)) << log;
  absl::flat_hash_map<std::string, int> lines_naming;
  int unknown = 0;
  for (const std::string& line : refused) {
    EXPECT_THAT(line, HasSubstr(" reason=not_tls "));
    const size_t at = line.find(" peer=");
    ASSERT_NE(at, std::string::npos) << line;
    const std::string peer = line.substr(at + 6, line.find(' ', at + 6) - at - 6);
    if (peer == "unknown") {
      ++unknown;
    } else {
      ++lines_naming[peer];
    }
  }
  for (const auto& [peer, lines] : lines_naming) {
    EXPECT_EQ(lines, 1) << peer << " is named by " << lines << " lines\n" << log;
    bool a_probe = false;
    for (int p : ports) {
      a_probe = a_probe || peer == absl::StrCat("ipv4:127.0.0.1:", p);
    }
    EXPECT_TRUE(a_probe) << peer << "\n" << log;
  }
  std::printf("identical probes: %d of %d logged without an address\n", unknown, kProbes);
  EXPECT_THAT(log, HasSubstr(absl::StrCat("tls_refusals reason=not_tls count=", kProbes)));
}

}  // namespace
}  // namespace synmap::testing
