#include "common/packet/decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/packet/ip_address.h"
#include "tests/testing/packet_builder.h"

namespace synmap::common {

// Prints results by name in test failures.
void PrintTo(DecodeResult result, std::ostream* os) { *os << DecodeResultName(result); }

namespace {

using ::synmap::testing::kTcpAck;
using ::synmap::testing::kTcpCwr;
using ::synmap::testing::kTcpEce;
using ::synmap::testing::kTcpFin;
using ::synmap::testing::kTcpPsh;
using ::synmap::testing::kTcpRst;
using ::synmap::testing::kTcpSyn;
using ::synmap::testing::kTcpSynAck;
using ::synmap::testing::kTcpUrg;
using ::synmap::testing::PacketBuilder;

constexpr char kServer4[] = "198.51.100.1";
constexpr char kClient4[] = "198.51.100.2";
constexpr char kServer6[] = "2001:db8::1";
constexpr char kClient6[] = "2001:db8:10::2";
constexpr uint16_t kServerPort = 443;
constexpr uint16_t kClientPort = 40000;
constexpr uint32_t kIsn = 0xdeadbeef;
constexpr size_t kTcpNeededBytes = 14;

// Decodes `frame` from an exact-size heap copy, so ASan reports any read past caplen.
DecodeResult DecodeCopy(int link_type, const std::vector<uint8_t>& frame, size_t caplen,
                        SynAckEvent* out) {
  auto copy = std::make_unique<uint8_t[]>(caplen);
  if (caplen > 0) {
    std::memcpy(copy.get(), frame.data(), caplen);
  }
  return DecodePacket(link_type, copy.get(), caplen, out);
}

DecodeResult Decode(const PacketBuilder& builder, SynAckEvent* out = nullptr) {
  SynAckEvent ignored;
  const std::vector<uint8_t> frame = builder.Build();
  return DecodeCopy(builder.LinkType(), frame, frame.size(), out != nullptr ? out : &ignored);
}

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

SynAckEvent Expected(bool v6) {
  SynAckEvent e;
  e.server = Ip(v6 ? kServer6 : kServer4);
  e.client = Ip(v6 ? kClient6 : kClient4);
  e.server_port = kServerPort;
  e.client_port = kClientPort;
  e.isn = kIsn;
  return e;
}

// Adds the IP and TCP layers of the standard SYN/ACK to `b`.
PacketBuilder SynAck(PacketBuilder b, bool v6 = false, uint8_t flags = kTcpSynAck) {
  if (v6) {
    b.Ipv6(kServer6, kClient6);
  } else {
    b.Ipv4(kServer4, kClient4);
  }
  return b.Tcp(kServerPort, kClientPort, flags, kIsn);
}

std::vector<uint8_t> Snap(uint16_t ethertype) {
  return {0xaa,
          0xaa,
          0x03,
          0x00,
          0x00,
          0x00,
          static_cast<uint8_t>(ethertype >> 8),
          static_cast<uint8_t>(ethertype)};
}

std::vector<uint8_t> Concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<uint8_t> Macs() { return {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}; }

// A radiotap header with TSFT (8 bytes, 8-aligned) and Flags fields.
std::vector<uint8_t> RadiotapTsftFlags(uint8_t flags) {
  std::vector<uint8_t> h = {0, 0, 17, 0, 0x03, 0, 0, 0};
  h.insert(h.end(), 8, 0);  // TSFT.
  h.push_back(flags);
  return h;
}

// A QoS data frame header (`ds_bits`: 2 = From DS, 3 = four addresses), then `pad` bytes.
std::vector<uint8_t> Ieee80211QosData(uint8_t ds_bits, size_t pad) {
  std::vector<uint8_t> h = {0x88, ds_bits, 0, 0};
  h.insert(h.end(), (ds_bits == 3 ? 4 : 3) * 6 + 2 + 2 + pad, 0);
  return h;
}

// Ethernet, IPv6 and `count` destination options headers; add the TCP layer.
PacketBuilder ManyDestinationOptions(int count) {
  PacketBuilder b = PacketBuilder().Ethernet();
  b.Ipv6(kServer6, kClient6);
  for (int i = 0; i < count; ++i) {
    b.Ipv6DestinationOptions();
  }
  return b;
}

// One valid SYN/ACK per link layer and tag stack; `v6` says which addresses to expect.
struct LinkCase {
  std::string name;
  PacketBuilder builder;
  bool v6 = false;
};

std::vector<LinkCase> LinkCases() {
  std::vector<LinkCase> cases = {
      {"Ethernet", SynAck(PacketBuilder().Ethernet())},
      {"EthernetIpv6", SynAck(PacketBuilder().Ethernet(), true), true},
      {"Ethernet8023Snap", SynAck(PacketBuilder().Ethernet8023Snap())},
      {"Vlan", SynAck(PacketBuilder().Ethernet().Vlan(10))},
      {"VlanIpv6", SynAck(PacketBuilder().Ethernet().Vlan(10), true), true},
      {"QinQ", SynAck(PacketBuilder().Ethernet().Vlan(100, testing::kTpid8021ad).Vlan(10))},
      {"QinQ9100", SynAck(PacketBuilder().Ethernet().Vlan(100, testing::kTpidQinqOld).Vlan(10))},
      {"ThreeTags",
       SynAck(PacketBuilder().Ethernet().Vlan(1, testing::kTpid8021ad).Vlan(2).Vlan(3))},
      {"VlanThenSnap", SynAck(PacketBuilder().Link(1).Bytes(Concat(
                           Concat(Macs(), {0x81, 0x00, 0x00, 0x07, 0x00, 0x30}), Snap(0x0800))))},
      {"VnTagSandwich", SynAck(PacketBuilder().Ethernet().Vlan(250).VnTag().Vlan(250))},
      {"Pbb",
       SynAck(PacketBuilder().Ethernet().Vlan(100, testing::kTpid8021ad).Pbb(0x1234).Vlan(10))},
      {"Mpls", SynAck(PacketBuilder().Ethernet().Mpls(29))},
      {"MplsStackIpv6", SynAck(PacketBuilder().Ethernet().Mpls(1).Mpls(2).Mpls(3), true), true},
      {"VlanMpls", SynAck(PacketBuilder().Ethernet().Vlan(5).Mpls(16))},
      {"PppoeOverQinQ", SynAck(PacketBuilder().Ethernet().Vlan(3704).Vlan(2474).Pppoe(0xf07))},
      {"PppoeIpv6", SynAck(PacketBuilder().Ethernet().Pppoe(1), true), true},
      {"LinuxSll", SynAck(PacketBuilder().LinuxSll())},
      {"LinuxSllIpv6", SynAck(PacketBuilder().LinuxSll(), true), true},
      {"LinuxSllVlan", SynAck(PacketBuilder().LinuxSll().Vlan(4))},
      {"LinuxSllLlc", SynAck(PacketBuilder().Link(113).Bytes(Concat(
                          {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x00, 0x04}, Snap(0x0800))))},
      {"LinuxSll2", SynAck(PacketBuilder().LinuxSll2())},
      {"LinuxSll2Ipv6", SynAck(PacketBuilder().LinuxSll2(), true), true},
      {"Null", SynAck(PacketBuilder().Null())},
      {"NullIpv6Bsd24", SynAck(PacketBuilder().Null(), true), true},
      {"NullIpv6FreeBsd28", SynAck(PacketBuilder().NullFamily(28), true), true},
      {"NullIpv6Darwin30", SynAck(PacketBuilder().NullFamily(30), true), true},
      {"NullOtherByteOrder", SynAck(PacketBuilder().NullFamily(__builtin_bswap32(2)))},
      {"Loop", SynAck(PacketBuilder().Loop())},
      {"LoopIpv6", SynAck(PacketBuilder().Loop(), true), true},
      {"Raw12", SynAck(PacketBuilder().Link(12))},
      {"Raw12Ipv6", SynAck(PacketBuilder().Link(12), true), true},
      {"Raw14", SynAck(PacketBuilder().Link(14))},
      {"Raw101", SynAck(PacketBuilder().Link(101), true), true},
      {"Ipv4Link228", SynAck(PacketBuilder().Link(228))},
      {"Ipv6Link229", SynAck(PacketBuilder().Link(229), true), true},
      {"Nflog", SynAck(PacketBuilder().Nflog())},
      {"NflogIpv6", SynAck(PacketBuilder().Nflog(), true), true},
      {"ArcnetLinuxRfc1201", SynAck(PacketBuilder().ArcnetLinux())},
      {"ArcnetLinuxRfc1051", SynAck(PacketBuilder().ArcnetLinux(/*rfc1051=*/true))},
      {"ArcnetLinuxIpv6", SynAck(PacketBuilder().ArcnetLinux(), true), true},
      {"ArcnetBsd", SynAck(PacketBuilder().Link(7).Bytes({1, 2, 0xd4, 0, 0, 1}))},
      {"ArcnetBsdException",
       SynAck(PacketBuilder().Link(7).Bytes({1, 2, 0xd4, 0xff, 0xff, 0xff, 0xd4, 0, 0, 1}))},
      {"ArcnetBsdOld", SynAck(PacketBuilder().Link(7).Bytes({1, 2, 0xf0}))},
      {"Ipoib", SynAck(PacketBuilder().Ipoib())},
      {"Fddi", SynAck(PacketBuilder().Fddi())},
      {"TokenRing",
       SynAck(PacketBuilder().Link(6).Bytes(Concat(Concat({0x10, 0x40}, Macs()), Snap(0x0800))))},
      {"TokenRingSourceRouted",
       SynAck(PacketBuilder().Link(6).Bytes(
           Concat({0x10, 0x40, 2, 0, 0, 0, 0, 2, 0x82, 0, 0, 0, 0, 1, 0x04, 0x30, 0, 0x10},
                  Snap(0x0800))))},
      {"Slip", SynAck(PacketBuilder().Link(8).Bytes(std::vector<uint8_t>(16, 0)))},
      {"Ppp", SynAck(PacketBuilder().Ppp())},
      {"PppIpv6", SynAck(PacketBuilder().Ppp(), true), true},
      {"PppNoFramingCompressedProtocol", SynAck(PacketBuilder().Link(9).Bytes({0x21}))},
      {"PppSerial", SynAck(PacketBuilder().Link(50).Bytes({0xff, 0x03, 0x00, 0x21}))},
      {"PppSerialCiscoFraming", SynAck(PacketBuilder().Link(50).Bytes({0x0f, 0x00, 0x08, 0x00}))},
      {"PppEther", SynAck(PacketBuilder().Pppoe(3))},
      {"CiscoHdlc", SynAck(PacketBuilder().CiscoHdlc())},
      {"AtmRfc1483", SynAck(PacketBuilder().Link(11).Bytes(Snap(0x0800)))},
      {"SunAtm", SynAck(PacketBuilder().Link(123).Bytes(Concat({0, 0, 0, 32}, Snap(0x0800))))},
      {"Ieee80211", SynAck(PacketBuilder().Ieee80211())},
      {"Radiotap", SynAck(PacketBuilder().Radiotap().Ieee80211())},
      {"RadiotapDataPadQos",
       SynAck(PacketBuilder().Link(127).Bytes(
           Concat(Concat(RadiotapTsftFlags(0x20), Ieee80211QosData(0x02, 2)), Snap(0x0800))))},
      {"Ieee80211FourAddressQos",
       SynAck(PacketBuilder().Link(105).Bytes(Concat(Ieee80211QosData(0x03, 0), Snap(0x0800))))},
      {"PpiEthernet", SynAck(PacketBuilder().Ppi().Ethernet())},
      {"PpiIeee80211", SynAck(PacketBuilder().Ppi().Ieee80211(), true), true},
      {"Enc", SynAck(PacketBuilder().Link(109).Bytes({2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0}))},
      {"Pflog", SynAck(PacketBuilder().Link(117).Bytes(Concat({61, 2}, std::vector<uint8_t>(62))))},
      {"NetAnalyzer", SynAck(PacketBuilder().Link(240).Bytes({0, 0, 0, 0}).Ethernet())},
      {"NetAnalyzerTransparent",
       SynAck(PacketBuilder()
                  .Link(241)
                  .Bytes({0, 0, 0, 0, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0xd5})
                  .Ethernet())},
      {"EthernetMpacket", SynAck(PacketBuilder()
                                     .Link(274)
                                     .Bytes({0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0xd5})
                                     .Ethernet())},
      {"DsaTag", SynAck(PacketBuilder().Link(284).Bytes(Concat(Macs(), {0xc0, 0, 0, 0, 8, 0})))},
      {"EdsaTag", SynAck(PacketBuilder().Link(285).Bytes(
                      Concat(Macs(), {0xda, 0xda, 0, 0, 0xc0, 0, 0, 0, 8, 0})))},
      {"Ipv4Options", PacketBuilder()
                          .Ethernet()
                          .Ipv4(kServer4, kClient4, /*option_bytes=*/40)
                          .Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn)},
      {"Ipv4FirstFragment", PacketBuilder()
                                .Ethernet()
                                .Ipv4(kServer4, kClient4)
                                .Ipv4Fragment(0, /*more_fragments=*/true)
                                .Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn)},
      {"Ipv4Ah", PacketBuilder()
                     .Ethernet()
                     .Ipv4(kServer4, kClient4)
                     .Ah()
                     .Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn)},
      {"Ipv6ExtensionChain",
       PacketBuilder()
           .Ethernet()
           .Ipv6(kServer6, kClient6)
           .Ipv6HopByHop(16)
           .Ipv6Routing(24)
           .Ipv6DestinationOptions()
           .Ipv6Fragment(0, /*more_fragments=*/true)
           .Ah(16)
           .Ipv6DestinationOptions(8)
           .Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn),
       true},
      {"Ipv6HundredTwentyEightExtensions",
       ManyDestinationOptions(128).Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn), true},
      {"Ipv6AtomicFragment",
       PacketBuilder()
           .Ethernet()
           .Ipv6(kServer6, kClient6)
           .Ipv6Fragment(0, /*more_fragments=*/false)
           .Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn),
       true},
      {"SynAckWithEceCwrPsh",
       SynAck(PacketBuilder().Ethernet(), false, kTcpSynAck | kTcpEce | kTcpCwr | kTcpPsh)},
      {"AllEightFlags",
       SynAck(PacketBuilder().Ethernet(), false,
              kTcpFin | kTcpSyn | kTcpRst | kTcpPsh | kTcpAck | kTcpUrg | kTcpEce | kTcpCwr)},
  };
  PacketBuilder deep = PacketBuilder().Ethernet();
  for (int i = 0; i < 16; ++i) {  // The decoder's bound.
    deep.Vlan(static_cast<uint16_t>(i + 1),
              i % 2 == 0 ? testing::kTpid8021ad : testing::kTpid8021Q);
  }
  cases.push_back({"SixteenTags", SynAck(deep)});
  return cases;
}

