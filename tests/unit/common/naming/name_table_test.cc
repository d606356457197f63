#include "common/naming/name_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/packet/ip_address.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap::common {
namespace {

using ::synmap::testing::StatusIs;
using ::synmap::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

IpAddress Ip(const std::string& text) { return IpAddress::Parse(text).value(); }

// The example of DESIGN.md, plus a nested network for longest-prefix checks.
constexpr char kDesignExample[] =
    R"(local_networks: [12.13.14.137/32, 12.13.15.160/27, "2001:db8:10::/48"]
hosts:
  dumbo: [12.13.14.137]
  www:   [12.13.15.163, 12.13.15.166]     # several IPs may share one name
services:                                  # overrides on top of the system table
  873: rsync
  8443: https-alt
)";

ServiceTable SystemServices() {
  return ServiceTable::Parse("ssh 22/tcp\nhttp 80/tcp www\nrsync-sys 873/tcp\n");
}

NameTable MustLoad(const std::string& yaml) {
  absl::StatusOr<NameTable> table = NameTable::FromYaml(yaml, "names.yaml", SystemServices());
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *std::move(table) : NameTable();
}

// The error message for `yaml`, which must be rejected as InvalidArgument.
std::string ErrorFor(const std::string& yaml) {
  absl::StatusOr<NameTable> table = NameTable::FromYaml(yaml, "names.yaml");
  EXPECT_THAT(table, StatusIs(absl::StatusCode::kInvalidArgument)) << yaml;
  return std::string(table.status().message());
}

TEST(NameTableTest, DesignExampleLabelsHosts) {
  const NameTable names = MustLoad(kDesignExample);
  EXPECT_EQ(names.HostLabel(Ip("12.13.14.137"), false), "dumbo");
  EXPECT_EQ(names.HostLabel(Ip("12.13.15.163"), false), "www");
  EXPECT_EQ(names.HostLabel(Ip("12.13.15.166"), false), "www");           // Shared name.
  EXPECT_EQ(names.HostLabel(Ip("12.13.15.170"), false), "12.13.15.170");  // Local, unnamed.
  EXPECT_EQ(names.HostLabel(Ip("2001:db8:10::abc"), false), "2001:db8:10::abc");
  EXPECT_EQ(names.HostLabel(Ip("8.8.8.8"), false), "_");  // Remote.
  EXPECT_EQ(names.HostLabel(Ip("2001:db8:11::1"), false), "_");
  EXPECT_EQ(names.HostLabel(Ip("8.8.8.8"), true), "8.8.8.8");
  EXPECT_EQ(names.HostLabel(Ip("12.13.14.138"), false), "_");  // Just past the /32.
}

TEST(NameTableTest, IsLocalUsesLongestPrefix) {
  const NameTable names = MustLoad(
      "local_networks: [10.0.0.0/8, 10.1.0.0/16, \"2001:db8::/32\", "
      "\"2001:db8:10::/48\"]\n");
  EXPECT_TRUE(names.IsLocal(Ip("10.1.2.3")));
  EXPECT_FALSE(names.IsLocal(Ip("11.0.0.1")));
  EXPECT_EQ(names.LocalNetworkOf(Ip("10.1.2.3")), Cidr::Parse("10.1.0.0/16").value());
  EXPECT_EQ(names.LocalNetworkOf(Ip("10.2.0.1")), Cidr::Parse("10.0.0.0/8").value());
  EXPECT_EQ(names.LocalNetworkOf(Ip("2001:db8:10::1")), Cidr::Parse("2001:db8:10::/48").value());
  EXPECT_EQ(names.LocalNetworkOf(Ip("2001:db8:ffff::1")), Cidr::Parse("2001:db8::/32").value());
  EXPECT_EQ(names.LocalNetworkOf(Ip("2001:db9::1")), std::nullopt);
}

TEST(NameTableTest, NamedRemoteHostShowsItsName) {
  const NameTable names = MustLoad("local_networks: [10.0.0.0/8]\nhosts:\n  dns: 8.8.8.8\n");
  EXPECT_FALSE(names.IsLocal(Ip("8.8.8.8")));
  EXPECT_EQ(names.HostLabel(Ip("8.8.8.8"), false), "dns");
}

