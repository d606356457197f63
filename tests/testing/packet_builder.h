#pragma once

// Builds captured frames for tests, layer by layer, outermost first:
//
//   std::vector<uint8_t> frame = PacketBuilder()
//       .Ethernet().Vlan(10).Ipv4("198.51.100.1", "198.51.100.2")
//       .Tcp(443, 40000, kTcpSynAck, /*seq=*/1234)
//       .Build();
//
// Each layer's "next protocol" field (Ethernet type, IP protocol, next header, PPP protocol,
// address family, MPLS bottom-of-stack bit) and length field (IPv4 total length, IPv6 payload
// length, PPPoE and 802.3 lengths) is filled at Build() from the layers that follow.
// The IPv4 header checksum is set; TCP/UDP checksums are left zero. LinkType() gives the
// libpcap DLT of the outermost layer. Plain value type; methods return *this for chaining.
// An unparsable address aborts (a bug in the test).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace synmap::testing {

// TCP flag bits (byte 13 of the TCP header).
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;
inline constexpr uint8_t kTcpEce = 0x40;
inline constexpr uint8_t kTcpCwr = 0x80;
inline constexpr uint8_t kTcpSynAck = kTcpSyn | kTcpAck;

// VLAN tag protocol identifiers.
inline constexpr uint16_t kTpid8021Q = 0x8100;
inline constexpr uint16_t kTpid8021ad = 0x88a8;
inline constexpr uint16_t kTpidQinqOld = 0x9100;

namespace internal {

enum class LayerKind {
  kEthernet,
  kEthernet8023Snap,
  kVlan,
  kVnTag,
  kPbb,
  kMpls,
  kPppoe,
  kLinuxSll,
  kLinuxSll2,
  kNull,
  kLoop,
  kNflog,
  kArcnetLinux,
  kIpoib,
  kFddi,
  kPpp,
  kCiscoHdlc,
  kIeee80211,
  kRadiotap,
  kPpi,
  kLink,
  kBytes,
  kIpv4,
  kIpv6,
  kIpv6HopByHop,
  kIpv6Routing,
  kIpv6DestinationOptions,
  kIpv6Fragment,
  kAh,
  kTcp,
  kUdp,
  kArp,
  kPayload,
};

// One layer as PacketBuilder records it; encoded at Build().
struct Layer {
  LayerKind kind = LayerKind::kPayload;
  uint32_t a = 0;  // Kind-specific: VLAN id, label, port, fragment offset, family, size, ...
  uint32_t b = 0;  // Kind-specific: TPID, port, flags, more-fragments, option bytes, ...
  uint32_t c = 0;  // Kind-specific: sequence number, data offset.
  std::vector<uint8_t> src;  // Addresses (IP layers) or literal bytes.
  std::vector<uint8_t> dst;
};

}  // namespace internal

