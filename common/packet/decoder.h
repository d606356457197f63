#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/packet/synack_event.h"

namespace synmap::common {

// Link-layer types we decode, by their libpcap DLT_/LINKTYPE_ number as pcap_datalink()
// returns it on Linux. Anything else decodes to DecodeResult::kUnsupportedLinkType.
// Inside Ethernet-like layers the decoder follows 802.1Q/802.1ad/0x9100 tags (any depth up
// to a bound), 802.3 LLC/SNAP, VN-Tag (0x8926), 802.1ah PBB (0x88e7), MPLS (0x8847/0x8848)
// and PPPoE sessions (0x8864) to the outermost IPv4/IPv6 header, then (unless told not to)
// through tunnels to the innermost one: see DecodeOptions.
enum class LinkType : int {
  kNull = 0,                      // DLT_NULL: BSD loopback, 4-byte host-order family.
  kEthernet = 1,                  // DLT_EN10MB.
  kTokenRing = 6,                 // DLT_IEEE802: 802.5 token ring, LLC/SNAP.
  kArcnet = 7,                    // DLT_ARCNET: BSD ARCNET header.
  kSlip = 8,                      // DLT_SLIP: 16-byte libpcap SLIP pseudo-header, then IP.
  kPpp = 9,                       // DLT_PPP: optional FF 03, then the PPP protocol.
  kFddi = 10,                     // DLT_FDDI: 13-byte FDDI header, LLC/SNAP.
  kAtmRfc1483 = 11,               // DLT_ATM_RFC1483: LLC/SNAP directly.
  kRaw = 12,                      // DLT_RAW on Linux (LINKTYPE_RAW is 101); raw IPv4 or IPv6.
  kRawOpenBsd = 14,               // DLT_RAW as OpenBSD numbers it.
  kPppSerial = 50,                // DLT_PPP_SERIAL: PPP in HDLC-like or Cisco HDLC framing.
  kPppEther = 51,                 // DLT_PPP_ETHER: PPPoE header without Ethernet.
  kRawLinktype = 101,             // LINKTYPE_RAW as found in files.
  kCiscoHdlc = 104,               // DLT_C_HDLC: address, control, Ethernet type.
  kIeee80211 = 105,               // DLT_IEEE802_11: 802.11 data frames, LLC/SNAP.
  kLoop = 108,                    // DLT_LOOP: like kNull but network-order family.
  kEnc = 109,                     // DLT_ENC: OpenBSD IPsec, 12-byte header, then IP.
  kLinuxSll = 113,                // DLT_LINUX_SLL: Linux cooked v1.
  kPflog = 117,                   // DLT_PFLOG: OpenBSD pf log header, then IP.
  kSunAtm = 123,                  // DLT_SUNATM: 4-byte pseudo-header, then LLC/SNAP.
  kIeee80211Radiotap = 127,       // DLT_IEEE802_11_RADIO: radiotap, then 802.11.
  kArcnetLinux = 129,             // DLT_ARCNET_LINUX: Linux ARCNET header (RFC 1051/1201).
  kPpi = 192,                     // DLT_PPI: per-packet information, then its own DLT.
  kIpv4 = 228,                    // DLT_IPV4.
  kIpv6 = 229,                    // DLT_IPV6.
  kNflog = 239,                   // DLT_NFLOG: Linux netfilter log, payload TLV (host order).
  kNetAnalyzer = 240,             // DLT_NETANALYZER: 4-byte header, then Ethernet.
  kNetAnalyzerTransparent = 241,  // DLT_NETANALYZER_TRANSPARENT: + preamble and SFD.
  kIpoib = 242,                   // DLT_IPOIB: 44-byte IP-over-InfiniBand header.
  kEthernetMpacket = 274,         // DLT_ETHERNET_MPACKET: 802.3br preamble + SMD, Ethernet.
  kLinuxSll2 = 276,               // DLT_LINUX_SLL2: Linux cooked v2.
  kDsaTagDsa = 284,               // DLT_DSA_TAG_DSA: Ethernet with a 4-byte Marvell DSA tag.
  kDsaTagEdsa = 285,              // DLT_DSA_TAG_EDSA: Ethernet with an 8-byte Marvell EDSA tag.
};

// Why a packet is or is not a counted SYN/ACK. kTruncated and kBadHeader are "malformed".
enum class DecodeResult : uint8_t {
  kSynAck = 0,           // A TCP segment with SYN and ACK set: `out` is filled.
  kNotSynAck,            // TCP, but not SYN+ACK.
  kNotTcp,               // IP, but not TCP (UDP, ICMP, ESP, a tunnel not entered, ...).
  kNotIp,                // Link layer carries something else (ARP, LLDP, ...).
  kFragment,             // A non-first IP fragment: no TCP header to read.
  kTruncated,            // Captured bytes end before the headers we need.
  kBadHeader,            // A header's fields are impossible (IHL < 5, data offset < 5, ...).
  kUnsupportedLinkType,  // A link type this decoder does not know.
  kCount,
};

// Stable lowercase name for a result ("synack", "truncated", ...), for stats output.
// Never null; "unknown" for a value outside the enum.
const char* DecodeResultName(DecodeResult result);

// Tunnel headers entered at most in one frame. A tunnel inside this many is not entered: the
// frame is kNotTcp and TunnelInfo::too_deep is set.
inline constexpr int kMaxTunnelDepth = 4;

// How DecodePacket treats tunnels. Plain data.
struct DecodeOptions {
  // Enter tunnels and decode the innermost packet: GRE (version 0 with IPv4, IPv6, Ethernet
  // or any Ethernet type as payload, checksum, key, sequence and routing fields; version 1,
  // PPTP, with PPP), ERSPAN I, II and III (GRE 0x88be / 0x22eb), IP-in-IP (IPv4 or IPv6 in
  // IPv4 or IPv6: protocols 4 and 41), and over UDP: VXLAN (4789, 8472), Geneve (6081, with
  // options), GTP-U (2152, with extension headers), Teredo (3544, with authentication and
  // origin indications) and AYIYA (5072). UDP tunnels are recognised by either port, the
  // lower one first. A tunnel is read no further than its outer IP length. When false, only
  // the TCP header directly after the outermost IP header counts (tunnels are kNotTcp).
  bool decapsulate = true;
};

// What DecodePacket found of tunnels in one frame. Plain data.
struct TunnelInfo {
  uint8_t depth = 0;      // Tunnel headers entered; 0 = the outermost IP header decided.
  bool too_deep = false;  // A tunnel was found but not entered: kMaxTunnelDepth reached.