TEST(NameTableTest, WithoutLocalNetworksEverythingIsLocal) {
  const NameTable no_file;
  EXPECT_TRUE(no_file.IsLocal(Ip("8.8.8.8")));
  EXPECT_EQ(no_file.HostLabel(Ip("8.8.8.8"), false), "8.8.8.8");
  EXPECT_EQ(no_file.HostLabel(Ip("2001:db8::1"), false), "2001:db8::1");
  const NameTable hosts_only = MustLoad("hosts:\n  dumbo: [10.0.0.1]\n");
  EXPECT_EQ(hosts_only.HostLabel(Ip("10.0.0.1"), false), "dumbo");
  EXPECT_EQ(hosts_only.HostLabel(Ip("10.0.0.2"), false), "10.0.0.2");
  EXPECT_FALSE(hosts_only.has_local_networks());
  EXPECT_TRUE(MustLoad("").IsLocal(Ip("1.2.3.4")));
  EXPECT_TRUE(MustLoad("local_networks: []\n").IsLocal(Ip("1.2.3.4")));
}

TEST(NameTableTest, ServiceLabelOverrideThenSystemThenUp) {
  const NameTable names = MustLoad(kDesignExample);
  EXPECT_EQ(names.ServiceLabel(873), "rsync");       // Override beats system "rsync-sys".
  EXPECT_EQ(names.ServiceLabel(8443), "https-alt");  // Override only.
  EXPECT_EQ(names.ServiceLabel(22), "ssh");          // System table.
  EXPECT_EQ(names.ServiceLabel(80), "http");
  EXPECT_EQ(names.ServiceLabel(31337), "up:31337");
  EXPECT_EQ(NameTable().ServiceLabel(22), "up:22");  // No system table at all.
}

TEST(NameTableTest, LoadFileReadsNamesAndServicesFiles) {
  TempDir dir;
  std::ofstream(dir.File("names.yaml")) << kDesignExample;
  std::ofstream(dir.File("services")) << "imaps 993/tcp\nhttp 80/tcp\n";
  ASSERT_OK_AND_ASSIGN(const NameTable names,
                       NameTable::LoadFile(dir.File("names.yaml"), dir.File("services")));
  EXPECT_EQ(names.HostLabel(Ip("12.13.14.137"), false), "dumbo");
  EXPECT_EQ(names.ServiceLabel(993), "imaps");
  EXPECT_EQ(names.ServiceLabel(8443), "https-alt");
  EXPECT_EQ(names.ServiceLabel(22), "up:22");  // Not in this services file.
}

TEST(NameTableTest, LoadFileWithoutNamesFileUsesSystemServices) {
  TempDir dir;
  std::ofstream(dir.File("services")) << "ssh 22/tcp\n";
  ASSERT_OK_AND_ASSIGN(const NameTable names, NameTable::LoadFile("", dir.File("services")));
  EXPECT_EQ(names.ServiceLabel(22), "ssh");
  EXPECT_EQ(names.HostLabel(Ip("8.8.8.8"), false), "8.8.8.8");
}

TEST(NameTableTest, LoadFileMissingServicesFileLeavesSystemTableEmpty) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(const NameTable names, NameTable::LoadFile("", dir.File("none")));
  EXPECT_EQ(names.ServiceLabel(22), "up:22");
}