void PrintTo(const LinkCase& link_case, std::ostream* os) { *os << link_case.name; }

class LinkTypeTest : public ::testing::TestWithParam<LinkCase> {};

TEST_P(LinkTypeTest, DecodesSynAckWithServerAsSource) {
  SynAckEvent event;
  ASSERT_EQ(Decode(GetParam().builder, &event), DecodeResult::kSynAck);
  EXPECT_EQ(event, Expected(GetParam().v6));
}

TEST_P(LinkTypeTest, EveryTruncationIsTruncatedAndNeverOverReads) {
  const std::vector<uint8_t> frame = GetParam().builder.Build();
  const int link_type = GetParam().builder.LinkType();
  // Every case ends with a 20-byte TCP header, of which the decoder needs 14.
  const size_t needed = frame.size() - 20 + kTcpNeededBytes;
  for (size_t caplen = 0; caplen <= frame.size(); ++caplen) {
    SynAckEvent event;
    const DecodeResult expected =
        caplen < needed ? DecodeResult::kTruncated : DecodeResult::kSynAck;
    ASSERT_EQ(DecodeCopy(link_type, frame, caplen, &event), expected) << "caplen " << caplen;
  }
}

TEST_P(LinkTypeTest, CorruptedBytesNeverReadPastCaplen) {
  // Overwrites random bytes of the frame and cuts it at a random length; under ASan any
  // read beyond the exact-size copy aborts the test. Fixed seed: deterministic.
  const std::vector<uint8_t> frame = GetParam().builder.Build();
  std::mt19937 rng(42);
  for (int round = 0; round < 500; ++round) {
    std::vector<uint8_t> corrupted = frame;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) {
      corrupted[rng() % corrupted.size()] = static_cast<uint8_t>(rng());
    }
    const size_t caplen = rng() % (corrupted.size() + 1);
    SynAckEvent event;
    const DecodeResult result =
        DecodeCopy(GetParam().builder.LinkType(), corrupted, caplen, &event);
    ASSERT_LT(static_cast<int>(result), static_cast<int>(DecodeResult::kCount));
    if (GetParam().builder.LinkType() != static_cast<int>(LinkType::kPpi)) {
      // Only PPI names a link type inside the frame (which corruption can make unknown).
      ASSERT_NE(result, DecodeResult::kUnsupportedLinkType);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllLinkLayers, LinkTypeTest, ::testing::ValuesIn(LinkCases()),
                         [](const ::testing::TestParamInfo<LinkCase>& param_info) {
                           return param_info.param.name;
                         });

// --- Results other than kSynAck ---

TEST(DecoderTest, TcpWithoutBothSynAndAckIsNotSynAck) {
  for (uint8_t flags :
       {kTcpSyn, kTcpAck, static_cast<uint8_t>(kTcpRst | kTcpAck),
        static_cast<uint8_t>(kTcpFin | kTcpAck), static_cast<uint8_t>(kTcpSyn | kTcpRst),
        static_cast<uint8_t>(kTcpPsh | kTcpAck), uint8_t{0}}) {
    EXPECT_EQ(Decode(SynAck(PacketBuilder().Ethernet(), false, flags)), DecodeResult::kNotSynAck)
        << "flags " << int{flags};
    EXPECT_EQ(Decode(SynAck(PacketBuilder().Ethernet(), true, flags)), DecodeResult::kNotSynAck)
        << "flags " << int{flags};
  }
}

TEST(DecoderTest, IpWithoutTcpIsNotTcp) {
  EXPECT_EQ(Decode(PacketBuilder().Ethernet().Ipv4(kServer4, kClient4).Udp(53, 4000)),
            DecodeResult::kNotTcp);
  EXPECT_EQ(Decode(PacketBuilder().Ethernet().Ipv6(kServer6, kClient6).Udp(53, 4000)),
            DecodeResult::kNotTcp);
  EXPECT_EQ(Decode(PacketBuilder().Ethernet().Ipv6(kServer6, kClient6)),  // No next header.
            DecodeResult::kNotTcp);
  EXPECT_EQ(Decode(PacketBuilder()
                       .Ethernet()
                       .Ipv6(kServer6, kClient6)
                       .Ipv6HopByHop()
                       .Payload({1, 2, 3, 4, 5, 6, 7, 8})),
            DecodeResult::kNotTcp);
}

TEST(DecoderTest, TunneledSynAckIsNotCountedWithoutDecapsulation) {
  // Without decapsulation only the outermost IP header counts (tunnel_decoder_test covers the
  // tunnels themselves).
  auto outer_only = [](const PacketBuilder& builder) {
    const std::vector<uint8_t> frame = builder.Build();
    SynAckEvent event;
    return DecodePacket(builder.LinkType(), frame.data(), frame.size(),
                        DecodeOptions{.decapsulate = false}, &event, nullptr);
  };
  // IP-in-IP (protocol 4) and IPv6-in-IPv4 (41).
  EXPECT_EQ(outer_only(SynAck(PacketBuilder().Ethernet().Ipv4("192.0.2.1", "192.0.2.2"))),
            DecodeResult::kNotTcp);
  EXPECT_EQ(outer_only(SynAck(PacketBuilder().Ethernet().Ipv4("192.0.2.1", "192.0.2.2"), true)),
            DecodeResult::kNotTcp);
  // AH in tunnel mode (the AH-IPcomp captures): AH, then an inner IPv4 header.
  EXPECT_EQ(outer_only(SynAck(PacketBuilder().Ethernet().Ipv4("192.0.2.1", "192.0.2.2").Ah())),
            DecodeResult::kNotTcp);
  // VXLAN: a whole SYN/ACK frame inside UDP 4789.
  std::vector<uint8_t> vxlan = {0x08, 0, 0, 0, 0, 0, 0x01, 0};
  vxlan = Concat(vxlan, SynAck(PacketBuilder().Ethernet()).Build());
  const PacketBuilder vxlan_frame =
      PacketBuilder().Ethernet().Ipv4("192.0.2.1", "192.0.2.2").Udp(50000, 4789).Payload(vxlan);
  EXPECT_EQ(outer_only(vxlan_frame), DecodeResult::kNotTcp);
  // The default options enter it.
  EXPECT_EQ(Decode(vxlan_frame), DecodeResult::kSynAck);
}

TEST(DecoderTest, NonIpLinkPayloadIsNotIp) {
  EXPECT_EQ(Decode(PacketBuilder().Ethernet().Arp()), DecodeResult::kNotIp);
  EXPECT_EQ(Decode(PacketBuilder().Ethernet().Vlan(3).Arp()), DecodeResult::kNotIp);
  EXPECT_EQ(Decode(PacketBuilder().LinuxSll().Arp()), DecodeResult::kNotIp);
  // 802.3 + spanning tree LLC, and SNAP with Cisco's OUI (CDP).
  EXPECT_EQ(Decode(PacketBuilder().Link(1).Bytes(Concat(Macs(), {0, 38, 0x42, 0x42, 0x03, 0, 0}))),
            DecodeResult::kNotIp);
  EXPECT_EQ(Decode(PacketBuilder().Link(1).Bytes(
                Concat(Macs(), {0, 38, 0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00}))),
            DecodeResult::kNotIp);
  // An MPLS pseudowire with a control word (first nibble 0), not an IP header.
  EXPECT_EQ(Decode(PacketBuilder().Ethernet().Mpls(17).Payload({0, 0, 0, 0, 1, 2, 3, 4})),
            DecodeResult::kNotIp);
  // PPPoE discovery (code PADI) and PPP LCP.
  EXPECT_EQ(Decode(PacketBuilder().Link(1).Bytes(
                Concat(Macs(), {0x88, 0x64, 0x11, 0x09, 0, 0, 0, 0, 0, 0}))),
            DecodeResult::kNotIp);
  EXPECT_EQ(Decode(PacketBuilder().Ppp().Payload({1, 1, 0, 4})), DecodeResult::kNotIp);
  // Unknown DLT_NULL family, Linux netlink over SLL, 802.11 beacon and protected data.
  EXPECT_EQ(Decode(SynAck(PacketBuilder().NullFamily(7))), DecodeResult::kNotIp);
  EXPECT_EQ(Decode(PacketBuilder().Link(113).Bytes(
                {0, 4, 0x03, 0x38, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0x45, 0})),
            DecodeResult::kNotIp);
  std::vector<uint8_t> beacon(36, 0);
  beacon[0] = 0x80;
  EXPECT_EQ(Decode(PacketBuilder().Link(105).Bytes(beacon)), DecodeResult::kNotIp);
  std::vector<uint8_t> protected_data = SynAck(PacketBuilder().Ieee80211()).Build();
  protected_data[1] |= 0x40;
  EXPECT_EQ(Decode(PacketBuilder().Link(105).Bytes(protected_data)), DecodeResult::kNotIp);
}

TEST(DecoderTest, RadiotapPaddingFollowsTheFlagsField) {
  // The frame of the RadiotapDataPadQos case, but with the data-pad flag cleared: the LLC
  // header is then read 2 bytes early and finds no SNAP header.
  EXPECT_EQ(Decode(SynAck(PacketBuilder().Link(127).Bytes(
                Concat(Concat(RadiotapTsftFlags(0x00), Ieee80211QosData(0x02, 2)), Snap(0x0800))))),
            DecodeResult::kNotIp);
}

TEST(DecoderTest, NonFirstFragmentIsFragment) {
  EXPECT_EQ(Decode(PacketBuilder()
                       .Ethernet()
                       .Ipv4(kServer4, kClient4)
                       .Ipv4Fragment(185, /*more_fragments=*/false)
                       .Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn)),
            DecodeResult::kFragment);
  EXPECT_EQ(Decode(PacketBuilder()
                       .Ethernet()
                       .Ipv6(kServer6, kClient6)
                       .Ipv6HopByHop()
                       .Ipv6Fragment(1, /*more_fragments=*/true)
                       .Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn)),
            DecodeResult::kFragment);
  // A later piece of a split ARCNET packet (RFC 1201 split flag even and non-zero).
  EXPECT_EQ(Decode(SynAck(PacketBuilder().Link(7).Bytes({1, 2, 0xd4, 0x02, 0, 1}))),
            DecodeResult::kFragment);
}

