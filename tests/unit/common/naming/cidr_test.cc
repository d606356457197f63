#include "common/naming/cidr.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_matchers.h"

namespace synmap::common {
namespace {

using ::synmap::testing::StatusIs;
using ::testing::HasSubstr;

IpAddress Ip(const std::string& text) { return IpAddress::Parse(text).value(); }

Cidr MustParse(const std::string& text) {
  absl::StatusOr<Cidr> cidr = Cidr::Parse(text);
  EXPECT_TRUE(cidr.ok()) << cidr.status();
  return cidr.ok() ? *cidr : Cidr{};
}

TEST(CidrTest, ParsesV4AndV6) {
  const Cidr v4 = MustParse("12.13.15.160/27");
  EXPECT_EQ(v4.network, Ip("12.13.15.160"));
  EXPECT_EQ(v4.prefix_length, 27);
  const Cidr v6 = MustParse("2001:db8:10::/48");
  EXPECT_EQ(v6.network, Ip("2001:db8:10::"));
  EXPECT_EQ(v6.prefix_length, 48);
  EXPECT_EQ(v6.ToString(), "2001:db8:10::/48");
}

TEST(CidrTest, BareAddressIsHostRoute) {
  EXPECT_EQ(MustParse("10.1.2.3").prefix_length, 32);
  EXPECT_EQ(MustParse("2001:db8::1").prefix_length, 128);
}

TEST(CidrTest, RejectsTooLongPrefix) {
  absl::StatusOr<Cidr> v4 = Cidr::Parse("10.0.0.0/33");
  EXPECT_THAT(v4, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(v4.status().message(), "'10.0.0.0/33' is not a CIDR (prefix length 33 > 32)");
  EXPECT_THAT(std::string(Cidr::Parse("2001:db8::/129").status().message()),
              HasSubstr("129 > 128"));
}

TEST(CidrTest, RejectsHostBitsAndNamesTheNetwork) {
  absl::StatusOr<Cidr> cidr = Cidr::Parse("192.168.1.7/24");
  EXPECT_THAT(cidr, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(cidr.status().message()), HasSubstr("192.168.1.0/24"));
}

TEST(CidrTest, RejectsGarbage) {
  for (const char* text : {"", "/8", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x",
                           "10.0.0/8", "host/8", "10.0.0.0/8/8", "10.0.0.0/0008"}) {
    EXPECT_THAT(Cidr::Parse(text), StatusIs(absl::StatusCode::kInvalidArgument)) << text;
  }
}

TEST(CidrTest, ContainsRespectsPrefixAndFamily) {
  const Cidr net = MustParse("12.13.15.160/27");
  EXPECT_TRUE(net.Contains(Ip("12.13.15.160")));
  EXPECT_TRUE(net.Contains(Ip("12.13.15.191")));
  EXPECT_FALSE(net.Contains(Ip("12.13.15.192")));
  EXPECT_FALSE(net.Contains(Ip("12.13.15.159")));
  EXPECT_FALSE(net.Contains(Ip("::ffff:12.13.15.160")));
  EXPECT_TRUE(MustParse("0.0.0.0/0").Contains(Ip("8.8.8.8")));
}

TEST(MaskAddressTest, ClearsBitsPastPrefix) {
  EXPECT_EQ(MaskAddress(Ip("255.255.255.255"), 20), Ip("255.255.240.0"));
  EXPECT_EQ(MaskAddress(Ip("255.255.255.255"), 0), Ip("0.0.0.0"));
  EXPECT_EQ(MaskAddress(Ip("2001:db8:abcd:ef01::1"), 36), Ip("2001:db8:a000::"));
}

TEST(PrefixSetTest, LongestMatchV4) {
  PrefixSet set;
  set.Insert(MustParse("10.0.0.0/8"));
  set.Insert(MustParse("10.1.0.0/16"));
  set.Insert(MustParse("10.1.2.0/24"));
  EXPECT_EQ(set.LongestMatch(Ip("10.1.2.3")), MustParse("10.1.2.0/24"));
  EXPECT_EQ(set.LongestMatch(Ip("10.1.3.3")), MustParse("10.1.0.0/16"));
  EXPECT_EQ(set.LongestMatch(Ip("10.200.0.1")), MustParse("10.0.0.0/8"));
  EXPECT_EQ(set.LongestMatch(Ip("11.0.0.1")), std::nullopt);
}

TEST(PrefixSetTest, LongestMatchV6AndFamiliesAreSeparate) {
  PrefixSet set;
  set.Insert(MustParse("2001:db8::/32"));
  set.Insert(MustParse("2001:db8:10::/48"));
  set.Insert(MustParse("0.0.0.0/0"));
  EXPECT_EQ(set.LongestMatch(Ip("2001:db8:10::5")), MustParse("2001:db8:10::/48"));
  EXPECT_EQ(set.LongestMatch(Ip("2001:db8:11::5")), MustParse("2001:db8::/32"));
  EXPECT_EQ(set.LongestMatch(Ip("2001:db9::1")), std::nullopt);  // v4 /0 does not cover v6.
  EXPECT_EQ(set.LongestMatch(Ip("203.0.113.9")), MustParse("0.0.0.0/0"));
  EXPECT_EQ(set.LongestMatch(IpAddress{}), std::nullopt);
}

}  // namespace
}  // namespace synmap::common
