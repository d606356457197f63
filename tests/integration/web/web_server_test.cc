// `synmap web`'s server end to end without a browser (so the sanitizer stages run it): a real
// synmap-collector filled with the query data set (one server named with a hostile name), the
// web views and server in this process on a loopback port, and pages fetched with httplib.

#include "cli/web/web_server.h"

#include <httplib.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "cli/collector_client.h"
#include "cli/web/html.h"
#include "cli/web/web_views.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/web/hostile_names.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/cli/web/status_has.h"

namespace synmap::testing {
namespace {

using ::synmap::cli::web::WebServer;
using ::synmap::cli::web::WebServerOptions;
using ::synmap::cli::web::WebViews;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;

// The text of each <td> of each <tr> in the page's <tbody>, unescaped.
std::vector<std::vector<std::string>> TableRows(const std::string& html) {
  std::vector<std::vector<std::string>> rows;
  const size_t body = html.find("<tbody>");
  const size_t end = html.find("</tbody>");
  if (body == std::string::npos || end == std::string::npos) return rows;
  for (absl::string_view tr : absl::StrSplit(html.substr(body, end - body), "<tr>")) {
    if (tr.find("<td") == absl::string_view::npos) continue;
    std::vector<std::string> cells;
    for (absl::string_view td : absl::StrSplit(tr, "</td>")) {
      const size_t open = td.find('>', td.find("<td"));
      if (td.find("<td") == absl::string_view::npos) continue;
      cells.push_back(absl::StrReplaceAll(
          td.substr(open + 1),
          {{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}}));
    }
    rows.push_back(cells);
  }
  return rows;
}

// The model's summary rows with the hostile name for its address.
std::vector<std::vector<std::string>> ExpectedRows(const Query& q) {
  std::vector<std::vector<std::string>> rows;
  for (const Row& r : ExpectedSummary(q)) {
    rows.push_back({absl::StrCat(r.count), r.client,
                    r.server == kHostileAddress ? kHostileName : r.server, r.service});
  }
  return rows;
}

cli::ConnectionFlags ReaderFlags(const TestPki& pki, int port) {
  const common::TlsFiles f = pki.Files("r1");
  cli::ConnectionFlags flags;
  flags.collector = absl::StrCat("127.0.0.1:", port);
  flags.ca = f.ca_path;
  flags.cert = f.cert_path;
  flags.key = f.key_path;
  flags.timeout = "10s";
  return flags;
}

class WebServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TestPki();
    dir_ = new TempDir();
    if (!pki_->ok()) return;
    collector_ = new FilledCollector(*pki_, *dir_, NamesWithHostileHost());
    absl::StatusOr<cli::CollectorConnection> conn =
        cli::ConnectToCollector(ReaderFlags(*pki_, collector_->port()));
    if (!conn.ok()) return;
    views_ = new WebViews(*std::move(conn), absl::UTCTimeZone());
    absl::StatusOr<std::unique_ptr<WebServer>> server =
        WebServer::Start({.listen = "127.0.0.1:0"}, *views_);
    if (server.ok()) server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete views_;
    delete collector_;
    delete dir_;
    delete pki_;
  }
  void SetUp() override {
    ASSERT_TRUE(pki_->ok()) << "make-certs.sh failed";
    ASSERT_TRUE(collector_->filled()) << collector_->Log();
    ASSERT_NE(server_, nullptr);
  }
  static httplib::Client Client() { return httplib::Client("127.0.0.1", server_->port()); }
  static std::string Get(const std::string& path, int expected_status = 200) {
    httplib::Client client = Client();
    httplib::Result res = client.Get(path);
    EXPECT_TRUE(res) << path;
    if (!res) return "";
    EXPECT_EQ(res->status, expected_status) << path << "\n" << res->body;
    return res->body;
  }

  static TestPki* pki_;
  static TempDir* dir_;
  static FilledCollector* collector_;
  static WebViews* views_;
  static WebServer* server_;
};