// Builds the standard Ethernet SYN/ACK and lets `mutate` break one byte of it.
template <typename F>
DecodeResult DecodeMutated(int ip_offset, bool v6, F mutate) {
  std::vector<uint8_t> frame = SynAck(PacketBuilder().Ethernet(), v6).Build();
  mutate(frame.data() + ip_offset);
  SynAckEvent event;
  return DecodeCopy(1, frame, frame.size(), &event);
}

TEST(DecoderTest, ImpossibleHeaderFieldsAreBadHeader) {
  constexpr int kIp = 14;
  EXPECT_EQ(DecodeMutated(kIp, false, [](uint8_t* ip) { ip[0] = 0x44; }), DecodeResult::kBadHeader)
      << "IHL 4";
  EXPECT_EQ(DecodeMutated(kIp, false, [](uint8_t* ip) { ip[0] = 0x65; }), DecodeResult::kBadHeader)
      << "version 6 under the IPv4 Ethernet type";
  EXPECT_EQ(DecodeMutated(kIp, true, [](uint8_t* ip) { ip[0] = 0x45; }), DecodeResult::kBadHeader)
      << "version 4 under the IPv6 Ethernet type";
  EXPECT_EQ(DecodeMutated(kIp, false, [](uint8_t* ip) { ip[2] = 0, ip[3] = 19; }),
            DecodeResult::kBadHeader)
      << "total length shorter than the header";
  EXPECT_EQ(DecodeMutated(kIp, false, [](uint8_t* ip) { ip[20 + 12] = 0x40; }),
            DecodeResult::kBadHeader)
      << "TCP data offset 4";
  EXPECT_EQ(DecodeMutated(kIp, true, [](uint8_t* ip) { ip[40 + 12] = 0x00; }),
            DecodeResult::kBadHeader)
      << "TCP data offset 0";
  // Raw IP with version 5, and IPv4 under LINKTYPE_IPV6 (tcpdump's LINKTYPE_IPV6_invalid).
  std::vector<uint8_t> raw = SynAck(PacketBuilder().Link(12)).Build();
  SynAckEvent event;
  EXPECT_EQ(DecodeCopy(229, raw, raw.size(), &event), DecodeResult::kBadHeader);
  raw[0] = 0x55;
  EXPECT_EQ(DecodeCopy(12, raw, raw.size(), &event), DecodeResult::kBadHeader);
}