class PacketBuilder {
 public:
  // --- Link layers (the first one chooses LinkType()) ---
  PacketBuilder& Ethernet();          // Ethernet II (DLT 1).
  PacketBuilder& Ethernet8023Snap();  // 802.3 length + LLC/SNAP (DLT 1).
  PacketBuilder& Vlan(uint16_t vlan_id, uint16_t tpid = kTpid8021Q);
  PacketBuilder& VnTag();                      // 0x8926.
  PacketBuilder& Pbb(uint32_t isid);           // 0x88e7 I-TAG plus the customer MAC addresses.
  PacketBuilder& Mpls(uint32_t label);         // The last consecutive label gets bottom-of-stack.
  PacketBuilder& Pppoe(uint16_t session_id);   // 0x8864 session + PPP (first layer: DLT 51).
  PacketBuilder& LinuxSll();                   // DLT 113.
  PacketBuilder& LinuxSll2();                  // DLT 276.
  PacketBuilder& Null();                       // DLT 0, host-order family 2 or 24 (BSD AF_INET6).
  PacketBuilder& NullFamily(uint32_t family);  // DLT 0 with this host-order family.
  PacketBuilder& Loop();                       // DLT 108, network-order family 2 or 24.
  PacketBuilder& Nflog();                      // DLT 239: header, a packet-header TLV, payload TLV.
  PacketBuilder& ArcnetLinux(bool rfc1051 = false);  // DLT 129.
  PacketBuilder& Ipoib();                            // DLT 242.
  PacketBuilder& Fddi();                             // DLT 10: FDDI + LLC/SNAP.
  PacketBuilder& Ppp();                              // DLT 9: FF 03 + protocol.
  PacketBuilder& CiscoHdlc();                        // DLT 104.
  PacketBuilder& Ieee80211();                        // DLT 105: a From-DS data frame + LLC/SNAP.
  PacketBuilder& Radiotap();  // DLT 127: an 8-byte radiotap header; add Ieee80211().
  PacketBuilder& Ppi();       // DLT 192: PPI header; its DLT is the next layer's.
  // No bytes; sets LinkType() (e.g. 12, 14, 101, 228, 229 before an IP layer).
  PacketBuilder& Link(int link_type);
  // Literal bytes (a header the builder does not model). As a next layer it reads as
  // Ethernet type 0x88b5 / IP protocol 253.
  PacketBuilder& Bytes(std::vector<uint8_t> bytes);
  // Literal bytes that a preceding IP layer names with `ip_protocol` (a tunnel header such as
  // GRE, 47, written by the test).
  PacketBuilder& IpProtocolBytes(uint8_t ip_protocol, std::vector<uint8_t> bytes);

  // --- Network layers ---
  // `option_bytes` (a multiple of 4, <= 40) of NOP options make IHL > 5.
  PacketBuilder& Ipv4(absl::string_view src, absl::string_view dst, size_t option_bytes = 0);
  // Sets the last IPv4 layer's fragment offset (8-byte units) and more-fragments flag.
  PacketBuilder& Ipv4Fragment(uint16_t offset_units, bool more_fragments);
  PacketBuilder& Ipv6(absl::string_view src, absl::string_view dst);
  // IPv6 extension headers; `bytes` is a multiple of 8 (>= 8).
  PacketBuilder& Ipv6HopByHop(size_t bytes = 8);
  PacketBuilder& Ipv6Routing(size_t bytes = 8);
  PacketBuilder& Ipv6DestinationOptions(size_t bytes = 8);
  PacketBuilder& Ipv6Fragment(uint16_t offset_units, bool more_fragments);
  // An authentication header (RFC 4302) of `bytes` (a multiple of 4, >= 12); IPv4 or IPv6.
  PacketBuilder& Ah(size_t bytes = 24);

  // --- Transport and payload ---
  // `data_offset_words` below 5 still emits 20 bytes (an invalid header, for tests).
  PacketBuilder& Tcp(uint16_t src_port, uint16_t dst_port, uint8_t flags, uint32_t seq,
                     uint8_t data_offset_words = 5);
  PacketBuilder& Udp(uint16_t src_port, uint16_t dst_port);
  PacketBuilder& Arp();  // A 28-byte ARP request (Ethernet type 0x0806).
  PacketBuilder& Payload(std::vector<uint8_t> bytes);

  std::vector<uint8_t> Build() const;
  // The DLT of the outermost layer (12 = DLT_RAW when it is an IP layer).
  int LinkType() const;

 private:
  using Kind = internal::LayerKind;
  using Layer = internal::Layer;

  PacketBuilder& Add(Layer layer);
  // The bytes of layer `i` followed by `inner` (everything after it, already encoded).
  std::vector<uint8_t> Encode(size_t i, std::vector<uint8_t> inner) const;
  std::vector<uint8_t> EncodeLink(size_t i, std::vector<uint8_t> inner) const;
  std::vector<uint8_t> EncodeNetwork(size_t i, std::vector<uint8_t> inner) const;

  std::vector<Layer> layers_;
};

// One frame for a pcap file.
struct TimedFrame {
  int64_t timestamp_ns = 0;
  std::vector<uint8_t> bytes;
};

// The bytes of a classic pcap file (nanosecond magic, this host's byte order, snaplen
// 262144) holding `frames` under `link_type`.
std::string PcapFileContents(int link_type, const std::vector<TimedFrame>& frames);

}  // namespace synmap::testing