TestPki* WebServerTest::pki_ = nullptr;
TempDir* WebServerTest::dir_ = nullptr;
FilledCollector* WebServerTest::collector_ = nullptr;
WebViews* WebServerTest::views_ = nullptr;
WebServer* WebServerTest::server_ = nullptr;

TEST_F(WebServerTest, SummaryRowsAreTheModelsRows) {
  EXPECT_THAT(TableRows(Get("/summary")), ElementsAreArray(ExpectedRows(Query{})));
}

TEST_F(WebServerTest, SummaryFiltersMeanWhatTheCliFlagsMean) {
  Query q;
  q.server = "alpha";
  q.slots = {kC, kD};
  const std::string since = Rfc3339(collector_->times().hour - absl::Hours(10));
  EXPECT_THAT(TableRows(Get(absl::StrCat("/summary?server=alpha&since=", since))),
              ElementsAreArray(ExpectedRows(q)));
  Query https;
  https.service = "https";
  https.client = "_";
  https.packets = true;
  EXPECT_THAT(TableRows(Get("/summary?service=https&client=_&count=packets")),
              ElementsAreArray(ExpectedRows(https)));
}

TEST_F(WebServerTest, SummaryStatesItsCoverageAsTheCli) {
  EXPECT_THAT(Get("/summary"),
              HasSubstr("<pre class=\"coverage\">coverage: 2 sensor(s), 4 batch(es), "));
}

TEST_F(WebServerTest, SortingAndPagingReorderTheSameRows) {
  const std::vector<std::vector<std::string>> rows = TableRows(Get("/summary?sort=server"));
  ASSERT_EQ(rows.size(), ExpectedRows(Query{}).size());
  for (size_t i = 1; i < rows.size(); ++i) EXPECT_LE(rows[i - 1][2], rows[i][2]);
  EXPECT_TRUE(TableRows(Get("/summary?page=2")).empty());
}

TEST_F(WebServerTest, EveryViewAnswersWithTheSecurityHeaders) {
  for (const char* path :
       {"/", "/summary", "/new", "/gone", "/sensors", "/downloads", "/assets/synmap.css",
        "/assets/synmap.js", "/assets/favicon.svg", "/download/summary.csv"}) {
    httplib::Client client = Client();
    httplib::Result res = client.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path << "\n" << res->body;
    EXPECT_EQ(res->get_header_value("Content-Security-Policy"), cli::web::kContentSecurityPolicy);
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
  }
}

