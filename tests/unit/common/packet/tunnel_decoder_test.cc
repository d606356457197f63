// Tunnels in DecodePacket: a SYN/ACK built inside each encapsulation the decoder enters, cut at
// every length and corrupted at random, with and without decapsulation.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "common/packet/decoder.h"
#include "common/packet/ip_address.h"
#include "tests/testing/packet_builder.h"

namespace synmap::common {

void PrintTo(DecodeResult result, std::ostream* os) { *os << DecodeResultName(result); }

namespace {

using ::synmap::testing::kTcpAck;
using ::synmap::testing::kTcpSynAck;
using ::synmap::testing::PacketBuilder;
using Bytes = std::vector<uint8_t>;

constexpr char kOuter4Src[] = "192.0.2.1";
constexpr char kOuter4Dst[] = "192.0.2.2";
constexpr char kOuter6Src[] = "2001:db8:ffff::1";
constexpr char kOuter6Dst[] = "2001:db8:ffff::2";
constexpr char kServer4[] = "198.51.100.1";
constexpr char kClient4[] = "198.51.100.2";
constexpr char kServer6[] = "2001:db8::1";
constexpr char kClient6[] = "2001:db8:10::2";
constexpr uint16_t kServerPort = 443;
constexpr uint16_t kClientPort = 40000;
constexpr uint32_t kIsn = 0xdeadbeef;
constexpr size_t kTcpHeaderBytes = 20;
constexpr size_t kTcpNeededBytes = 14;
constexpr uint8_t kProtoGre = 47;

// --- Tunnel headers, written from the specifications ---

constexpr uint16_t kGreChecksum = 0x8000;
constexpr uint16_t kGreRouting = 0x4000;
constexpr uint16_t kGreKey = 0x2000;
constexpr uint16_t kGreSequence = 0x1000;

void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

void Put32(Bytes& b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}

Bytes Concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// GRE version 0: the optional 4-byte fields its flags announce (filled with a pattern).
Bytes Gre(uint16_t flags, uint16_t protocol) {
  Bytes b;
  Put16(b, flags);
  Put16(b, protocol);
  if ((flags & (kGreChecksum | kGreRouting)) != 0) {
    Put32(b, 0xabcd0000);  // Checksum, routing offset.
  }
  if ((flags & kGreKey) != 0) {
    Put32(b, 0x00000064);
  }
  if ((flags & kGreSequence) != 0) {
    Put32(b, 0x00000007);
  }
  if ((flags & kGreRouting) != 0) {
    Put16(b, 0x0800);  // An IPv4 source route entry with one address, then the null entry.
    b.push_back(0);
    b.push_back(4);
    Put32(b, 0xc0000201);
    Put32(b, 0);
  }
  return b;
}

// PPTP's enhanced GRE (version 1): key (payload length, call id), sequence, acknowledgment.
Bytes GrePptp() {
  Bytes b;
  Put16(b, kGreKey | kGreSequence | 0x0080 | 0x0001);
  Put16(b, 0x880b);
  Put32(b, 0x00280001);
  Put32(b, 5);
  Put32(b, 4);
  return b;
}

Bytes Erspan2() { return {0x10, 0x0a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02}; }

// ERSPAN III: `frame_type` 0 (Ethernet) or 2 (IP); `subheader` sets the O bit.
Bytes Erspan3(uint8_t frame_type, bool subheader) {
  Bytes b = {0x20, 0x0a, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00};
  Put16(b, static_cast<uint16_t>((frame_type & 0x1f) << 10 | (subheader ? 1 : 0)));
  if (subheader) {
    b.insert(b.end(), {0x04, 0, 0, 0, 0, 0, 0, 0});
  }
  return b;
}

Bytes Vxlan() { return {0x08, 0, 0, 0, 0x00, 0x10, 0x00, 0}; }

// Geneve with `option_words` 4-byte words of options (one option TLV), payload `protocol`.
Bytes Geneve(uint16_t protocol, uint8_t option_words) {
  Bytes b = {static_cast<uint8_t>(option_words & 0x3f), 0};
  Put16(b, protocol);
  Put32(b, 0x00123400);
  if (option_words > 0) {
    Put16(b, 0x0104);  // Option class.
    b.push_back(0x01);
    b.push_back(static_cast<uint8_t>(option_words - 1));
    b.insert(b.end(), (option_words - 1) * 4u, 0x5a);
  }
  return b;
}

// GTP-U G-PDU with a sequence number and one 4-byte extension header (PDU session
// container); `payload_bytes` is the inner packet's size, for the length field.
Bytes GtpUser(size_t payload_bytes) {
  Bytes b = {0x34, 0xff};  // Version 1, PT 1, E and S flags; G-PDU.
  Put16(b, static_cast<uint16_t>(4 + 4 + payload_bytes));
  Put32(b, 0x00000abc);                         // TEID.
  b.insert(b.end(), {0x00, 0x01, 0x00, 0x85});  // Sequence, N-PDU, next: PDU session.
  b.insert(b.end(), {0x01, 0x00, 0x05, 0x00});  // Length 1 (4 bytes), content, no next.
  return b;
}

// Teredo authentication (client id and auth value of 2 and 3 bytes) and origin indications.
Bytes TeredoIndications() {
  Bytes b = {0x00, 0x01, 2, 3, 'i', 'd', 'a', 'u', 't'};
  b.insert(b.end(), 8, 0x11);  // Nonce.
  b.push_back(0);              // Confirmation.
  b.insert(b.end(), {0x00, 0x00, 0xf2, 0x3f, 0x3f, 0xff, 0xfd, 0xfe});
  return b;
}

// AYIYA forward, 16-byte identity, SHA-1 signature (5 words), carrying `next_header`.
Bytes Ayiya(uint8_t next_header) {
  Bytes b = {0x42, 0x52, 0x11, next_header};
  Put32(b, 0x5f000000);
  b.insert(b.end(), 16, 0x20);
  b.insert(b.end(), 20, 0x33);
  return b;
}

// --- Cases ---

struct TunnelCase {
  std::string name;
  PacketBuilder builder;
  bool inner_v6 = false;
  uint8_t depth = 1;
  // Where the outer UDP header lies (0, 0 for tunnels named by an IP protocol): a frame cut
  // inside it cannot be told from any other UDP datagram.
  size_t udp_start = 0;
  size_t udp_end = 0;
};

PacketBuilder& InnerSynAck(PacketBuilder& b, bool v6) {
  if (v6) {
    b.Ipv6(kServer6, kClient6);
  } else {
    b.Ipv4(kServer4, kClient4);
  }
  return b.Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn);
}

PacketBuilder Outer4() { return PacketBuilder().Ethernet().Ipv4(kOuter4Src, kOuter4Dst); }
PacketBuilder Outer6() { return PacketBuilder().Ethernet().Ipv6(kOuter6Src, kOuter6Dst); }

TunnelCase Case(std::string name, PacketBuilder b, bool v6, uint8_t depth = 1) {
  InnerSynAck(b, v6);
  return TunnelCase{std::move(name), std::move(b), v6, depth, 0, 0};
}

// A UDP tunnel over Ethernet + IPv4 (20 bytes) or IPv6 (40 bytes).
TunnelCase UdpCase(std::string name, PacketBuilder b, bool outer_v6, bool v6) {
  TunnelCase c = Case(std::move(name), std::move(b), v6);
  c.udp_start = 14 + (outer_v6 ? 40 : 20);
  c.udp_end = c.udp_start + 8;
  return c;
}

// VXLAN in GRE in IP-in-IP: three tunnels; the inner UDP header is the one whose cut hides
// the third.
TunnelCase NestedThreeDeep() {
  TunnelCase c = Case("NestedThreeDeep",
                      Outer4()
                          .Ipv4("10.0.0.1", "10.0.0.2")
                          .IpProtocolBytes(kProtoGre, Gre(kGreKey, 0x0800))
                          .Ipv4("10.1.0.1", "10.1.0.2")
                          .Udp(40000, 4789)
                          .Bytes(Vxlan())
                          .Ethernet(),
                      false, 3);
  c.udp_start = 14 + 20 + 20 + 8 + 20;
  c.udp_end = c.udp_start + 8;
  return c;
}

std::vector<TunnelCase> TunnelCases() {
  const size_t inner4 = 20 + kTcpHeaderBytes;
  return {
      Case("GreIpv4", Outer4().IpProtocolBytes(kProtoGre, Gre(0, 0x0800)), false),
      Case("GreIpv6ChecksumKeySequence",
           Outer4().IpProtocolBytes(kProtoGre, Gre(kGreChecksum | kGreKey | kGreSequence, 0x86dd)),
           true),
      Case("GreRouting", Outer4().IpProtocolBytes(kProtoGre, Gre(kGreRouting, 0x0800)), false),
      Case("GreEthernetOverIpv6",
           Outer6().IpProtocolBytes(kProtoGre, Gre(kGreKey, 0x6558)).Ethernet().Vlan(7), false),
      Case("GreMpls", Outer4().IpProtocolBytes(kProtoGre, Gre(0, 0x8847)).Mpls(100), true),
      Case("GrePptpPpp", Outer4().IpProtocolBytes(kProtoGre, GrePptp()).Ppp(), false),
      Case("ErspanTypeOne", Outer4().IpProtocolBytes(kProtoGre, Gre(0, 0x88be)).Ethernet(), false),
      Case("ErspanTypeTwo",
           Outer4()
               .IpProtocolBytes(kProtoGre, Concat(Gre(kGreSequence, 0x88be), Erspan2()))
               .Ethernet()
               .Vlan(10),
           true),
      Case("ErspanTypeThreeWithSubheader",
           Outer4()
               .IpProtocolBytes(kProtoGre, Concat(Gre(kGreSequence, 0x22eb), Erspan3(0, true)))
               .Ethernet(),
           false),
      Case(
          "ErspanTypeThreeIpFrame",
          Outer6().IpProtocolBytes(kProtoGre, Concat(Gre(kGreSequence, 0x22eb), Erspan3(2, false))),
          true),
      Case("IpInIp", Outer4(), false),
      Case("SixInFour", Outer4(), true),
      Case("SixInSix", Outer6(), true),
      Case("FourInSix", Outer6(), false),
      UdpCase("Vxlan", Outer4().Udp(51234, 4789).Bytes(Vxlan()).Ethernet(), false, false),
      UdpCase("VxlanLinuxPortOverIpv6", Outer6().Udp(8472, 51234).Bytes(Vxlan()).Ethernet(), true,
              true),
      UdpCase("GeneveEthernetWithOptions",
              Outer4().Udp(51234, 6081).Bytes(Geneve(0x6558, 3)).Ethernet(), false, false),
      UdpCase("GeneveIpv6", Outer4().Udp(51234, 6081).Bytes(Geneve(0x86dd, 0)), false, true),
      UdpCase("GtpUserWithExtensionHeader", Outer4().Udp(2152, 2152).Bytes(GtpUser(inner4)), false,
              false),
      UdpCase("TeredoWithIndications", Outer4().Udp(3544, 49152).Bytes(TeredoIndications()), false,
              true),
      UdpCase("TeredoPlain", Outer4().Udp(61000, 3544), false, true),
      UdpCase("AyiyaIpv6", Outer4().Udp(5072, 50000).Bytes(Ayiya(41)), false, true),
      UdpCase("AyiyaIpv4OverIpv6", Outer6().Udp(50000, 5072).Bytes(Ayiya(4)), true, false),
      NestedThreeDeep(),
  };
}

// Decodes `frame` from an exact-size heap copy, so ASan reports any read past caplen.
DecodeResult DecodeCopy(int link_type, const Bytes& frame, size_t caplen, bool decapsulate,
                        SynAckEvent* out, TunnelInfo* tunnel) {
  auto copy = std::make_unique<uint8_t[]>(caplen == 0 ? 1 : caplen);
  if (caplen > 0) {
    std::memcpy(copy.get(), frame.data(), caplen);
  }
  return DecodePacket(link_type, caplen == 0 ? nullptr : copy.get(), caplen,
                      DecodeOptions{.decapsulate = decapsulate}, out, tunnel);
}

class TunnelTest : public ::testing::TestWithParam<TunnelCase> {};

TEST_P(TunnelTest, InnerSynAckIsDecodedWithItsAddressesAndDepth) {
  const Bytes frame = GetParam().builder.Build();
  SynAckEvent event;
  TunnelInfo tunnel;
  ASSERT_EQ(DecodeCopy(GetParam().builder.LinkType(), frame, frame.size(), true, &event, &tunnel),
            DecodeResult::kSynAck);
  const bool v6 = GetParam().inner_v6;
  EXPECT_EQ(event.server, *IpAddress::Parse(v6 ? kServer6 : kServer4));
  EXPECT_EQ(event.client, *IpAddress::Parse(v6 ? kClient6 : kClient4));
  EXPECT_EQ(event.server_port, kServerPort);
  EXPECT_EQ(event.client_port, kClientPort);
  EXPECT_EQ(event.isn, kIsn);
  EXPECT_EQ(tunnel, (TunnelInfo{.depth = GetParam().depth, .too_deep = false}));
}

TEST_P(TunnelTest, WithoutDecapsulationTheTunnelIsNotTcp) {
  const Bytes frame = GetParam().builder.Build();
  SynAckEvent event;
  TunnelInfo tunnel;
  EXPECT_EQ(DecodeCopy(GetParam().builder.LinkType(), frame, frame.size(), false, &event, &tunnel),
            DecodeResult::kNotTcp);
  EXPECT_EQ(tunnel, TunnelInfo());
}

TEST_P(TunnelTest, EveryTruncationIsTruncatedAndNeverOverReads) {
  const Bytes frame = GetParam().builder.Build();
  const size_t needed = frame.size() - kTcpHeaderBytes + kTcpNeededBytes;
  for (size_t caplen = 0; caplen <= frame.size(); ++caplen) {
    SynAckEvent event;
    TunnelInfo tunnel;
    DecodeResult expected = caplen < needed ? DecodeResult::kTruncated : DecodeResult::kSynAck;
    if (caplen >= GetParam().udp_start && caplen < GetParam().udp_end) {
      expected = DecodeResult::kNotTcp;  // UDP ports not captured: not known as a tunnel.
    }
    ASSERT_EQ(DecodeCopy(GetParam().builder.LinkType(), frame, caplen, true, &event, &tunnel),
              expected)
        << "caplen " << caplen;
  }
}

TEST_P(TunnelTest, OuterIpLengthBoundsTheTunnel) {
  // The same frame with the outer IP length 8 bytes short (the rest looks like padding): the
  // inner TCP header is cut, so the frame is truncated, never a SYN/ACK read from padding.
  Bytes frame = GetParam().builder.Build();
  if (frame[12] == 0x08) {
    const uint16_t total = static_cast<uint16_t>((frame[16] << 8 | frame[17]) - 8);
    frame[16] = static_cast<uint8_t>(total >> 8);
    frame[17] = static_cast<uint8_t>(total);
  } else {
    const uint16_t payload = static_cast<uint16_t>((frame[18] << 8 | frame[19]) - 8);
    frame[18] = static_cast<uint8_t>(payload >> 8);
    frame[19] = static_cast<uint8_t>(payload);
  }
  SynAckEvent event;
  TunnelInfo tunnel;
  EXPECT_EQ(DecodeCopy(GetParam().builder.LinkType(), frame, frame.size(), true, &event, &tunnel),
            DecodeResult::kTruncated);
}

TEST_P(TunnelTest, CorruptedBytesNeverReadPastCaplen) {
  const Bytes frame = GetParam().builder.Build();
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    Bytes corrupted = frame;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) {
      corrupted[rng() % corrupted.size()] = static_cast<uint8_t>(rng());
    }
    const size_t caplen = rng() % (corrupted.size() + 1);
    SynAckEvent event;
    TunnelInfo tunnel;
    const DecodeResult result =
        DecodeCopy(GetParam().builder.LinkType(), corrupted, caplen, true, &event, &tunnel);
    ASSERT_LT(static_cast<int>(result), static_cast<int>(DecodeResult::kCount));
    ASSERT_LE(tunnel.depth, kMaxTunnelDepth);
    if (result == DecodeResult::kSynAck) {
      ASSERT_EQ(event.client.length, event.server.length);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTunnels, TunnelTest, ::testing::ValuesIn(TunnelCases()),
                         [](const ::testing::TestParamInfo<TunnelCase>& param_info) {
                           return param_info.param.name;
                         });

// IP-in-IP `tunnels` times around a SYN/ACK (the outer IPv4 header, then `tunnels` more).
PacketBuilder NestedIpInIp(int tunnels) {
  PacketBuilder b = Outer4();
  for (int i = 1; i < tunnels; ++i) {
    b.Ipv4("10.0.0.1", "10.0.0.2");
  }
  return b.Ipv4(kServer4, kClient4).Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn);
}