TEST(NameTableTest, LoadFileMissingNamesFileIsNotFound) {
  TempDir dir;
  std::ofstream(dir.File("services")) << "ssh 22/tcp\n";
  const absl::StatusOr<NameTable> names =
      NameTable::LoadFile(dir.File("missing.yaml"), dir.File("services"));
  EXPECT_THAT(names, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(std::string(names.status().message()), HasSubstr("missing.yaml"));
}

TEST(NameTableTest, LoadFileErrorNamesThePath) {
  TempDir dir;
  const std::string path = dir.File("names.yaml");
  std::ofstream(path) << "hosts:\n  a: [10.0.0.300]\n";
  const absl::StatusOr<NameTable> names = NameTable::LoadFile(path, dir.File("none"));
  EXPECT_THAT(names, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(names.status().message()), StartsWith(path + ":2: hosts.a[0]: "));
}

// --- Errors: each names the file, the line and what is wrong. ---

TEST(NamesFileErrorTest, BadCidr) {
  EXPECT_EQ(ErrorFor("hosts: {}\n"
                     "local_networks:\n"
                     "  - 10.0.0.0/8\n"
                     "  - 10.0.0.0/33\n"),
            "names.yaml:4: local_networks[1]: '10.0.0.0/33' is not a CIDR "
            "(prefix length 33 > 32)");
  EXPECT_THAT(ErrorFor("local_networks: [10.0.0.1/8]\n"),
              AllOf(StartsWith("names.yaml:1: local_networks[0]: "), HasSubstr("10.0.0.0/8")));
  EXPECT_THAT(ErrorFor("local_networks: 10.0.0.0/8\n"),
              StartsWith("names.yaml:1: local_networks: expected a list"));
}

TEST(NamesFileErrorTest, BadIp) {
  EXPECT_EQ(ErrorFor("hosts:\n"
                     "  dumbo: [12.13.14.137]\n"
                     "  www:\n"
                     "    - 12.13.15.163\n"
                     "    - 12.13.15.366\n"),
            "names.yaml:5: hosts.www[1]: '12.13.15.366' is not an IP address");
}

TEST(NamesFileErrorTest, IpUnderTwoNames) {
  EXPECT_EQ(ErrorFor("hosts:\n"
                     "  dumbo: [12.13.14.137]\n"
                     "  mickey: [10.0.0.1, 12.13.14.137]\n"),
            "names.yaml:3: hosts.mickey[1]: 12.13.14.137 is already named 'dumbo' (line 2); "
            "an IP takes one name");
}

TEST(NamesFileErrorTest, DuplicateHostNameAndDuplicatePort) {
  EXPECT_THAT(ErrorFor("hosts:\n  a: [10.0.0.1]\n  a: [10.0.0.2]\n"),
              StartsWith("names.yaml:3: hosts: 'a' is listed twice (first on line 2)"));
  EXPECT_THAT(ErrorFor("services:\n  873: rsync\n  873: other\n"),
              StartsWith("names.yaml:3: services: port 873 is listed twice"));
}

TEST(NamesFileErrorTest, BadPort) {
  EXPECT_EQ(ErrorFor("services:\n  873: rsync\n  70000: big\n"),
            "names.yaml:3: services: '70000' is not a port (1-65535)");
  EXPECT_THAT(ErrorFor("services:\n  http: web\n"),
              StartsWith("names.yaml:2: services: 'http' is not a port"));
  EXPECT_THAT(ErrorFor("services:\n  0: zero\n"), StartsWith("names.yaml:2: services: '0'"));
  EXPECT_THAT(ErrorFor("services:\n  -1: neg\n"), StartsWith("names.yaml:2: services: '-1'"));
}

TEST(NamesFileErrorTest, UnknownKey) {
  EXPECT_EQ(ErrorFor("hosts: {}\nlocal_network: [10.0.0.0/8]\n"),
            "names.yaml:2: unknown key 'local_network' (expected local_networks, hosts, "
            "services or sites)");
}

TEST(NamesFileErrorTest, YamlSyntax) {
  EXPECT_THAT(ErrorFor("hosts:\n  dumbo: [12.13.14.137\nservices: {}\n"),
              AllOf(StartsWith("names.yaml:"), HasSubstr("invalid YAML")));
  // A stray "]" on line 3: the line is reported, without yaml-cpp's own prefix.
  EXPECT_THAT(ErrorFor("hosts:\n  a: [10.0.0.1]\n  b: [10.0.0.2]]\nservices: {}\n"),
              StartsWith("names.yaml:3: invalid YAML: "));
  EXPECT_THAT(ErrorFor("hosts: {}\nservices: @x\n"), StartsWith("names.yaml:2: invalid YAML"));
}

TEST(NamesFileErrorTest, ASyntaxErrorFurtherOnIsReportedBeforeAnEarlierMistake) {
  // The file is read to its end: a broken file says so rather than pointing at a symptom.
  EXPECT_THAT(ErrorFor("hosts:\n  a: [10.0.0.300]\n  b: [10.0.0.2]]\n"),
              StartsWith("names.yaml:3: invalid YAML: "));
  // Only the first mistake is reported.
  EXPECT_EQ(ErrorFor("hosts:\n  a: [10.0.0.300]\n  b: [10.0.0.400]\n"),
            "names.yaml:2: hosts.a[0]: '10.0.0.300' is not an IP address");
}

TEST(NamesFileErrorTest, AliasesAreRefused) {
  EXPECT_EQ(ErrorFor("local_networks: &nets [10.0.0.0/8]\nhosts:\n  a: *nets\n"),
            "names.yaml:3: aliases (*name) are not supported in a names file; write the value "
            "out");
}

TEST(NameTableTest, ManyHostsAreAllNamedAndCounted) {
  std::string yaml = "local_networks: [10.0.0.0/8]\nhosts:\n";
  for (int i = 0; i < 5000; ++i) {
    absl::StrAppend(&yaml, "  h", i, ": [10.0.", i / 256, ".", i % 256, ", \"2001:db8::", i,
                    "\"]\n");
  }
  absl::StrAppend(&yaml, "  lonely: []\n");
  const absl::StatusOr<NameTable> names = NameTable::FromYaml(yaml, "names.yaml");
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(names->counts().hosts, 5000u) << "a name without addresses names nothing";
  EXPECT_EQ(names->counts().host_addresses, 10000u);
  EXPECT_EQ(names->HostLabel(*IpAddress::Parse("10.0.19.135"), false), "h4999");
  EXPECT_EQ(names->HostLabel(*IpAddress::Parse("2001:db8::4999"), false), "h4999");
  EXPECT_EQ(names->HostLabel(*IpAddress::Parse("10.0.0.0"), false), "h0");
}

TEST(NamesFileErrorTest, WrongShapes) {
  EXPECT_THAT(ErrorFor("- 10.0.0.0/8\n"), StartsWith("names.yaml:1: expected a map"));
  EXPECT_THAT(ErrorFor("hosts: [10.0.0.1]\n"), StartsWith("names.yaml:1: hosts: expected a map"));
  EXPECT_THAT(ErrorFor("hosts:\n  a:\n    b: 10.0.0.1\n"),
              StartsWith("names.yaml:3: hosts.a: expected a list of IP addresses"));
  EXPECT_THAT(ErrorFor("services:\n  22: [ssh]\n"),
              StartsWith("names.yaml:2: services.22: a name must be a string"));
}

TEST(NamesFileErrorTest, BadNames) {
  EXPECT_THAT(ErrorFor("hosts:\n  \"two words\": [10.0.0.1]\n"),
              StartsWith("names.yaml:2: hosts: 'two words' is not a valid name"));
  EXPECT_THAT(ErrorFor("hosts:\n  _: [10.0.0.1]\n"),
              StartsWith("names.yaml:2: hosts: '_' is reserved"));
  EXPECT_THAT(ErrorFor("services:\n  22: \"\"\n"),
              StartsWith("names.yaml:2: services.22: '' is not a valid name"));
}

TEST(NamesFileErrorTest, DuplicateTopLevelKey) {
  EXPECT_THAT(ErrorFor("hosts: {}\nservices: {}\nhosts: {}\n"),
              StartsWith("names.yaml:3: key 'hosts' appears twice (first on line 1)"));
}

TEST(NameCountsTest, CountsNetworksNamesAddressesAndServices) {
  const NameCounts counts = MustLoad(kDesignExample).counts();
  EXPECT_EQ(counts,
            (NameCounts{.local_networks = 3, .hosts = 2, .host_addresses = 3, .services = 2}));
  EXPECT_EQ(DescribeNameCounts(counts), "local_networks=3 hosts=2 host_addresses=3 services=2");
}

TEST(NamesReloadTest, EmptyOrCommentOnlyFileIsRefusedWhenItWouldBlankTheMap) {
  const NameTable current = MustLoad(kDesignExample);
  for (const std::string& text :
       {std::string(""), std::string("# all commented out\n# hosts:\n")}) {
    const NameTable next = MustLoad(text);
    EXPECT_THAT(CheckNamesReload(current, next, "names.yaml"),
                StatusIs(absl::StatusCode::kFailedPrecondition))
        << "file: '" << text << "'";
  }
  EXPECT_THAT(CheckNamesReload(current, MustLoad(""), "names.yaml").message(),
              HasSubstr("local_networks: []"));
}

TEST(NamesReloadTest, AnExplicitlyEmptyKeyMayBlankTheMap) {
  const NameTable current = MustLoad(kDesignExample);
  EXPECT_OK(CheckNamesReload(current, MustLoad("local_networks: []\n"), "names.yaml"));
  EXPECT_OK(CheckNamesReload(current, MustLoad("hosts:\n"), "names.yaml"));
}

TEST(NamesReloadTest, PartialChangesAndEmptyToEmptyAreAccepted) {
  EXPECT_OK(CheckNamesReload(MustLoad(kDesignExample), MustLoad("hosts:\n  db: [10.0.0.1]\n"),
                             "names.yaml"));
  EXPECT_OK(CheckNamesReload(NameTable(), MustLoad(""), "names.yaml"));
  EXPECT_OK(
      CheckNamesReload(MustLoad("local_networks: []\n"), MustLoad("# nothing\n"), "names.yaml"));
}

// --- Sites: names scoped to one site's keys. ---

// Two sites reusing 10.0.0.0/24: each names 10.0.0.5 its own way; site b has its own local
// networks, site a uses the global ones; c is listed with nothing of its own.
constexpr char kSites[] = R"(local_networks: [10.0.0.0/24]
hosts:
  gateway: [10.0.0.1]
  shared: [10.0.0.9]
sites:
  a:
    hosts:
      alpha-db: [10.0.0.5]
      gateway: [10.0.0.1]
  b:
    local_networks: [10.0.0.0/25, "2001:db8::/32"]
    hosts:
      beta-web: [10.0.0.5]
      gw-b: [10.0.0.1]
  c:
)";

