#include "bench/capture_gen.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap::bench {
namespace {

using ::synmap::testing::StatusIs;
using ::synmap::testing::TempDir;

constexpr int64_t kWindowNs = 60'000'000'000;

// Per (client, server, server port): packets, connections, first and last seen.
using Key = std::tuple<std::string, std::string, uint16_t>;
struct Counts {
  uint64_t packets = 0;
  uint64_t connections = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  bool operator==(const Counts&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Counts& c) {
  return os << "{packets=" << c.packets << " connections=" << c.connections
            << " first=" << c.first_ns << " last=" << c.last_ns << "}";
}

// What the test itself finds in a capture, parsing frames minimally (Ethernet, any number of
// 802.1Q/802.1ad tags, IPv4 or IPv6 without extension headers, TCP) and applying the 60 s
// rule to (4-tuple, ISN) on its own.
struct ReadBack {
  uint64_t frames = 0;
  uint64_t vlan_frames = 0;
  uint64_t qinq_frames = 0;
  uint64_t ipv6_frames = 0;
  uint64_t synacks = 0;
  uint64_t late_repeats = 0;     // Same handshake again after >= 60 s (a new connection).
  uint64_t retransmissions = 0;  // Same handshake again within 60 s.
  std::map<Key, Counts> keys;
};

std::string Ntop(int family, const u_char* p) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, p, text, sizeof(text));
  return text;
}
uint16_t Get16(const u_char* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void ReadCapture(const std::string& path, ReadBack& out) {
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pcap =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, error);
  ASSERT_NE(pcap, nullptr) << error;
  std::map<std::string, int64_t> handshakes;  // -> time it counted as a connection.
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(pcap, &header, &data) == 1) {
    out.frames++;
    const int64_t time_ns = int64_t{header->ts.tv_sec} * 1'000'000'000 + header->ts.tv_usec;
    size_t at = 12;
    uint16_t ethertype = Get16(data + at);
    int tags = 0;
    while ((ethertype == 0x8100 || ethertype == 0x88a8) && at + 6 <= header->caplen) {
      tags++;
      at += 4;
      ethertype = Get16(data + at);
    }
    at += 2;
    out.vlan_frames += tags > 0 ? 1 : 0;
    out.qinq_frames += tags > 1 ? 1 : 0;
    std::string src, dst;
    size_t l4 = 0;
    uint8_t protocol = 0;
    if (ethertype == 0x0800) {
      protocol = data[at + 9];
      src = Ntop(AF_INET, data + at + 12);
      dst = Ntop(AF_INET, data + at + 16);
      l4 = at + (data[at] & 0x0f) * 4u;
    } else if (ethertype == 0x86dd) {
      out.ipv6_frames++;
      protocol = data[at + 6];
      src = Ntop(AF_INET6, data + at + 8);
      dst = Ntop(AF_INET6, data + at + 24);
      l4 = at + 40;
    }
    if (protocol != 6 || (data[l4 + 13] & 0x12) != 0x12) {
      continue;
    }
    out.synacks++;
    const uint16_t server_port = Get16(data + l4);
    const uint32_t isn = uint32_t{Get16(data + l4 + 4)} << 16 | Get16(data + l4 + 6);
    const std::string handshake =
        absl::StrCat(src, "|", server_port, "|", dst, "|", Get16(data + l4 + 2), "|", isn);
    bool connection = true;
    auto it = handshakes.find(handshake);
    if (it == handshakes.end()) {
      handshakes[handshake] = time_ns;
    } else if (time_ns - it->second < kWindowNs) {
      connection = false;
      out.retransmissions++;
    } else {
      it->second = time_ns;
      out.late_repeats++;
    }
    Counts& counts = out.keys[Key{dst, src, server_port}];
    if (counts.packets++ == 0) {
      counts.first_ns = time_ns;
    }
    counts.last_ns = time_ns;
    counts.connections += connection ? 1 : 0;
  }
  pcap_close(pcap);
}