TEST(TunnelDepthTest, MaxDepthIsEnteredAndOneMoreIsTooDeep) {
  SynAckEvent event;
  TunnelInfo tunnel;
  Bytes frame = NestedIpInIp(kMaxTunnelDepth).Build();
  EXPECT_EQ(DecodeCopy(1, frame, frame.size(), true, &event, &tunnel), DecodeResult::kSynAck);
  EXPECT_EQ(tunnel, (TunnelInfo{.depth = kMaxTunnelDepth, .too_deep = false}));
  frame = NestedIpInIp(kMaxTunnelDepth + 1).Build();
  EXPECT_EQ(DecodeCopy(1, frame, frame.size(), true, &event, &tunnel), DecodeResult::kNotTcp);
  EXPECT_EQ(tunnel, (TunnelInfo{.depth = kMaxTunnelDepth, .too_deep = true}));
}

TEST(TunnelDecodeTest, ImpossibleTunnelHeadersAreBadHeader) {
  SynAckEvent event;
  TunnelInfo tunnel;
  auto decode = [&](PacketBuilder b) {
    const Bytes frame = b.Build();
    return DecodeCopy(1, frame, frame.size(), true, &event, &tunnel);
  };
  // GRE version 2; PPTP GRE without its key; Geneve version 1; GTP version 2 on GTP-U's port;
  // a GTP extension header of length 0; IPv6 named by IP-in-IP's protocol 4.
  EXPECT_EQ(decode(Case("", Outer4().IpProtocolBytes(kProtoGre, Gre(2, 0x0800)), false).builder),
            DecodeResult::kBadHeader);
  EXPECT_EQ(
      decode(Case("", Outer4().IpProtocolBytes(kProtoGre, {0x00, 0x01, 0x88, 0x0b}).Ppp(), false)
                 .builder),
      DecodeResult::kBadHeader);
  Bytes geneve = Geneve(0x0800, 0);
  geneve[0] |= 0x40;
  EXPECT_EQ(decode(Case("", Outer4().Udp(1, 6081).Bytes(geneve), false).builder),
            DecodeResult::kBadHeader);
  Bytes gtp = GtpUser(40);
  gtp[0] = 0x54;
  EXPECT_EQ(decode(Case("", Outer4().Udp(2152, 2152).Bytes(gtp), false).builder),
            DecodeResult::kBadHeader);
  gtp = GtpUser(40);
  gtp[12] = 0;
  EXPECT_EQ(decode(Case("", Outer4().Udp(2152, 2152).Bytes(gtp), false).builder),
            DecodeResult::kBadHeader);
  EXPECT_EQ(decode(Outer4()
                       .IpProtocolBytes(4, {})
                       .Ipv6(kServer6, kClient6)
                       .Tcp(kServerPort, kClientPort, kTcpSynAck, kIsn)),
            DecodeResult::kBadHeader);
  EXPECT_EQ(tunnel.depth, 1);
}