TEST(NameTableSitesTest, EachSiteNamesTheSameAddressItsOwnWay) {
  const NameTable names = MustLoad(kSites);
  const uint32_t a = names.ScopeOf("a");
  const uint32_t b = names.ScopeOf("b");
  ASSERT_NE(a, 0u);
  ASSERT_NE(b, 0u);
  EXPECT_NE(a, b);
  EXPECT_EQ(names.HostLabel(Ip("10.0.0.5"), false, a), "alpha-db");
  EXPECT_EQ(names.HostLabel(Ip("10.0.0.5"), false, b), "beta-web");
  EXPECT_EQ(names.HostLabel(Ip("10.0.0.5"), false), "10.0.0.5");  // Global: unnamed, local.
  EXPECT_EQ(names.HostLabel(Ip("10.0.0.1"), false, b), "gw-b");
  EXPECT_EQ(names.HostLabel(Ip("10.0.0.1"), false, a), "gateway");
}

TEST(NameTableSitesTest, ASiteFallsBackToTheGlobalNamesAndNetworks) {
  const NameTable names = MustLoad(kSites);
  const uint32_t a = names.ScopeOf("a");
  const uint32_t b = names.ScopeOf("b");
  EXPECT_EQ(names.HostLabel(Ip("10.0.0.9"), false, a), "shared");
  EXPECT_EQ(names.HostLabel(Ip("10.0.0.9"), false, b), "shared");
  // Site a has no local_networks: the global /24 applies. Site b's own list replaces it.
  EXPECT_TRUE(names.IsLocal(Ip("10.0.0.200"), a));
  EXPECT_FALSE(names.IsLocal(Ip("10.0.0.200"), b));
  EXPECT_TRUE(names.IsLocal(Ip("2001:db8::1"), b));
  EXPECT_FALSE(names.IsLocal(Ip("2001:db8::1"), a));
  EXPECT_EQ(names.HostLabel(Ip("10.0.0.200"), false, b), "_");
}