TEST(DecoderTest, UnboundedHeaderChainsAreBadHeader) {
  PacketBuilder tags = PacketBuilder().Ethernet();
  for (int i = 0; i < 17; ++i) {
    tags.Vlan(static_cast<uint16_t>(i));
  }
  EXPECT_EQ(Decode(SynAck(tags)), DecodeResult::kBadHeader);
  PacketBuilder labels = PacketBuilder().Ethernet();
  for (uint32_t i = 0; i < 17; ++i) {
    labels.Mpls(i + 16);
  }
  EXPECT_EQ(Decode(SynAck(labels)), DecodeResult::kBadHeader);
  PacketBuilder extensions = PacketBuilder().Ethernet().Ipv6(kServer6, kClient6);
  for (int i = 0; i < 129; ++i) {  // One more than the decoder's bound.
    extensions.Ipv6DestinationOptions();
  }
  EXPECT_EQ(Decode(extensions.Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn)),
            DecodeResult::kBadHeader);
}

TEST(DecoderTest, ImpossibleLinkHeadersAreBadHeader) {
  // An NFLOG TLV shorter than its own header, a radiotap length below 8, PPI inside PPI.
  EXPECT_EQ(Decode(PacketBuilder().Link(239).Bytes({2, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0, 0})),
            DecodeResult::kBadHeader);
  EXPECT_EQ(Decode(PacketBuilder().Link(127).Bytes({0, 0, 4, 0, 0, 0, 0, 0, 0, 0})),
            DecodeResult::kBadHeader);
  EXPECT_EQ(Decode(PacketBuilder().Link(192).Bytes({0, 0, 8, 0, 192, 0, 0, 0, 0, 0})),
            DecodeResult::kBadHeader);
}