TEST(TunnelDecodeTest, TunnelsWithoutAPacketAreNotTcp) {
  SynAckEvent event;
  TunnelInfo tunnel;
  auto decode = [&](PacketBuilder b) {
    const Bytes frame = b.Build();
    return DecodeCopy(1, frame, frame.size(), true, &event, &tunnel);
  };
  // GTP echo request, AYIYA heartbeat, a non-Teredo datagram on 3544, plain UDP elsewhere.
  EXPECT_EQ(decode(Outer4().Udp(2152, 2152).Bytes({0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0})),
            DecodeResult::kNotTcp);
  Bytes heartbeat = Ayiya(59);
  heartbeat[2] = 0x10;
  EXPECT_EQ(decode(Outer4().Udp(5072, 5072).Bytes(heartbeat)), DecodeResult::kNotTcp);
  EXPECT_EQ(decode(Outer4().Udp(3544, 3544).Bytes({0x45, 0, 0, 0})), DecodeResult::kNotIp);
  EXPECT_EQ(decode(Outer4().Udp(53, 53).Bytes(Vxlan())), DecodeResult::kNotTcp);
  EXPECT_EQ(tunnel, TunnelInfo());
  // A tunnelled packet that is TCP but not a SYN/ACK.
  EXPECT_EQ(decode(Outer4().Ipv4(kServer4, kClient4).Tcp(1, 2, kTcpAck, 3)),
            DecodeResult::kNotSynAck);
  EXPECT_EQ(tunnel.depth, 1);
}

