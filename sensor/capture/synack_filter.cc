#include "sensor/capture/synack_filter.h"

#include <pcap/pcap.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"

namespace synmap::sensor {
namespace {

// IPv6 next-header values that start an extension-header chain the decoder walks; such
// packets go to userland whole, since BPF cannot follow the chain.
constexpr int kIpv6ExtensionHeaders[] = {0, 43, 44, 51, 60, 135, 139, 140, 253, 254};
// VLAN tag protocol identifiers: 802.1Q, 802.1ad, and the old QinQ value.
constexpr int kVlanTpids[] = {0x8100, 0x88a8, 0x9100};
constexpr int kEthernetTypeOffset = 12;
constexpr int kEthernetHeaderBytes = 14;
constexpr int kVlanTagBytes = 4;
// Encapsulations the decoder follows to an inner IP header that BPF would need a parser for:
// MPLS unicast and multicast, PPPoE session, 802.1ah PBB, VN-Tag. Passed whole to userland,
// as are 802.3 frames (type field <= 1500: a length, so LLC/SNAP follows).
constexpr int kPassedEthertypes[] = {0x8847, 0x8848, 0x8864, 0x88e7, 0x8926};
constexpr int kMaxIeee8023Length = 1500;
// Frames with more tags than this pass whole to userland.
constexpr int kMaxFilteredVlanTags = 3;
// IP protocols that carry a tunnel by themselves: IPv4, IPv6, GRE.
constexpr int kTunnelIpProtocols[] = {4, 41, 47};
constexpr int kProtoUdp = 17;
// UDP ports of the tunnels the decoder enters (common/packet/internal/tunnel_decoder.h).
constexpr int kPortVxlan = 4789;
constexpr int kPortVxlanLinux = 8472;
constexpr int kPortGeneve = 6081;
constexpr int kPortGtpUser = 2152;
constexpr int kPortTeredo = 3544;
constexpr int kPortAyiya = 5072;
constexpr int kTunnelUdpPorts[] = {kPortVxlan,   kPortVxlanLinux, kPortGeneve,
                                   kPortGtpUser, kPortTeredo,     kPortAyiya};
// Inner UDP destination ports that pass whole as a tunnel inside a tunnel.
constexpr int kNestedUdpPorts[] = {kPortVxlan, kPortGeneve, kPortGtpUser};
// Extension headers after an inner IPv6 header that pass whole: hop-by-hop, routing,
// fragment, destination options.
constexpr int kInnerIpv6ExtensionHeaders[] = {0, 43, 44, 60};

// A protocol `proto_load` (IP-in-IP, GRE, or UDP with a tunnel port on either side of the UDP
// header at `udp`, link-relative) that carries a tunnel: behind VLAN tags it passes whole.
std::string TaggedTunnel(const std::string& proto_load, const std::string& udp) {
  std::string out;
  for (int proto : kTunnelIpProtocols) {
    absl::StrAppend(&out, proto_load, " = ", proto, " or ");
  }
  std::string ports;
  for (int port : kTunnelUdpPorts) {
    absl::StrAppend(&ports, ports.empty() ? "" : " or ", "link[", udp, ":2] = ", port, " or link[",
                    udp, " + 2:2] = ", port);
  }
  return absl::StrCat("(", out, "(", proto_load, " = ", kProtoUdp, " and (", ports, ")))");
}

std::string Ipv6ExtensionTest(absl::string_view next_header_load) {
  std::string out;
  for (int nh : kIpv6ExtensionHeaders) {
    absl::StrAppend(&out, out.empty() ? "" : " or ", next_header_load, " = ", nh);
  }
  return out;
}

// Untagged frames, with libpcap's protocol keywords: they work on every link type and are
// rewritten correctly for Linux cooked sockets.
std::string UntaggedClause() {
  return absl::StrCat("(tcp[13] & 0x12 = 0x12) or (ip6 and ((ip6[6] = 6 and ip6[53] & 0x12 = ",
                      "0x12) or ", Ipv6ExtensionTest("ip6[6]"), "))");
}

// A frame whose ethertype sits at `type_offset` and whose network header at `l3`, as raw
// link-relative loads (used behind VLAN tags, where the protocol keywords do not look).
// With `tunnels`, behind tags: IP-in-IP, GRE, AH and UDP on a tunnel port pass whole.
std::string RawIpClause(int type_offset, int l3, bool tunnels) {
  const std::string proto = absl::StrCat("link[", l3 + 9, "]");
  const std::string udp = absl::StrCat(l3, " + (link[", l3, "] & 0xf) * 4");
  const std::string v4_tunnel =
      tunnels ? absl::StrCat(" or ", TaggedTunnel(proto, udp), " or ", proto, " = 51") : "";
  const std::string v4 = absl::StrCat(
      "(link[", type_offset, ":2] = 0x0800 and link[", l3 + 6, ":2] & 0x1fff = 0 and ((", proto,
      " = 6 and link[", l3 + 13, " + (link[", l3, "] & 0xf) * 4] & 0x12 = 0x12)", v4_tunnel, "))");
  const std::string nh = absl::StrCat("link[", l3 + 6, "]");
  const std::string v6_tunnel =
      tunnels ? absl::StrCat(" or ", TaggedTunnel(nh, absl::StrCat(l3 + 40))) : "";
  const std::string v6 =
      absl::StrCat("(link[", type_offset, ":2] = 0x86dd and ((", nh, " = 6 and link[", l3 + 53,
                   "] & 0x12 = 0x12) or ", Ipv6ExtensionTest(nh), v6_tunnel, "))");
  return absl::StrCat("(", v4, " or ", v6, ")");
}

std::string TagTest(int type_offset) {
  std::string out;
  for (int tpid : kVlanTpids) {
    absl::StrAppend(&out, out.empty() ? "" : " or ", "link[", type_offset, ":2] = ", tpid);
  }
  return absl::StrCat("(", out, ")");
}

// Frames whose type field at `type_offset` names an encapsulation passed to userland.
std::string PassedTypeTest(int type_offset) {
  std::string out = absl::StrCat("link[", type_offset, ":2] <= ", kMaxIeee8023Length);
  for (int type : kPassedEthertypes) {
    absl::StrAppend(&out, " or link[", type_offset, ":2] = ", type);
  }
  return absl::StrCat("(", out, ")");
}

// Depth `tags` onwards: "tag and (ip-behind-tags or next depth)".
std::string TaggedEthernetClause(int tags, bool tunnels) {
  const int type_offset = kEthernetTypeOffset + kVlanTagBytes * tags;
  const std::string tag = TagTest(type_offset - kVlanTagBytes);
  if (tags > kMaxFilteredVlanTags) {
    return tag;
  }
  const int l3 = kEthernetHeaderBytes + kVlanTagBytes * tags;
  // pcap-filter gives "and" and "or" equal precedence, left to right: parenthesize all.
  return absl::StrCat("(", tag, " and (", RawIpClause(type_offset, l3, tunnels), " or ",
                      PassedTypeTest(type_offset), " or ", TaggedEthernetClause(tags + 1, tunnels),
                      "))");
}

// --- Tunnels: the inner packet at an offset computed from the outer headers ---
//
// `b` names the outer network layer as pcap-filter does ("ip" or "ip6"); offsets `x` are
// arithmetic expressions relative to it. A kernel filter is limited to 4096 instructions and
// every load at a computed offset recomputes it, so the clauses look at the common layouts
// and let the rarer ones through whole: an outer IPv4 header with options, GRE routing or
// version 1 or another payload type, ERSPAN III carrying IP, GTP-U extension headers, Teredo
// authentication, AYIYA, and inner Ethernet frames with a tag or an encapsulation. A tunnel
// inside a tunnel passes when its inner IP header names IP-in-IP or GRE, or UDP to a VXLAN,
// Geneve or GTP-U port (a nested Teredo or AYIYA tunnel does not).

std::string At(absl::string_view b, absl::string_view x, int plus, absl::string_view size = "") {
  return absl::StrCat(b, "[", x, " + ", plus, size, "]");
}

std::string AnyOf(const std::string& load, absl::Span<const int> values) {
  std::string out;
  for (int v : values) {
    absl::StrAppend(&out, out.empty() ? "" : " or ", load, " = ", v);
  }
  return absl::StrCat("(", out, ")");
}

// Inner IP protocols that pass whole: IP-in-IP and GRE, and UDP to a tunnel port (the inner
// UDP header at `udp`, assuming no IPv4 options).
std::string NestedTunnel(absl::string_view b, const std::string& proto, const std::string& udp) {
  return absl::StrCat("(", AnyOf(proto, kTunnelIpProtocols), " or (", proto, " = ", kProtoUdp,
                      " and ", AnyOf(absl::StrCat(b, "[", udp, ":2]"), kNestedUdpPorts), "))");
}

std::string InnerIpv4(absl::string_view b, const std::string& x) {
  const std::string proto = At(b, x, 9);
  return absl::StrCat("(", At(b, x, 0), " & 0xf0 = 0x40 and ((", proto, " = 6 and ", b, "[", x,
                      " + (", At(b, x, 0), " & 0xf) * 4 + 13] & 0x12 = 0x12) or ",
                      NestedTunnel(b, proto, absl::StrCat(x, " + 22")), "))");
}

std::string InnerIpv6(absl::string_view b, const std::string& x) {
  const std::string next = At(b, x, 6);
  return absl::StrCat("(", At(b, x, 0), " & 0xf0 = 0x60 and ((", next, " = 6 and ", At(b, x, 53),
                      " & 0x12 = 0x12) or ", AnyOf(next, kInnerIpv6ExtensionHeaders), " or ",
                      NestedTunnel(b, next, absl::StrCat(x, " + 42")), "))");
}

std::string InnerIp(absl::string_view b, const std::string& x) {
  return absl::StrCat("(", InnerIpv4(b, x), " or ", InnerIpv6(b, x), ")");
}

// An Ethernet frame at `x`: untagged IPv4 or IPv6; tagged frames and the encapsulations the
// decoder follows pass whole.
std::string InnerEthernet(absl::string_view b, const std::string& x) {
  const std::string type = At(b, x, 12, ":2");
  return absl::StrCat("((", type, " = 0x0800 and ", InnerIpv4(b, absl::StrCat(x, " + 14")),
                      ") or (", type, " = 0x86dd and ", InnerIpv6(b, absl::StrCat(x, " + 14")),
                      ") or ", AnyOf(type, kVlanTpids), " or ", AnyOf(type, kPassedEthertypes),
                      ")");
}

// GRE at offset `g` (a number) without checksum or routing (those pass whole): its length
// from the key and sequence flags, 4 bytes each ((n * 5 + 3) >> 3 counts the bits of the
// 2-bit n with one load), then by protocol type.
std::string Gre(absl::string_view b, int g) {
  const std::string flags = absl::StrCat(b, "[", g, "]");
  const std::string type = absl::StrCat(b, "[", g + 2, ":2]");
  const std::string inner = absl::StrCat(g + 4, " + ((((", flags, " >> 4) & 3) * 5 + 3) >> 3) * 4");
  return absl::StrCat(
      "((", flags, " & 0xc0 != 0 or ", b, "[", g + 1, "] & 0x7 != 0) or (", type, " = 0x0800 and ",
      InnerIpv4(b, inner), ") or (", type, " = 0x86dd and ", InnerIpv6(b, inner), ") or ((", type,
      " = 0x6558 or (", type, " = 0x88be and ", flags, " & 0x10 = 0)) and ",
      InnerEthernet(b, inner), ") or (", type, " = 0x88be and ", flags, " & 0x10 != 0 and ",
      InnerEthernet(b, absl::StrCat(inner, " + 8")), ") or (", type, " = 0x22eb and ",
      At(b, inner, 10), " & 0x7c = 0 and ",
      InnerEthernet(b, absl::StrCat(inner, " + 12 + (", At(b, inner, 11), " & 1) * 8")), ") or (",
      type, " = 0x22eb and ", At(b, inner, 10), " & 0x7c != 0) or not ",
      AnyOf(type, {0x0800, 0x86dd, 0x6558, 0x88be, 0x22eb}), ")");
}

// UDP at offset `u` (a number) with a tunnel port on either side.
std::string UdpTunnel(absl::string_view b, int u) {
  auto load = [&](int offset, absl::string_view size = "") {
    return absl::StrCat(b, "[", u + offset, size, "]");
  };
  auto port = [&](std::initializer_list<int> ports) {
    return absl::StrCat("(", AnyOf(load(0, ":2"), ports), " or ", AnyOf(load(2, ":2"), ports), ")");
  };
  auto at = [&](int offset) { return absl::StrCat(u + offset); };
  const std::string geneve_inner = absl::StrCat(u + 16, " + (", load(8), " & 0x3f) * 4");
  const std::string gtp_flags = load(8);
  return absl::StrCat(
      "((", port({kPortVxlan, kPortVxlanLinux}), " and ", InnerEthernet(b, at(16)), ") or (",
      port({kPortGeneve}), " and ((", load(10, ":2"), " = 0x6558 and ",
      InnerEthernet(b, geneve_inner), ") or ", InnerIp(b, geneve_inner), ")) or (",
      port({kPortGtpUser}), " and ", load(9), " = 0xff and ((", gtp_flags, " & 0x7 = 0 and ",
      InnerIp(b, at(16)), ") or (", gtp_flags, " & 0x7 != 0 and ", gtp_flags, " & 0x4 = 0 and ",
      InnerIp(b, at(20)), ") or ", gtp_flags, " & 0x4 != 0)) or (", port({kPortTeredo}), " and (",
      InnerIpv6(b, at(8)), " or (", load(8, ":2"), " = 0 and ", InnerIpv6(b, at(16)), ") or ",
      load(8, ":2"), " = 1)) or ", port({kPortAyiya}), ")");
}

// Tunnels behind an untagged outer IPv4 or IPv6 header (IPv6 extension headers pass whole
// already). An outer IPv4 header with options, or IPv4 AH (tunnel-mode IPsec), passes whole.
std::string TunnelClause() {
  const std::string v4 = absl::StrCat(
      "(ip and ip[6:2] & 0x1fff = 0 and (ip[9] = 51 or (ip[0] != 0x45 and ",
      AnyOf("ip[9]", {4, 41, 47, kProtoUdp}), ") or (ip[9] = 4 and ", InnerIpv4("ip", "20"),
      ") or (ip[9] = 41 and ", InnerIpv6("ip", "20"), ") or (ip[9] = 47 and ", Gre("ip", 20),
      ") or (ip[9] = 17 and ", UdpTunnel("ip", 20), ")))");
  const std::string v6 =
      absl::StrCat("(ip6 and ((ip6[6] = 4 and ", InnerIpv4("ip6", "40"), ") or (ip6[6] = 41 and ",
                   InnerIpv6("ip6", "40"), ") or (ip6[6] = 47 and ", Gre("ip6", 40),
                   ") or (ip6[6] = 17 and ", UdpTunnel("ip6", 40), ")))");
  return absl::StrCat("(", v4, " or ", v6, ")");
}

}  // namespace

absl::StatusOr<std::string> SynAckFilterExpression(int dlt, bool tunnels) {
  const std::string untagged =
      tunnels ? absl::StrCat("(", UntaggedClause(), ") or ", TunnelClause()) : UntaggedClause();
  switch (dlt) {
    case DLT_EN10MB:
      return absl::StrCat("(", untagged, ") or ", PassedTypeTest(kEthernetTypeOffset), " or ",
                          TaggedEthernetClause(1, tunnels));
    case DLT_LINUX_SLL:
      // The SLL protocol field is at offset 14.
      return absl::StrCat("(", untagged, ") or ", TagTest(14), " or ", PassedTypeTest(14));
    case DLT_LINUX_SLL2:
      // The SLL2 protocol field is at offset 0.
      return absl::StrCat("(", untagged, ") or ", TagTest(0), " or ", PassedTypeTest(0));
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
      return untagged;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("no syn/ack filter for link type ", dlt, " (",
                       pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?", ")"));
  }
}

}  // namespace synmap::sensor