TEST(DecoderTest, UnknownLinkTypeIsUnsupported) {
  const std::vector<uint8_t> frame = SynAck(PacketBuilder().Ethernet()).Build();
  SynAckEvent event;
  for (int link_type : {-1, 2, 147, 160, 3145728}) {
    EXPECT_EQ(DecodeCopy(link_type, frame, frame.size(), &event),
              DecodeResult::kUnsupportedLinkType)
        << link_type;
  }
}

TEST(DecoderTest, NullDataWithZeroLengthIsTruncated) {
  SynAckEvent event;
  EXPECT_EQ(DecodePacket(1, nullptr, 0, &event), DecodeResult::kTruncated);
  EXPECT_EQ(DecodePacket(12, nullptr, 0, &event), DecodeResult::kTruncated);
}

TEST(DecoderTest, SnaplenCutPayloadStillDecodes) {
  // A SYN/ACK with 200 payload bytes (TCP Fast Open) cut right after the TCP flags: the IP
  // total length claims far more than was captured, which is normal with a small snaplen.
  const std::vector<uint8_t> frame = PacketBuilder()
                                         .Ethernet()
                                         .Ipv4(kServer4, kClient4)
                                         .Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn)
                                         .Payload(std::vector<uint8_t>(200, 0x61))
                                         .Build();
  SynAckEvent event;
  EXPECT_EQ(DecodeCopy(1, frame, 14 + 20 + kTcpNeededBytes, &event), DecodeResult::kSynAck);
  EXPECT_EQ(event, Expected(false));
}