TEST(TunnelDecodeTest, UdpTunnelIsFoundOnEitherPortLowerFirst) {
  SynAckEvent event;
  TunnelInfo tunnel;
  // Source 3544 (Teredo) is lower than destination 4789 (VXLAN): read as Teredo, which an
  // Ethernet frame is not.
  const Bytes frame =
      Case("", Outer4().Udp(3544, 4789).Bytes(Vxlan()).Ethernet(), false).builder.Build();
  EXPECT_EQ(DecodeCopy(1, frame, frame.size(), true, &event, &tunnel), DecodeResult::kNotIp);
  const Bytes swapped =
      Case("", Outer4().Udp(4789, 60000).Bytes(Vxlan()).Ethernet(), false).builder.Build();
  EXPECT_EQ(DecodeCopy(1, swapped, swapped.size(), true, &event, &tunnel), DecodeResult::kSynAck);
}

TEST(DecodeStatsTunnelTest, CountsTunnelledResultsSeparately) {
  DecodeStats stats;
  stats.Count(DecodeResult::kSynAck, TunnelInfo());
  stats.Count(DecodeResult::kSynAck, TunnelInfo{.depth = 1, .too_deep = false});
  stats.Count(DecodeResult::kTruncated, TunnelInfo{.depth = 2, .too_deep = false});
  stats.Count(DecodeResult::kBadHeader, TunnelInfo{.depth = 1, .too_deep = false});
  stats.Count(DecodeResult::kNotTcp, TunnelInfo{.depth = 4, .too_deep = true});
  EXPECT_EQ(stats.Get(DecodeResult::kSynAck), 2u);
  EXPECT_EQ(stats.Malformed(), 2u);
  EXPECT_EQ(stats.tunnelled, 4u);
  EXPECT_EQ(stats.tunnelled_synacks, 1u);
  EXPECT_EQ(stats.tunnelled_malformed, 2u);
  EXPECT_EQ(stats.tunnels_too_deep, 1u);
  DecodeStats merged;
  merged.MergeFrom(stats);
  merged.MergeFrom(stats);
  EXPECT_EQ(merged.tunnelled_synacks, 2u);
  EXPECT_EQ(merged.tunnels_too_deep, 2u);
}

}  // namespace
}  // namespace synmap::common