// Expects equal maps; reports the first few differing keys.
void ExpectSameKeys(const std::map<Key, Counts>& truth, const std::map<Key, Counts>& seen) {
  EXPECT_EQ(truth.size(), seen.size());
  int reported = 0;
  for (const auto& [key, counts] : truth) {
    auto it = seen.find(key);
    const bool same = it != seen.end() && it->second == counts;
    EXPECT_TRUE(same || reported++ >= 5)
        << std::get<0>(key) << " " << std::get<1>(key) << " " << std::get<2>(key) << ": truth "
        << counts << ", capture "
        << (it == seen.end() ? std::string("missing")
                             : absl::StrCat(it->second.packets, "/", it->second.connections));
  }
  EXPECT_TRUE(truth == seen);
}

std::map<Key, Counts> ReadTruth(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line,
            "client_ip\tserver_ip\tserver_port\tpackets\tconnections\tfirst_seen_ns\tlast_seen_ns");
  std::map<Key, Counts> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> f = absl::StrSplit(line, '\t');
    EXPECT_EQ(f.size(), 7u) << line;
    if (f.size() != 7) {
      continue;
    }
    uint32_t port = 0;
    Counts c;
    EXPECT_TRUE(absl::SimpleAtoi(f[2], &port) && absl::SimpleAtoi(f[3], &c.packets) &&
                absl::SimpleAtoi(f[4], &c.connections) && absl::SimpleAtoi(f[5], &c.first_ns) &&
                absl::SimpleAtoi(f[6], &c.last_ns))
        << line;
    rows[Key{f[0], f[1], static_cast<uint16_t>(port)}] = c;
  }
  return rows;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

GenOptions SmallOptions(const TempDir& dir, const std::string& stem) {
  GenOptions options;
  options.packets = 20'000;
  options.duration = absl::Minutes(10);
  options.out_path = dir.File(stem + ".pcap");
  options.truth_path = dir.File(stem + ".tsv");
  options.names_path = dir.File(stem + ".yaml");
  return options;
}

