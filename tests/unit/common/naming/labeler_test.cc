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

// An offline summary adds addresses to the dictionary while it labels them; its labels, at the
// global names and a site's, are those of a Labeler made over the whole dictionary, also after
// the per-address caches were forgotten.
TEST(LabelerTest, AddressesAddedWhileLabelingAreLabeledAsIfThereFromTheStart) {
  ASSERT_OK_AND_ASSIGN(const NameTable names,
                       NameTable::FromYaml("local_networks: [10.0.0.0/8]\n"
                                           "hosts:\n  db: [10.0.0.5]\n"
                                           "sites:\n  a:\n    local_networks: [192.0.2.0/24]\n"
                                           "    hosts:\n      gw: [192.0.2.1]\n",
                                           "names.yaml"));
  std::vector<IpAddress> all;
  for (int i = 0; i < 3000; ++i) {
    all.push_back(*IpAddress::Parse(i % 3 == 0   ? "10.0.0." + std::to_string(i % 250)
                                    : i % 3 == 1 ? "192.0.2." + std::to_string(i % 250)
                                                 : "198.51.100." + std::to_string(i % 250)));
  }
  Labeler whole(names, all, /*show_remote=*/false);
  std::vector<IpAddress> growing;
  Labeler labeler(names, growing, /*show_remote=*/false);
  const uint32_t site = labeler.SiteId("a");
  ASSERT_EQ(whole.SiteId("a"), site);
  for (uint32_t ip = 0; ip < all.size(); ++ip) {
    growing.push_back(all[ip]);
    if (ip == 1500) {
      labeler.ForgetAddressCaches();
    }
    for (uint32_t s : {0u, site}) {
      ASSERT_EQ(labeler.Label(labeler.HostLabelId(ip, s)), whole.Label(whole.HostLabelId(ip, s)))
          << all[ip].ToString() << " site " << s;
      ASSERT_EQ(labeler.IsLocal(ip, s), whole.IsLocal(ip, s)) << all[ip].ToString();
    }
  }
  // Earlier addresses, asked again after the caches were forgotten.
  labeler.ForgetAddressCaches();
  for (uint32_t ip = 0; ip < all.size(); ip += 7) {
    EXPECT_EQ(labeler.Label(labeler.HostLabelId(ip, site)),
              whole.Label(whole.HostLabelId(ip, site)));
    EXPECT_EQ(labeler.IsLocal(ip), whole.IsLocal(ip));
  }
}

}  // namespace
}  // namespace synmap::common
