#include "sensor/capture/synack_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/packet/decoder.h"
#include "common/pcapfile/packet_reader.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap::sensor {
namespace {

using Bytes = std::vector<uint8_t>;

// A compiled filter for one link type, run the way the kernel would run it on a frame.
class CompiledFilter {
 public:
  explicit CompiledFilter(int dlt, bool tunnels = true) {
    absl::StatusOr<std::string> expression = SynAckFilterExpression(dlt, tunnels);
    if (!expression.ok()) {
      return;
    }
    handle_ = pcap_open_dead(dlt, 262144);
    EXPECT_EQ(pcap_compile(handle_, &program_, expression->c_str(), 1, PCAP_NETMASK_UNKNOWN), 0)
        << "dlt " << dlt << ": " << pcap_geterr(handle_);
    compiled_ = true;
  }
  ~CompiledFilter() {
    if (compiled_) {
      pcap_freecode(&program_);
    }
    if (handle_ != nullptr) {
      pcap_close(handle_);
    }
  }
  bool available() const { return compiled_; }
  unsigned instructions() const { return compiled_ ? program_.bf_len : 0; }
  bool Passes(const uint8_t* data, uint32_t caplen, uint32_t wire_length) const {
    pcap_pkthdr header{};
    header.caplen = caplen;
    header.len = wire_length < caplen ? caplen : wire_length;
    return pcap_offline_filter(&program_, &header, data) != 0;
  }
  bool Passes(const Bytes& frame) const {
    return Passes(frame.data(), static_cast<uint32_t>(frame.size()),
                  static_cast<uint32_t>(frame.size()));
  }

