#include "sensor/capture/synack_filter.h"

#include <pcap/pcap.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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
std::string RawIpClause(int type_offset, int l3) {
  const std::string v4 = absl::StrCat("(link[", type_offset, ":2] = 0x0800 and link[", l3 + 6,
                                      ":2] & 0x1fff = 0 and link[", l3 + 9, "] = 6 and link[",
                                      l3 + 13, " + (link[", l3, "] & 0xf) * 4] & 0x12 = 0x12)");
  const std::string nh = absl::StrCat("link[", l3 + 6, "]");
  const std::string v6 =
      absl::StrCat("(link[", type_offset, ":2] = 0x86dd and ((", nh, " = 6 and link[", l3 + 53,
                   "] & 0x12 = 0x12) or ", Ipv6ExtensionTest(nh), "))");
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
std::string TaggedEthernetClause(int tags) {
  const int type_offset = kEthernetTypeOffset + kVlanTagBytes * tags;
  const std::string tag = TagTest(type_offset - kVlanTagBytes);
  if (tags > kMaxFilteredVlanTags) {
    return tag;
  }
  const int l3 = kEthernetHeaderBytes + kVlanTagBytes * tags;
  // pcap-filter gives "and" and "or" equal precedence, left to right: parenthesize all.
  return absl::StrCat("(", tag, " and (", RawIpClause(type_offset, l3), " or ",
                      PassedTypeTest(type_offset), " or ", TaggedEthernetClause(tags + 1), "))");
}

}  // namespace

absl::StatusOr<std::string> SynAckFilterExpression(int dlt) {
  switch (dlt) {
    case DLT_EN10MB:
      return absl::StrCat("(", UntaggedClause(), ") or ", PassedTypeTest(kEthernetTypeOffset),
                          " or ", TaggedEthernetClause(1));
    case DLT_LINUX_SLL:
      // The SLL protocol field is at offset 14.
      return absl::StrCat("(", UntaggedClause(), ") or ", TagTest(14), " or ", PassedTypeTest(14));
    case DLT_LINUX_SLL2:
      // The SLL2 protocol field is at offset 0.
      return absl::StrCat("(", UntaggedClause(), ") or ", TagTest(0), " or ", PassedTypeTest(0));
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
      return UntaggedClause();
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("no syn/ack filter for link type ", dlt, " (",
                       pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?", ")"));
  }
}

}  // namespace synmap::sensor
