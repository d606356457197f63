#include "cli/web/web_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/cli/web/status_has.h"

namespace synmap::cli::web {
namespace {

using ::synmap::testing::StatusHas;
using ::synmap::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ParseListenAddressTest, ReadsHostsPortsAndLoopback) {
  ASSERT_OK_AND_ASSIGN(ListenAddress v4, ParseListenAddress("127.0.0.1:8080"));
  EXPECT_EQ(v4.host, "127.0.0.1");
  EXPECT_EQ(v4.port, 8080);
  EXPECT_TRUE(v4.loopback);
  ASSERT_OK_AND_ASSIGN(ListenAddress v6, ParseListenAddress("[::1]:0"));
  EXPECT_EQ(v6.host, "::1");
  EXPECT_TRUE(v6.loopback);
  EXPECT_TRUE(ParseListenAddress("localhost:1")->loopback);
  EXPECT_TRUE(ParseListenAddress("127.3.2.1:1")->loopback);
  EXPECT_FALSE(ParseListenAddress("0.0.0.0:8080")->loopback);
  EXPECT_FALSE(ParseListenAddress("[::]:8080")->loopback);
  EXPECT_FALSE(ParseListenAddress("192.168.1.5:8080")->loopback);
  EXPECT_FALSE(ParseListenAddress("example.org:8080")->loopback);
}

TEST(ParseListenAddressTest, RefusesMalformedAddresses) {
  for (const char* bad :
       {"8080", ":8080", "127.0.0.1:", "127.0.0.1:70000", "::1:8080", "[::1]8080", "127.0.0.1:x"}) {
    EXPECT_THAT(ParseListenAddress(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

WebServerOptions Options(const std::string& listen, const std::string& cert = "",
                         const std::string& key = "", const std::string& passwords = "",
                         const std::string& client_ca = "") {
  WebServerOptions options;
  options.listen = listen;
  options.tls_cert = cert;
  options.tls_key = key;
  options.password_file = passwords;
  options.client_ca = client_ca;
  return options;
}

TEST(WebServerOptionsTest, LoopbackNeedsNothingMore) {
  EXPECT_OK(Options("127.0.0.1:0").Validate());
  EXPECT_OK(Options("[::1]:8080").Validate());
}

TEST(WebServerOptionsTest, OtherAddressesNeedTlsAndAPasswordOrClientCertificates) {
  EXPECT_THAT(Options("0.0.0.0:8080").Validate(),
              StatusHas(absl::StatusCode::kInvalidArgument, "not a loopback address"));
  EXPECT_THAT(Options("0.0.0.0:8080", "", "", "pw").Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Options("0.0.0.0:8080", "c", "k").Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_OK(Options("0.0.0.0:8080", "c", "k", "pw").Validate());
  EXPECT_OK(Options("192.0.2.1:443", "c", "k", "", "ca").Validate());
}

TEST(WebServerOptionsTest, TlsFilesGoTogether) {
  EXPECT_THAT(Options("127.0.0.1:0", "c").Validate(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Options("127.0.0.1:0", "", "", "", "ca").Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace synmap::cli::web