  friend bool operator==(const TunnelInfo&, const TunnelInfo&) = default;
};

// Decodes one captured frame. Reads at most `caplen` bytes from `data`, whatever the headers
// claim; `data` may be null when `caplen` is 0. Needs the link, IP and extension headers, any
// tunnel headers and the first 14 bytes of TCP (ports, sequence number, data offset, flags);
// the IP total length may exceed what was captured. On kSynAck fills `out` (all fields but
// timestamp_ns, which the caller sets) from the innermost IP and TCP headers: server = source
// address and port, client = destination, isn = sequence number. On any other result `out` is
// unspecified. A result inside a tunnel is that of the inner packet (kTruncated when the
// capture ends inside a tunnel header). `tunnel` (may be null) receives what was entered.
// Thread-safe, allocation-free.
DecodeResult DecodePacket(int link_type, const uint8_t* data, size_t caplen,
                          const DecodeOptions& options, SynAckEvent* out, TunnelInfo* tunnel);

// The same with the default options (tunnels entered).
DecodeResult DecodePacket(int link_type, const uint8_t* data, size_t caplen, SynAckEvent* out);

// Counts decode results. Plain data, thread-compatible.
struct DecodeStats {
  std::array<uint64_t, static_cast<size_t>(DecodeResult::kCount)> by_result{};
  uint64_t tunnelled = 0;            // Frames in which at least one tunnel was entered.
  uint64_t tunnelled_synacks = 0;    // SYN/ACKs found inside a tunnel (also in kSynAck).
  uint64_t tunnelled_malformed = 0;  // Malformed inside a tunnel (also in Malformed()).
  uint64_t tunnels_too_deep = 0;     // Frames with a tunnel not entered (kMaxTunnelDepth).

  void Count(DecodeResult r) { ++by_result[static_cast<size_t>(r)]; }
  // Counts `r` and, for a frame whose tunnels were entered, the tunnel counters.
  void Count(DecodeResult r, const TunnelInfo& tunnel) {
    Count(r);
    if (tunnel.depth > 0) [[unlikely]] {
      ++tunnelled;
      tunnelled_synacks += r == DecodeResult::kSynAck ? 1 : 0;
      tunnelled_malformed +=
          (r == DecodeResult::kTruncated || r == DecodeResult::kBadHeader) ? 1 : 0;
    }
    tunnels_too_deep += tunnel.too_deep ? 1 : 0;
  }
  uint64_t Get(DecodeResult r) const { return by_result[static_cast<size_t>(r)]; }
  uint64_t Total() const;
  // Truncated plus bad header.
  uint64_t Malformed() const {
    return Get(DecodeResult::kTruncated) + Get(DecodeResult::kBadHeader);
  }
  void MergeFrom(const DecodeStats& other);

  friend bool operator==(const DecodeStats&, const DecodeStats&) = default;
};

}  // namespace synmap::common
