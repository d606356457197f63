#include "common/naming/labeler.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/naming/name_table.h"
#include "common/packet/ip_address.h"
#include "tests/testing/status_matchers.h"

namespace synmap::common {
namespace {

// A few addresses of each family and form (IpAddressTest checks the text itself).
std::vector<IpAddress> SomeAddresses() {
  std::vector<IpAddress> ips;
  for (const char* text : {"::", "::1", "1::", "::ffff:192.0.2.1", "2001:db8::5", "192.0.2.1",
                           "10.0.0.255", "1:0:0:1:0:0:0:1"}) {
    ips.push_back(IpAddress::Parse(text).value());
  }
  return ips;
}

TEST(LabelerTest, TextOfAnIpLabelIsTheAddressToString) {
  ASSERT_OK_AND_ASSIGN(const NameTable names, NameTable::FromYaml("{}", "names.yaml"));
  const std::vector<IpAddress> ips = SomeAddresses();
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