 private:
  pcap_t* handle_ = nullptr;
  bpf_program program_{};
  bool compiled_ = false;
};

// Files store LINKTYPE_ values; libpcap's compiler wants the DLT_ value.
int DltOfLinktype(int linktype) { return linktype == 101 ? DLT_RAW : linktype; }

// --- A tiny frame builder (independent of the decoder under comparison) ---

constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kAck = 0x10;
constexpr uint8_t kSynAck = kSyn | kAck;

void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

Bytes Tcp(uint8_t flags) {
  Bytes t = {0x01, 0xbb, 0x9c, 0x40, 0, 0, 0, 7, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0};
  return t;
}

Bytes Ipv4(uint8_t protocol, const Bytes& payload, int option_words = 0,
           uint16_t fragment_field = 0) {
  Bytes ip = {static_cast<uint8_t>(0x40 | (5 + option_words)), 0};
  Put16(ip, static_cast<uint16_t>(20 + 4 * option_words + payload.size()));
  Put16(ip, 1);
  Put16(ip, fragment_field);
  ip.insert(ip.end(), {64, protocol, 0, 0, 198, 51, 100, 1, 198, 51, 100, 2});
  for (int i = 0; i < option_words; ++i) {
    ip.insert(ip.end(), {1, 1, 1, 1});  // NOP options.
  }
  ip.insert(ip.end(), payload.begin(), payload.end());
  return ip;
}

// IPv6 with the given chain of 8-byte extension headers (each names the next).
Bytes Ipv6(uint8_t protocol, const Bytes& payload, const std::vector<uint8_t>& extensions = {}) {
  Bytes ip = {0x60, 0, 0, 0};
  Put16(ip, static_cast<uint16_t>(payload.size() + 8 * extensions.size()));
  ip.push_back(extensions.empty() ? protocol : extensions.front());
  ip.push_back(64);
  for (int i = 0; i < 2; ++i) {
    ip.insert(ip.end(), {0x20, 0x01, 0x0d, 0xb8});
    ip.insert(ip.end(), 11, 0);
    ip.push_back(static_cast<uint8_t>(i + 1));
  }
  for (size_t i = 0; i < extensions.size(); ++i) {
    const uint8_t next = i + 1 < extensions.size() ? extensions[i + 1] : protocol;
    ip.insert(ip.end(), {next, 0, 0, 0, 0, 0, 0, 0});
  }
  ip.insert(ip.end(), payload.begin(), payload.end());
  return ip;
}

Bytes Ethernet(uint16_t type, const Bytes& payload, const std::vector<uint16_t>& tpids = {}) {
  Bytes f = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
  for (uint16_t tpid : tpids) {
    Put16(f, tpid);
    Put16(f, 100);  // TCI: VLAN 100.
  }
  Put16(f, type);
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

Bytes Sll(uint16_t protocol, const Bytes& payload) {
  Bytes f = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};
  Put16(f, protocol);
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

Bytes Sll2(uint16_t protocol, const Bytes& payload) {
  Bytes f;
  Put16(f, protocol);
  f.insert(f.end(), {0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0});
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

bool DecodesAsSynAck(int dlt, const Bytes& frame) {
  common::SynAckEvent event;
  return common::DecodePacket(dlt, frame.data(), frame.size(), &event) ==
         common::DecodeResult::kSynAck;
}

TEST(SynAckFilterTest, CompilesForEveryLiveLinkType) {
  for (int dlt : {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, DLT_IPV4, DLT_IPV6}) {
    CompiledFilter filter(dlt);
    EXPECT_TRUE(filter.available()) << "dlt " << dlt;
  }
}

TEST(SynAckFilterTest, UnknownLinkTypeIsInvalidArgument) {
  EXPECT_THAT(SynAckFilterExpression(DLT_IEEE802_11_RADIO),
              testing::StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SynAckFilterExpression(DLT_NULL),
              testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SynAckFilterTest, PassesGeneratedSynAcksInEveryFraming) {
  const Bytes v4 = Ipv4(6, Tcp(kSynAck));
  const Bytes v4_options = Ipv4(6, Tcp(kSynAck | 0x40 /*ECE*/), /*option_words=*/3);
  const Bytes v6 = Ipv6(6, Tcp(kSynAck));
  const Bytes v6_ext = Ipv6(6, Tcp(kSynAck), {0, 60});  // Hop-by-hop, destination options.
  std::vector<std::pair<std::string, Bytes>> frames = {
      {"v4", Ethernet(0x0800, v4)},
      {"v4 options", Ethernet(0x0800, v4_options)},
      {"v6", Ethernet(0x86dd, v6)},
      {"v6 ext", Ethernet(0x86dd, v6_ext)},
      {"1 tag v4", Ethernet(0x0800, v4, {0x8100})},
      {"1 tag v6 ext", Ethernet(0x86dd, v6_ext, {0x8100})},
      {"qinq v4 options", Ethernet(0x0800, v4_options, {0x88a8, 0x8100})},
      {"qinq v6", Ethernet(0x86dd, v6, {0x88a8, 0x8100})},
      {"3 tags v6", Ethernet(0x86dd, v6, {0x9100, 0x88a8, 0x8100})},
      {"4 tags v4", Ethernet(0x0800, v4, {0x88a8, 0x8100, 0x8100, 0x8100})},
  };
  CompiledFilter ethernet(DLT_EN10MB);
  for (const auto& [what, frame] : frames) {
    ASSERT_TRUE(DecodesAsSynAck(DLT_EN10MB, frame)) << what << ": builder or decoder disagree";
    EXPECT_TRUE(ethernet.Passes(frame)) << what;
  }
  CompiledFilter sll(DLT_LINUX_SLL), sll2(DLT_LINUX_SLL2), raw(DLT_RAW);
  EXPECT_TRUE(sll.Passes(Sll(0x0800, v4_options)));
  EXPECT_TRUE(sll.Passes(Sll(0x86dd, v6_ext)));
  EXPECT_TRUE(sll2.Passes(Sll2(0x86dd, v6)));
  EXPECT_TRUE(sll2.Passes(Sll2(0x0800, v4)));
  EXPECT_TRUE(raw.Passes(v4));
  EXPECT_TRUE(raw.Passes(v6));
}

TEST(SynAckFilterTest, RejectsGeneratedNonSynAcks) {
  const std::vector<std::pair<std::string, Bytes>> frames = {
      {"syn", Ethernet(0x0800, Ipv4(6, Tcp(kSyn)))},
      {"ack", Ethernet(0x0800, Ipv4(6, Tcp(kAck)))},
      {"rst/ack", Ethernet(0x0800, Ipv4(6, Tcp(kAck | 0x04)))},
      {"udp", Ethernet(0x0800, Ipv4(17, Bytes(20, 0)))},
      {"v4 later fragment", Ethernet(0x0800, Ipv4(6, Tcp(kSynAck), 0, /*offset=*/185))},
      {"v6 syn", Ethernet(0x86dd, Ipv6(6, Tcp(kSyn)))},
      {"v6 udp", Ethernet(0x86dd, Ipv6(17, Bytes(20, 0)))},
      {"v6 icmp", Ethernet(0x86dd, Ipv6(58, Bytes(20, 0)))},
      {"tagged ack", Ethernet(0x0800, Ipv4(6, Tcp(kAck)), {0x8100})},
      {"qinq v6 ack", Ethernet(0x86dd, Ipv6(6, Tcp(kAck)), {0x88a8, 0x8100})},
      {"3 tags syn", Ethernet(0x0800, Ipv4(6, Tcp(kSyn)), {0x88a8, 0x8100, 0x8100})},
      {"arp", Ethernet(0x0806, Bytes(28, 0))},
  };
  CompiledFilter ethernet(DLT_EN10MB);
  for (const auto& [what, frame] : frames) {
    ASSERT_FALSE(DecodesAsSynAck(DLT_EN10MB, frame)) << what;
    EXPECT_FALSE(ethernet.Passes(frame)) << what;
  }
  CompiledFilter sll(DLT_LINUX_SLL);
  EXPECT_FALSE(sll.Passes(Sll(0x0800, Ipv4(6, Tcp(kAck)))));
  EXPECT_FALSE(sll.Passes(Sll(0x86dd, Ipv6(17, Bytes(8, 0)))));
}

// --- Tunnels (headers written from their specifications) ---

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) {
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

Bytes Udp(uint16_t source, uint16_t destination, const Bytes& payload) {
  Bytes u;
  Put16(u, source);
  Put16(u, destination);
  Put16(u, static_cast<uint16_t>(8 + payload.size()));
  Put16(u, 0);
  u.insert(u.end(), payload.begin(), payload.end());
  return u;
}

Bytes Gre(uint16_t flags, uint16_t protocol, const Bytes& payload) {
  Bytes g;
  Put16(g, flags);
  Put16(g, protocol);
  for (uint16_t bit : {0x8000, 0x2000, 0x1000}) {
    if ((flags & bit) != 0) {
      Put16(g, 0);
      Put16(g, 9);
    }
  }
  g.insert(g.end(), payload.begin(), payload.end());
  return g;
}

const Bytes kVxlan = {0x08, 0, 0, 0, 0, 0, 0x0a, 0};
const Bytes kErspan2 = {0x10, 0x0a, 0, 1, 0, 0, 0, 2};

// Each tunnel around an inner frame or packet made by `inner` (SYN/ACK or not).
std::vector<std::pair<std::string, Bytes>> TunnelFrames(uint8_t flags,
                                                        const std::vector<uint16_t>& tpids = {}) {
  auto outer = [&tpids](uint16_t type, const Bytes& payload) {
    return Ethernet(type, payload, tpids);
  };
  const Bytes v4 = Ipv4(6, Tcp(flags), /*option_words=*/1);
  const Bytes v6 = Ipv6(6, Tcp(flags));
  const Bytes eth4 = Ethernet(0x0800, v4);
  const Bytes eth6 = Ethernet(0x86dd, v6);
  Bytes geneve = {0x01, 0, 0x65, 0x58, 0, 0, 0x0a, 0, 0x01, 0x02, 0x03, 0x00};
  Bytes gtp = {0x30, 0xff};
  Put16(gtp, static_cast<uint16_t>(v4.size()));
  gtp.insert(gtp.end(), {0, 0, 0, 1});
  const Bytes erspan3 = {0x20, 0x0a, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  return {
      {"ip-in-ip", outer(0x0800, Ipv4(4, v4))},
      {"6in4", outer(0x0800, Ipv4(41, v6))},
      {"4in6", outer(0x86dd, Ipv6(4, v4))},
      {"gre ipv4", outer(0x0800, Ipv4(47, Gre(0, 0x0800, v4)))},
      {"gre key ipv6", outer(0x0800, Ipv4(47, Gre(0x2000, 0x86dd, v6)))},
      {"gre key ethernet", outer(0x0800, Ipv4(47, Gre(0x2000, 0x6558, eth4)))},
      {"erspan i", outer(0x86dd, Ipv6(47, Gre(0, 0x88be, eth6)))},
      {"erspan ii", outer(0x0800, Ipv4(47, Gre(0x1000, 0x88be, Concat({kErspan2, eth4}))))},
      {"erspan iii", outer(0x0800, Ipv4(47, Gre(0x3000, 0x22eb, Concat({erspan3, eth6}))))},
      {"vxlan", outer(0x0800, Ipv4(17, Udp(50000, 4789, Concat({kVxlan, eth4}))))},
      {"vxlan 8472 v6", outer(0x86dd, Ipv6(17, Udp(8472, 50000, Concat({kVxlan, eth6}))))},
      {"geneve options", outer(0x0800, Ipv4(17, Udp(50000, 6081, Concat({geneve, eth4}))))},
      {"gtp-u", outer(0x0800, Ipv4(17, Udp(2152, 2152, Concat({gtp, v4}))))},
      {"teredo", outer(0x0800, Ipv4(17, Udp(3544, 50000, v6)))},
      {"vxlan in gre",
       outer(0x0800, Ipv4(47, Gre(0, 0x0800, Ipv4(17, Udp(50000, 4789, Concat({kVxlan, eth4}))))))},
  };
}

TEST(SynAckFilterTest, PassesTunnelledSynAcks) {
  CompiledFilter ethernet(DLT_EN10MB), outer_only(DLT_EN10MB, /*tunnels=*/false);
  for (const auto& [what, frame] : TunnelFrames(kSynAck)) {
    ASSERT_TRUE(DecodesAsSynAck(DLT_EN10MB, frame)) << what << ": builder or decoder disagree";
    EXPECT_TRUE(ethernet.Passes(frame)) << what;
    EXPECT_FALSE(outer_only.Passes(frame)) << what << ": without tunnels, only outer TCP";
  }
  CompiledFilter raw(DLT_RAW);
  EXPECT_TRUE(raw.Passes(Ipv4(47, Gre(0, 0x0800, Ipv4(6, Tcp(kSynAck))))));
  // Behind tags (in a file, or QinQ on a live interface) tunnels pass whole.
  for (const std::vector<uint16_t>& tpids :
       {std::vector<uint16_t>{0x8100}, std::vector<uint16_t>{0x88a8, 0x8100},
        std::vector<uint16_t>{0x9100, 0x88a8, 0x8100}}) {
    for (const auto& [what, frame] : TunnelFrames(kSynAck, tpids)) {
      ASSERT_TRUE(DecodesAsSynAck(DLT_EN10MB, frame)) << what << ": builder or decoder disagree";
      EXPECT_TRUE(ethernet.Passes(frame)) << what << " behind " << tpids.size() << " tags";
      EXPECT_FALSE(outer_only.Passes(frame)) << what << " behind " << tpids.size() << " tags";
    }
  }
}

TEST(SynAckFilterTest, RejectsTunnelledNonSynAcks) {
  CompiledFilter ethernet(DLT_EN10MB);
  for (uint8_t flags : {kAck, kSyn, static_cast<uint8_t>(kAck | 0x01)}) {
    for (const auto& [what, frame] : TunnelFrames(flags)) {
      ASSERT_FALSE(DecodesAsSynAck(DLT_EN10MB, frame)) << what;
      // A tunnel inside a tunnel is passed whole: BPF looks into one level only.
      EXPECT_EQ(ethernet.Passes(frame), what == "vxlan in gre") << what << " flags " << int{flags};
    }
  }
  // DNS inside VXLAN.
  EXPECT_FALSE(ethernet.Passes(Ethernet(
      0x0800,
      Ipv4(17, Udp(50000, 4789,
                   Concat({kVxlan, Ethernet(0x0800, Ipv4(17, Udp(53, 5353, Bytes(12, 0))))}))))));
}

TEST(SynAckFilterTest, FitsTheKernelsInstructionLimit) {
  // Linux refuses classic BPF programs longer than BPF_MAXINSNS (4096); libpcap then filters
  // in userland, every packet copied out of the kernel first.
  for (int dlt : {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, DLT_IPV4, DLT_IPV6}) {
    CompiledFilter filter(dlt);
    EXPECT_LT(filter.instructions(), 4096u) << "dlt " << dlt;
  }
}

// Every packet of every shared capture: nothing the decoder counts as a SYN/ACK may be
// dropped by the filter, and most other packets must be. Prints the share of other packets
// that pass, with and without the tunnel clauses.
TEST(SynAckFilterTest, SharedCapturesNoSynAckIsFilteredOut) {
  const std::string dir = synmap::testing::SharedPcapsDir();
  if (dir.empty()) {
    GTEST_SKIP() << "shared captures not found (set SYNMAP_PCAPS_DIR or check out ../shared)";
  }
  std::map<int, std::unique_ptr<CompiledFilter>> filters;
  std::map<int, std::unique_ptr<CompiledFilter>> outer_only_filters;
  uint64_t synacks = 0, others = 0, others_passed = 0, unfiltered_link = 0, files = 0;
  uint64_t tunnelled_synacks = 0, others_passed_outer_only = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string path = entry.path().string();
    const std::string ext = entry.path().extension().string();
    if (!entry.is_regular_file() || (ext != ".pcap" && ext != ".pcapng")) {
      continue;
    }
    absl::StatusOr<std::unique_ptr<common::PacketReader>> reader = common::PacketReader::Open(path);
    if (!reader.ok()) {
      continue;  // The corpus holds deliberately unreadable files.
    }
    ++files;
    common::PacketRef ref;
    while ((*reader)->Next(&ref)) {
      const int dlt = DltOfLinktype(ref.link_type);
      auto [it, inserted] = filters.try_emplace(dlt);
      if (inserted) {
        it->second = std::make_unique<CompiledFilter>(dlt);
        outer_only_filters[dlt] = std::make_unique<CompiledFilter>(dlt, /*tunnels=*/false);
      }
      common::SynAckEvent event;
      common::TunnelInfo tunnel;
      const bool is_synack =
          common::DecodePacket(ref.link_type, ref.data, ref.caplen, common::DecodeOptions(), &event,
                               &tunnel) == common::DecodeResult::kSynAck;
      if (!it->second->available()) {
        ++unfiltered_link;  // Captured unfiltered live, so nothing to check.
        continue;
      }
      const bool passed = it->second->Passes(ref.data, ref.caplen, ref.wire_length);
      if (is_synack) {
        ++synacks;
        tunnelled_synacks += tunnel.depth > 0 ? 1 : 0;
        EXPECT_TRUE(passed) << path << " packet " << (*reader)->packets_read()
                            << ": a SYN/ACK the filter drops";
      } else {
        ++others;
        others_passed += passed ? 1 : 0;
        others_passed_outer_only +=
            outer_only_filters[dlt]->Passes(ref.data, ref.caplen, ref.wire_length) ? 1 : 0;
      }
    }
  }
  // SOURCES.md lists hundreds of SYN/ACKs in Ethernet, SLL, SLL2 and raw IP files.
  EXPECT_GT(files, 100u);
  EXPECT_GT(synacks, 300u);
  EXPECT_GT(others, 5000u);
  EXPECT_EQ(tunnelled_synacks, 15u) << "the corpus's SYN/ACKs inside tunnels";
  const double passed_share = static_cast<double>(others_passed) / static_cast<double>(others);
  EXPECT_LT(passed_share, 0.10) << others_passed << " of " << others << " non-SYN/ACK packets pass";
  std::cout << "shared captures: files=" << files << " synacks=" << synacks
            << " non_synacks=" << others << " non_synacks_passed=" << others_passed
            << " non_synacks_passed_without_tunnel_clauses=" << others_passed_outer_only
            << " tunnelled_synacks=" << tunnelled_synacks
            << " unfiltered_link_type_packets=" << unfiltered_link << "\n";
}

}  // namespace
}  // namespace synmap::sensor
