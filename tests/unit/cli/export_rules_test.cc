#include "cli/export_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_matchers.h"

namespace synmap::cli {
namespace {

using ::synmap::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

synmap::v1::ExportResponse TwoFamilies() {
  synmap::v1::ExportResponse resp;
  auto add = [&](const char* ip, uint32_t port, const char* server, const char* service) {
    synmap::v1::ExportRow* r = resp.add_rows();
    r->set_server_ip(ip);
    r->set_port(port);
    r->set_protocol("tcp");
    r->set_connections(4);
    r->set_clients(2);
    r->set_server(server);
    r->set_service(service);
  };
  add("198.51.100.2", 22, "alpha", "ssh");
  add("2001:db8::2", 443, "beta", "https");
  synmap::v1::SensorCoverage* s = resp.mutable_coverage()->add_sensors();
  s->set_sensor("router-a");
  s->set_batches(3);
  s->set_kernel_drops(17);
  return resp;
}

TEST(ExportRulesTest, NftTableIsFamilyAndName) {
  ASSERT_OK_AND_ASSIGN(NftTable t, ParseNftTable("ip6 fw"));
  EXPECT_EQ(t.family, "ip6");
  EXPECT_EQ(t.name, "fw");
  EXPECT_THAT(ParseNftTable("bridge filter").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseNftTable("inet").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseNftTable("inet a;b").status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ExportRulesTest, NftablesIsAFragmentOfTheUsersTableWithSetsAndAChain) {
  size_t omitted = 0;
  const std::string out = RenderNftables(TwoFamilies(), NftTable(), 1, &omitted);
  EXPECT_EQ(omitted, 0u);
  EXPECT_THAT(out, HasSubstr("table inet filter {\n  set synmap_allow_v4 {\n"));
  EXPECT_THAT(out, HasSubstr("  chain synmap_allow {\n  }\n}\nflush chain inet filter "
                             "synmap_allow\n"));
  EXPECT_THAT(out, HasSubstr("add element inet filter synmap_allow_v4 {\n  198.51.100.2 . 22 "
                             "comment \"alpha ssh: 4 connections from 2 clients\"\n}\n"));
  EXPECT_THAT(out, HasSubstr("add element inet filter synmap_allow_v6 {\n  2001:db8::2 . 443 "));
  EXPECT_THAT(out, HasSubstr("add rule inet filter synmap_allow ip daddr . tcp dport "
                             "@synmap_allow_v4 accept\n"));
  EXPECT_THAT(out, HasSubstr("add rule inet filter synmap_allow ip6 daddr . tcp dport "
                             "@synmap_allow_v6 accept\n"));
}

TEST(ExportRulesTest, NftablesIpTableLeavesIpv6OutAndCountsIt) {
  size_t omitted = 0;
  const std::string out = RenderNftables(TwoFamilies(), NftTable{"ip", "fw"}, 1, &omitted);
  EXPECT_EQ(omitted, 1u);
  EXPECT_THAT(out, HasSubstr("table ip fw {"));
  EXPECT_THAT(out, Not(HasSubstr("synmap_allow_v6")));
  EXPECT_EQ(RuleCount(TwoFamilies(), "nftables", NftTable{"ip", "fw"}), 1u);
}

TEST(ExportRulesTest, HeaderStatesCoverage) {
  size_t omitted = 0;
  const std::string out = RenderIptables(TwoFamilies(), /*v6=*/false, 3, &omitted);
  EXPECT_THAT(out, HasSubstr("# 1 sensor(s) reported in it:\n#   router-a: 3 batch(es)"));
  EXPECT_THAT(out, HasSubstr("INCOMPLETE: 17 kernel drops"));
  EXPECT_THAT(out, HasSubstr("# 1 rule(s), each seen with at least 3 connection(s)"));
}

TEST(ExportRulesTest, IptablesKeepsOneFamily) {
  size_t omitted = 0;
  const std::string v4 = RenderIptables(TwoFamilies(), /*v6=*/false, 1, &omitted);
  EXPECT_EQ(omitted, 1u);
  EXPECT_THAT(v4, HasSubstr("*filter\n:SYNMAP_ALLOW - [0:0]\n-A SYNMAP_ALLOW -d 198.51.100.2/32 "
                            "-p tcp -m tcp --dport 22 -m comment --comment \"alpha ssh: 4 "
                            "connections from 2 clients\" -j ACCEPT\nCOMMIT\n"));
  omitted = 0;
  const std::string v6 = RenderIptables(TwoFamilies(), /*v6=*/true, 1, &omitted);
  EXPECT_EQ(omitted, 1u);
  EXPECT_THAT(v6, HasSubstr("-A SYNMAP_ALLOW -d 2001:db8::2/128 -p tcp -m tcp --dport 443 "));
}

TEST(ExportRulesTest, CommentsCannotBreakOutOfTheirQuotes) {
  synmap::v1::ExportResponse resp = TwoFamilies();
  resp.mutable_rows(0)->set_server("evil\" accept; \\");
  size_t omitted = 0;
  const std::string out = RenderNftables(resp, NftTable(), 1, &omitted);
  EXPECT_THAT(out, HasSubstr("comment \"evil_ accept; _ ssh"));
}

}  // namespace
}  // namespace synmap::cli
