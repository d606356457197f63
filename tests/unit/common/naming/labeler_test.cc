#include "common/naming/labeler.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/naming/name_table.h"
#include "common/packet/ip_address.h"
#include "tests/testing/status_matchers.h"

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

TEST(LabelerTest, TextOfAnIpLabelIsTheAddressToString) {
  ASSERT_OK_AND_ASSIGN(const NameTable names, NameTable::FromYaml("{}", "names.yaml"));
  const std::vector<IpAddress> ips = TrickyAddresses();
  Labeler labeler(names, ips, /*show_remote=*/true);
  Labeler::TextBuffer buffer;
  for (uint32_t ip = 0; ip < ips.size(); ++ip) {
    const uint32_t label = labeler.HostLabelId(ip);
    ASSERT_TRUE(Labeler::IsIpLabel(label));
    ASSERT_EQ(labeler.Text(label, buffer), ips[ip].ToString()) << "address " << ip;
    ASSERT_EQ(labeler.Label(label), ips[ip].ToString()) << "address " << ip;
  }
}

TEST(LabelerTest, TextOfANameIsTheName) {
  ASSERT_OK_AND_ASSIGN(const NameTable names, NameTable::FromYaml("local_networks: [10.0.0.0/8]\n"
                                                                  "hosts:\n  db: [10.0.0.5]\n",
                                                                  "names.yaml"));
  const std::vector<IpAddress> ips = {IpAddress::Parse("10.0.0.5").value(),
                                      IpAddress::Parse("192.0.2.1").value()};
  Labeler labeler(names, ips, /*show_remote=*/false);
  Labeler::TextBuffer buffer;
  EXPECT_EQ(labeler.Text(labeler.HostLabelId(0), buffer), "db");
  EXPECT_EQ(labeler.Text(labeler.HostLabelId(1), buffer), "_");
  EXPECT_EQ(labeler.Text(labeler.ServiceLabelId(1), buffer), "up:1");
}

}  // namespace
}  // namespace synmap::common