TEST(CaptureGenTest, SameSeedGivesIdenticalFiles) {
  TempDir dir;
  GenOptions a = SmallOptions(dir, "a");
  GenOptions b = SmallOptions(dir, "b");
  a.seed = b.seed = 7;
  ASSERT_OK(GenerateCapture(a));
  ASSERT_OK(GenerateCapture(b));
  const std::string pcap = ReadFile(a.out_path);
  EXPECT_GT(pcap.size(), 20'000u * 60);
  EXPECT_TRUE(pcap == ReadFile(b.out_path));
  EXPECT_EQ(ReadFile(a.truth_path), ReadFile(b.truth_path));
  EXPECT_EQ(ReadFile(a.names_path), ReadFile(b.names_path));
}

TEST(CaptureGenTest, DifferentSeedsGiveDifferentFiles) {
  TempDir dir;
  GenOptions a = SmallOptions(dir, "a");
  GenOptions b = SmallOptions(dir, "b");
  GenOptions c = SmallOptions(dir, "c");
  b.seed = a.seed + 1;
  c.site.site_seed = a.site.site_seed + 1;
  ASSERT_OK(GenerateCapture(a));
  ASSERT_OK(GenerateCapture(b));
  ASSERT_OK(GenerateCapture(c));
  EXPECT_FALSE(ReadFile(a.out_path) == ReadFile(b.out_path));
  EXPECT_NE(ReadFile(a.truth_path), ReadFile(b.truth_path));
  EXPECT_EQ(ReadFile(a.names_path), ReadFile(b.names_path));  // Same site.
  EXPECT_NE(ReadFile(a.names_path), ReadFile(c.names_path));  // Another site.
}

TEST(CaptureGenTest, TruthEqualsIndependentReadBackOfTheCapture) {
  TempDir dir;
  GenOptions options = SmallOptions(dir, "t");
  options.packets = 40'000;
  options.synack_share = 0.2;
  options.retrans_share = 0.3;
  options.late_resend_share = 0.3;
  ASSERT_OK_AND_ASSIGN(GenStats stats, GenerateCapture(options));
  ReadBack back;
  ASSERT_NO_FATAL_FAILURE(ReadCapture(options.out_path, back));
  const std::map<Key, Counts> truth = ReadTruth(options.truth_path);

  EXPECT_EQ(back.frames, options.packets);
  EXPECT_EQ(stats.synacks, back.synacks);
  EXPECT_GT(back.retransmissions, 100u);  // The rule was exercised both ways.
  EXPECT_GT(back.late_repeats, 10u);
  uint64_t packets = 0;
  uint64_t connections = 0;
  for (const auto& [key, counts] : truth) {
    packets += counts.packets;
    connections += counts.connections;
  }
  EXPECT_EQ(packets, back.synacks);
  EXPECT_EQ(connections, back.synacks - back.retransmissions);
  EXPECT_EQ(stats.connections, connections);
  // Every key and every count, first and last seen.
  ExpectSameKeys(truth, back.keys);
}

TEST(CaptureGenTest, TrafficGoesInboundOutboundAndInside) {
  TempDir dir;
  GenOptions options = SmallOptions(dir, "d");
  ASSERT_OK(GenerateCapture(options));
  int inbound = 0, outbound = 0, inside = 0;
  for (const auto& [key, counts] : ReadTruth(options.truth_path)) {
    const bool client_local = absl::StartsWith(std::get<0>(key), "198.51.100.") ||
                              absl::StartsWith(std::get<0>(key), "2001:db8:10:");
    const bool server_local = absl::StartsWith(std::get<1>(key), "198.51.100.") ||
                              absl::StartsWith(std::get<1>(key), "2001:db8:10:");
    inbound += !client_local && server_local;
    outbound += client_local && !server_local;
    inside += client_local && server_local;
    EXPECT_TRUE(client_local || server_local) << std::get<0>(key) << " " << std::get<1>(key);
  }
  EXPECT_GT(inbound, 10);
  EXPECT_GT(outbound, 10);
  EXPECT_GT(inside, 10);
}

TEST(CaptureGenTest, VlanQinqIpv6AndSynAckSharesAreAsConfigured) {
  TempDir dir;
  GenOptions options = SmallOptions(dir, "s");
  options.packets = 50'000;
  ASSERT_OK_AND_ASSIGN(GenStats stats, GenerateCapture(options));
  ReadBack back;
  ASSERT_NO_FATAL_FAILURE(ReadCapture(options.out_path, back));
  const double n = static_cast<double>(back.frames);
  EXPECT_NEAR(back.vlan_frames / n, options.vlan_share, 0.02);
  EXPECT_NEAR(back.qinq_frames / static_cast<double>(back.vlan_frames), options.qinq_share, 0.03);
  // ARP (a few % of frames) is never IPv6.
  EXPECT_NEAR(back.ipv6_frames / n, options.ipv6_share, 0.02);
  EXPECT_NEAR(back.synacks / n, options.synack_share, 0.004);
  EXPECT_EQ(stats.vlan_frames, back.vlan_frames);
  EXPECT_EQ(stats.qinq_frames, back.qinq_frames);
  EXPECT_EQ(stats.ipv6_frames, back.ipv6_frames);
}

TEST(CaptureGenTest, ZeroSharesGiveUntaggedIpv4Only) {
  TempDir dir;
  GenOptions options = SmallOptions(dir, "z");
  options.vlan_share = 0;
  options.ipv6_share = 0;
  ASSERT_OK(GenerateCapture(options));
  ReadBack back;
  ASSERT_NO_FATAL_FAILURE(ReadCapture(options.out_path, back));
  EXPECT_EQ(back.vlan_frames, 0u);
  EXPECT_EQ(back.ipv6_frames, 0u);
  EXPECT_GT(back.synacks, 0u);
}

TEST(CaptureGenTest, AllSynAckShareWritesOnlySynAcks) {
  TempDir dir;
  GenOptions options = SmallOptions(dir, "y");
  options.packets = 5'000;
  options.synack_share = 1.0;
  ASSERT_OK(GenerateCapture(options));
  ReadBack back;
  ASSERT_NO_FATAL_FAILURE(ReadCapture(options.out_path, back));
  EXPECT_EQ(back.synacks, 5'000u);
}

uint32_t Magic(const std::string& pcap) {
  uint32_t magic = 0;
  std::memcpy(&magic, pcap.data(), sizeof(magic));
  return magic;
}

TEST(CaptureGenTest, NanosecondOptionWritesNanosecondFile) {
  TempDir dir;
  GenOptions micro = SmallOptions(dir, "u");
  GenOptions nano = SmallOptions(dir, "n");
  nano.nanosecond = true;
  ASSERT_OK(GenerateCapture(micro));
  ASSERT_OK(GenerateCapture(nano));
  EXPECT_EQ(Magic(ReadFile(micro.out_path)), 0xa1b2c3d4u);
  EXPECT_EQ(Magic(ReadFile(nano.out_path)), 0xa1b23c4du);
  int sub_microsecond = 0;
  for (const auto& [key, counts] : ReadTruth(micro.truth_path)) {
    EXPECT_EQ(counts.first_ns % 1000, 0) << std::get<0>(key);
  }
  for (const auto& [key, counts] : ReadTruth(nano.truth_path)) {
    sub_microsecond += counts.first_ns % 1000 != 0;
  }
  EXPECT_GT(sub_microsecond, 0);
  ReadBack back;
  ASSERT_NO_FATAL_FAILURE(ReadCapture(nano.out_path, back));
  ExpectSameKeys(ReadTruth(nano.truth_path), back.keys);
}

TEST(CaptureGenTest, NamesFileIsYamlWithSiteKeys) {
  TempDir dir;
  GenOptions options = SmallOptions(dir, "m");
  ASSERT_OK(GenerateCapture(options));
  const YAML::Node names = YAML::LoadFile(options.names_path);
  ASSERT_TRUE(names.IsMap());
  EXPECT_EQ(names.size(), 3u);
  ASSERT_TRUE(names["local_networks"].IsSequence());
  std::vector<std::string> networks;
  for (const YAML::Node& n : names["local_networks"]) {
    networks.push_back(n.as<std::string>());
  }
  EXPECT_EQ(networks, (std::vector<std::string>{"198.51.100.0/24", "2001:db8:10::/48"}));
  ASSERT_TRUE(names["hosts"].IsMap());
  EXPECT_GE(names["hosts"].size(), 20u);
  ASSERT_TRUE(names["hosts"]["www"].IsSequence());
  EXPECT_EQ(names["hosts"]["www"].size(), 4u);  // Two dual-stacked hosts share the name.
  for (const auto& host : names["hosts"]) {
    for (const YAML::Node& ip : host.second) {
      const std::string text = ip.as<std::string>();
      EXPECT_TRUE(absl::StartsWith(text, "198.51.100.") || absl::StartsWith(text, "2001:db8:10:"))
          << host.first.as<std::string>() << " " << text;
    }
  }
  ASSERT_TRUE(names["services"].IsMap());
  EXPECT_EQ(names["services"][873].as<std::string>(), "rsync");
  EXPECT_EQ(names["services"][8443].as<std::string>(), "https-alt");
}

TEST(CaptureGenTest, LocalNetworksAreConfigurable) {
  TempDir dir;
  GenOptions options = SmallOptions(dir, "l");
  options.site.local_networks = {"192.0.2.0/25"};
  ASSERT_OK_AND_ASSIGN(GenStats stats, GenerateCapture(options));
  EXPECT_EQ(stats.ipv6_frames, 0u);  // No IPv6 network, so no IPv6 traffic.
  for (const auto& [key, counts] : ReadTruth(options.truth_path)) {
    EXPECT_TRUE(absl::StartsWith(std::get<0>(key), "192.0.2.") ||
                absl::StartsWith(std::get<1>(key), "192.0.2."));
  }
}

TEST(CaptureGenTest, BadOptionsAreInvalidArgument) {
  TempDir dir;
  GenOptions share = SmallOptions(dir, "e");
  share.synack_share = 1.5;
  EXPECT_THAT(GenerateCapture(share), StatusIs(absl::StatusCode::kInvalidArgument));
  GenOptions none = SmallOptions(dir, "e");
  none.packets = 0;
  EXPECT_THAT(GenerateCapture(none), StatusIs(absl::StatusCode::kInvalidArgument));
  GenOptions overlap = SmallOptions(dir, "e");
  overlap.site.local_networks = {"203.0.113.0/25"};
  EXPECT_THAT(GenerateCapture(overlap), StatusIs(absl::StatusCode::kInvalidArgument));
  GenOptions overlap_large = SmallOptions(dir, "e");
  overlap_large.site.remote_hosts = 1000;
  overlap_large.site.local_networks = {"100.64.1.0/24"};
  EXPECT_THAT(GenerateCapture(overlap_large), StatusIs(absl::StatusCode::kInvalidArgument));
  GenOptions too_many = SmallOptions(dir, "e");
  too_many.site.remote_hosts = 4'000'001;
  EXPECT_THAT(GenerateCapture(too_many), StatusIs(absl::StatusCode::kInvalidArgument));
  GenOptions v6_only = SmallOptions(dir, "e");
  v6_only.site.local_networks = {"2001:db8:10::/48"};
  EXPECT_THAT(GenerateCapture(v6_only), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CaptureGenTest, UnwritableOutputIsNotFound) {
  GenOptions options;
  options.packets = 10;
  options.out_path = "/nonexistent-dir/x.pcap";
  EXPECT_THAT(GenerateCapture(options), StatusIs(absl::StatusCode::kNotFound));
}

TEST(CaptureGenTest, LargeRemoteSiteHasManyDistinctClientsAndExactTruth) {
  TempDir dir;
  GenOptions options = SmallOptions(dir, "h");
  ASSERT_OK(ApplyPreset("hicard-synack", options));
  options.packets = 30'000;
  options.duration = absl::Minutes(10);
  ASSERT_OK_AND_ASSIGN(GenStats stats, GenerateCapture(options));
  ReadBack back;
  ASSERT_NO_FATAL_FAILURE(ReadCapture(options.out_path, back));
  const std::map<Key, Counts> truth = ReadTruth(options.truth_path);
  ExpectSameKeys(truth, back.keys);
  // Most SYN/ACKs make a key of their own, and remote IPv4 hosts come from 100.64.0.0/10.
  EXPECT_GT(stats.keys, 20'000u);
  int large_range = 0;
  int small_range = 0;
  for (const auto& [key, counts] : truth) {
    for (const std::string& ip : {std::get<0>(key), std::get<1>(key)}) {
      large_range += absl::StartsWith(ip, "100.") ? 1 : 0;
      small_range += absl::StartsWith(ip, "203.0.113.") ? 1 : 0;
    }
  }
  EXPECT_GT(large_range, 10'000);
  EXPECT_EQ(small_range, 0);
  EXPECT_NEAR(back.ipv6_frames / static_cast<double>(back.frames), 0.3, 0.02);
}

TEST(CaptureGenTest, PresetsSetTheBenchmarkShapes) {
  GenOptions options;
  ASSERT_OK(ApplyPreset("mixed", options));
  EXPECT_EQ(options.packets, 10'000'000u);
  EXPECT_DOUBLE_EQ(options.synack_share, 0.04);
  ASSERT_OK(ApplyPreset("synack", options));
  EXPECT_EQ(options.packets, 1'000'000u);
  EXPECT_DOUBLE_EQ(options.synack_share, 1.0);
  ASSERT_OK(ApplyPreset("hicard", options));
  EXPECT_EQ(options.packets, 10'000'000u);
  EXPECT_EQ(options.site.remote_hosts, 1'000'000);
  ASSERT_OK(ApplyPreset("hicard-synack", options));
  EXPECT_EQ(options.packets, 1'000'000u);
  EXPECT_DOUBLE_EQ(options.synack_share, 1.0);
  EXPECT_THAT(ApplyPreset("huge", options), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace synmap::bench