TEST(NameTableSitesTest, UnlistedAndEmptySitesUseTheGlobalNames) {
  const NameTable names = MustLoad(kSites);
  EXPECT_EQ(names.ScopeOf(""), 0u);
  EXPECT_EQ(names.ScopeOf("elsewhere"), 0u);
  const uint32_t c = names.ScopeOf("c");
  EXPECT_NE(c, 0u);
  EXPECT_EQ(names.HostLabel(Ip("10.0.0.5"), false, c), "10.0.0.5");
  EXPECT_EQ(names.HostLabel(Ip("10.0.0.1"), false, c), "gateway");
  EXPECT_EQ(names.site_names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(names.counts().sites, 3u);
  EXPECT_EQ(names.counts().host_addresses, 6u);
  EXPECT_EQ(names.counts().local_networks, 3u);
}

TEST(NameTableSitesTest, ASiteWithAnEmptyLocalNetworksListCountsEveryAddressLocal) {
  const NameTable names = MustLoad(
      "local_networks: [10.0.0.0/24]\nsites:\n  x:\n"
      "    local_networks: []\n");
  EXPECT_TRUE(names.IsLocal(Ip("192.0.2.1"), names.ScopeOf("x")));
  EXPECT_FALSE(names.IsLocal(Ip("192.0.2.1")));
}

TEST(NamesFileErrorTest, BadSiteEntriesNameTheirPlace) {
  EXPECT_EQ(ErrorFor("sites:\n  a:\n    local_networks: [10.0.0.0/8, 10.0.0.0/33]\n"),
            "names.yaml:3: sites.a.local_networks[1]: '10.0.0.0/33' is not a CIDR "
            "(prefix length 33 > 32)");
  EXPECT_EQ(ErrorFor("sites:\n  a:\n    hosts:\n      db: [10.0.0.5, 10.0.0.999]\n"),
            "names.yaml:4: sites.a.hosts.db[1]: '10.0.0.999' is not an IP address");
  EXPECT_EQ(ErrorFor("sites:\n  a:\n    services:\n      22: ssh\n"),
            "names.yaml:3: sites.a: unknown key 'services' (a site has local_networks and "
            "hosts; services are global)");
  EXPECT_EQ(ErrorFor("sites:\n  a: {}\n  a: {}\n"),
            "names.yaml:3: sites: site 'a' is listed twice (first on line 2)");
  EXPECT_THAT(ErrorFor("sites:\n  a:\n    hosts:\n      db: [10.0.0.5]\n      db: [10.0.0.6]\n"),
              StartsWith("names.yaml:5: sites.a.hosts: 'db' is listed twice (first on line 4)"));
  EXPECT_EQ(ErrorFor("sites:\n  a:\n    hosts:\n      db: [10.0.0.5]\n      web: [10.0.0.5]\n"),
            "names.yaml:5: sites.a.hosts.web[0]: 10.0.0.5 is already named 'db' (line 4); an IP "
            "takes one name");
  EXPECT_THAT(ErrorFor("sites: [a, b]\n"), StartsWith("names.yaml:1: sites: expected a map"));
  EXPECT_THAT(ErrorFor("sites:\n  a: [10.0.0.1]\n"),
              StartsWith("names.yaml:2: sites.a: expected a map with local_networks, hosts"));
  EXPECT_THAT(ErrorFor("sites:\n  a:\n    hosts:\n      _: [10.0.0.1]\n"),
              StartsWith("names.yaml:4: sites.a.hosts: '_' is reserved"));
}

TEST(NamesFileErrorTest, OneNameMayBeUsedGloballyAndInEverySite) {
  const NameTable names = MustLoad(
      "hosts:\n  db: [10.0.0.5]\nsites:\n  a:\n    hosts:\n      db: [10.0.0.6]\n"
      "  b:\n    hosts:\n      db: [10.0.0.7]\n");
  EXPECT_EQ(names.HostLabel(Ip("10.0.0.7"), false, names.ScopeOf("b")), "db");
  EXPECT_EQ(names.HostLabel(Ip("10.0.0.7"), false, names.ScopeOf("a")), "10.0.0.7");
}

}  // namespace
}  // namespace synmap::common