TEST_F(WebServerTest, OnlyGetAndHeadAreAllowed) {
  httplib::Client client = Client();
  httplib::Result post = client.Post("/summary", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
  httplib::Result del = client.Delete("/");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
  httplib::Result head = client.Head("/summary");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
}

TEST_F(WebServerTest, HostileNameIsEscapedInTheTableAndTheMap) {
  for (const char* path : {"/summary", "/"}) {
    const std::string page = Get(path);
    EXPECT_THAT(page, Not(HasSubstr("<script>alert"))) << path;
    EXPECT_THAT(page, Not(HasSubstr("]]>"))) << path;
    EXPECT_THAT(page, HasSubstr("&lt;script&gt;alert(")) << path;
  }
}

TEST_F(WebServerTest, MapLinksEachNodeToItsRows) {
  const std::string page = Get("/");
  EXPECT_THAT(page, HasSubstr("<svg"));
  EXPECT_THAT(page, HasSubstr("href=\"/summary?server=alpha&amp;service=ssh\""));
  EXPECT_THAT(page, HasSubstr("href=\"/summary?client=beta\""));
}

TEST_F(WebServerTest, DownloadsAreTheCliOutputs) {
  EXPECT_THAT(Get("/download/summary.csv"), HasSubstr("count,client,server,service\r\n"));
  EXPECT_THAT(Get("/download/summary.json"), HasSubstr("\"coverage\": {"));
  EXPECT_THAT(Get("/download/rules.nft"), HasSubstr("synmap_allow"));
  EXPECT_THAT(Get("/download/rules.iptables"), HasSubstr("SYNMAP_ALLOW"));
  Get("/download/nothing.txt", 404);
}

TEST_F(WebServerTest, BadParametersAre400WithTheCliMessage) {
  EXPECT_THAT(Get("/summary?since=whenever", 400), HasSubstr("--since"));
  EXPECT_THAT(Get("/summary?count=bytes", 400), HasSubstr("--count"));
  EXPECT_THAT(Get("/summary?top=1", 400), HasSubstr("unknown parameter"));
}

TEST_F(WebServerTest, UnreachableCollectorIsAPageWith502) {
  cli::ConnectionFlags flags = ReaderFlags(*pki_, collector_->port());
  flags.collector = "127.0.0.1:1";
  ASSERT_OK_AND_ASSIGN(cli::CollectorConnection conn, cli::ConnectToCollector(flags));
  const WebViews views(std::move(conn), absl::UTCTimeZone());
  const cli::web::WebResponse response = views.Summary({});
  EXPECT_EQ(response.status, 502);
  EXPECT_THAT(response.body, HasSubstr("cannot reach collector"));
}

// A second `synmap web` on a port already served is refused: with cpp-httplib's default
// SO_REUSEPORT both would bind, and each browser connection would go to either of the two.
TEST_F(WebServerTest, ASecondServerOnTheSamePortIsRefused) {
  absl::StatusOr<std::unique_ptr<WebServer>> second =
      WebServer::Start({.listen = absl::StrCat("127.0.0.1:", server_->port())}, *views_);
  EXPECT_THAT(second.status(),
              StatusHas(absl::StatusCode::kUnavailable,
                        "address already in use (is another synmap web serving there?)"));
  if (second.ok()) {
    // Left running if it did start: stopping one of two listeners sharing a port can hang.
    (void)second->release();
  }
  EXPECT_EQ(Get("/").empty(), false);  // The first one still serves.
}

TEST_F(WebServerTest, NonLoopbackWithoutTlsIsRefused) {
  EXPECT_THAT(WebServer::Start({.listen = "0.0.0.0:0"}, *views_),
              StatusHas(absl::StatusCode::kInvalidArgument, "not a loopback address"));
}

TEST_F(WebServerTest, TlsWithPasswordFileAsksForThePassword) {
  std::ofstream(dir_->File("passwords")) << "# readers\nalice:open sesame\n";
  const common::TlsFiles col = pki_->Files("col");
  WebServerOptions options;
  options.listen = "127.0.0.1:0";
  options.tls_cert = col.cert_path;
  options.tls_key = col.key_path;
  options.password_file = dir_->File("passwords");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WebServer> tls, WebServer::Start(options, *views_));
  httplib::SSLClient client("127.0.0.1", tls->port());
  client.enable_server_certificate_verification(false);
  httplib::Result anonymous = client.Get("/sensors");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_THAT(anonymous->get_header_value("WWW-Authenticate"), HasSubstr("Basic"));
  client.set_basic_auth("alice", "open sesamE");
  EXPECT_EQ(client.Get("/sensors")->status, 401);
  client.set_basic_auth("alice", "open sesame");
  EXPECT_EQ(client.Get("/sensors")->status, 200);
}

TEST_F(WebServerTest, TlsWithClientCaNeedsAClientCertificate) {
  const common::TlsFiles col = pki_->Files("col");
  const common::TlsFiles reader = pki_->Files("r1");
  WebServerOptions options;
  options.listen = "127.0.0.1:0";
  options.tls_cert = col.cert_path;
  options.tls_key = col.key_path;
  options.client_ca = col.ca_path;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<WebServer> tls, WebServer::Start(options, *views_));
  httplib::SSLClient without("127.0.0.1", tls->port());
  without.enable_server_certificate_verification(false);
  EXPECT_FALSE(without.Get("/sensors"));
  httplib::SSLClient with("127.0.0.1", tls->port(), reader.cert_path, reader.key_path);
  with.enable_server_certificate_verification(false);
  httplib::Result res = with.Get("/sensors");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

}  // namespace
}  // namespace synmap::testing
