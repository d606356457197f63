#include "common/packet/ip_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace synmap::common {
namespace {

// Addresses whose text takes every path of the formatting: one- to three-digit bytes, zero runs
// of every length and place (first longest wins, a single zero word is not compressed), and
// the IPv4-compatible and -mapped forms.
std::vector<IpAddress> TrickyAddresses() {
  std::vector<IpAddress> ips;
  std::mt19937_64 random(15);
  for (int i = 0; i < 20000; ++i) {
    uint8_t bytes[16];
    const uint64_t zero_words = random();  // Each word zero with probability 1/2.
    for (int w = 0; w < 8; ++w) {
      const uint16_t word =
          (zero_words >> w & 1) != 0 ? 0 : static_cast<uint16_t>(random() >> (random() % 16));
      bytes[2 * w] = static_cast<uint8_t>(word >> 8);
      bytes[2 * w + 1] = static_cast<uint8_t>(word);
    }
    if (i % 7 == 0) {  // IPv4-mapped and -compatible shapes.
      std::fill(bytes, bytes + 10, 0);
      bytes[10] = bytes[11] = i % 14 == 0 ? 0xff : 0;
    }
    ips.push_back(IpAddress::V6(bytes));
    const uint8_t v4[4] = {static_cast<uint8_t>(random() >> (random() % 8)),
                           static_cast<uint8_t>(random()), static_cast<uint8_t>(i),
                           static_cast<uint8_t>(random() % 10)};
    ips.push_back(IpAddress::V4(v4));
  }
  for (const char* text : {"::", "::1", "1::", "::ffff:0.0.0.0", "::0.0.0.2", "::1:0:0:0:1",
                           "1:0:0:1:0:0:0:1", "1:0:1:0:1:0:1:0", "0.0.0.0", "255.255.255.255"}) {
    ips.push_back(IpAddress::Parse(text).value());
  }
  return ips;
}

// The reference: glibc's inet_ntop (RFC 5952).
std::string InetNtop(const IpAddress& ip) {
  char text[INET6_ADDRSTRLEN];
  const int family = ip.is_v4() ? AF_INET : AF_INET6;
  EXPECT_NE(inet_ntop(family, ip.bytes.data(), text, sizeof(text)), nullptr);
  return text;
}

TEST(IpAddressTest, TextIsInetNtops) {
  IpAddress::TextBuffer buffer;
  for (const IpAddress& ip : TrickyAddresses()) {
    const std::string expected = InetNtop(ip);
    ASSERT_EQ(std::string(ip.Text(buffer)), expected);
    ASSERT_EQ(ip.ToString(), expected);
    ASSERT_EQ(IpAddress::Parse(expected).value(), ip) << expected;
  }
}

TEST(IpAddressTest, TheLongestTextsFitTheBuffer) {
  IpAddress::TextBuffer buffer;
  const IpAddress mapped = IpAddress::Parse("::ffff:255.255.255.255").value();
  EXPECT_EQ(mapped.Text(buffer), "::ffff:255.255.255.255");
  const IpAddress full = IpAddress::Parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").value();
  EXPECT_EQ(full.Text(buffer), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_LE(full.Text(buffer).size(), buffer.size());
}

TEST(IpAddressTest, NoAddressReadsAsADash) {
  IpAddress::TextBuffer buffer;
  EXPECT_EQ(IpAddress().Text(buffer), "-");
  EXPECT_EQ(IpAddress().ToString(), "-");
}

}  // namespace
}  // namespace synmap::common