TEST(DecoderTest, ZeroIpv4TotalLengthIsAccepted) {
  // TSO / BIG TCP super-packets carry total length 0 (tcpdump's bigtcp-ipv4.pcap).
  std::vector<uint8_t> frame = SynAck(PacketBuilder().Ethernet()).Build();
  frame[14 + 2] = 0;
  frame[14 + 3] = 0;
  SynAckEvent event;
  EXPECT_EQ(DecodeCopy(1, frame, frame.size(), &event), DecodeResult::kSynAck);
}

TEST(DecoderTest, LongTcpHeaderNeedsOnlyFourteenBytes) {
  const std::vector<uint8_t> frame =
      PacketBuilder()
          .Ethernet()
          .Ipv6(kServer6, kClient6)
          .Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn, /*data_offset_words=*/15)
          .Build();
  SynAckEvent event;
  const size_t tcp_start = 14 + 40;
  EXPECT_EQ(DecodeCopy(1, frame, tcp_start + kTcpNeededBytes - 1, &event),
            DecodeResult::kTruncated);
  EXPECT_EQ(DecodeCopy(1, frame, tcp_start + kTcpNeededBytes, &event), DecodeResult::kSynAck);
  EXPECT_EQ(event, Expected(true));
}

// --- Names and stats ---

TEST(DecodeResultNameTest, NamesAreStableAndDistinct) {
  EXPECT_STREQ(DecodeResultName(DecodeResult::kSynAck), "synack");
  EXPECT_STREQ(DecodeResultName(DecodeResult::kTruncated), "truncated");
  EXPECT_STREQ(DecodeResultName(DecodeResult::kBadHeader), "bad_header");
  std::set<std::string> names;
  for (size_t i = 0; i < static_cast<size_t>(DecodeResult::kCount); ++i) {
    const std::string name = DecodeResultName(static_cast<DecodeResult>(i));
    EXPECT_NE(name, "unknown") << i;
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(DecodeResult::kCount));
  EXPECT_STREQ(DecodeResultName(DecodeResult::kCount), "unknown");
}

TEST(DecodeStatsTest, CountsTotalsMalformedAndMerges) {
  DecodeStats a;
  a.Count(DecodeResult::kSynAck);
  a.Count(DecodeResult::kSynAck);
  a.Count(DecodeResult::kTruncated);
  DecodeStats b;
  b.Count(DecodeResult::kBadHeader);
  b.Count(DecodeResult::kNotIp);
  EXPECT_EQ(a.Get(DecodeResult::kSynAck), 2u);
  EXPECT_EQ(a.Total(), 3u);
  EXPECT_EQ(a.Malformed(), 1u);
  a.MergeFrom(b);
  EXPECT_EQ(a.Total(), 5u);
  EXPECT_EQ(a.Malformed(), 2u);
  EXPECT_EQ(a.Get(DecodeResult::kNotIp), 1u);
  EXPECT_EQ(b.Total(), 2u);
}

}  // namespace
}  // namespace synmap::common
