#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace synmap::sensor {

// Builds the kernel BPF filter expression (pcap_compile syntax) that passes every frame the
// decoder could count as a SYN/ACK on link type `dlt` (DLT_ number), and rejects most others:
//   - IPv4 (any IHL, first fragments only) or IPv6 carrying TCP directly, with SYN and ACK set
//     (the recipe's tcp[13] & 0x12 = 0x12, which alone misses IPv6 and tagged frames);
//   - IPv6 whose first next-header is an extension header (hop-by-hop, routing, fragment,
//     destination options, AH, mobility, HIP, shim6, experimental): passed whole to userland,
//     where the decoder walks the chain;
//   - on Ethernet, the same behind 1 to 3 stacked 802.1Q / 802.1ad / 0x9100 tags; frames
//     with 4 or more tags, and (at any of those depths) MPLS, PPPoE session, 802.1ah PBB,
//     VN-Tag and 802.3/LLC frames, which the decoder follows but BPF cannot, pass whole;
//   - on Linux cooked captures (SLL, SLL2: the "any" device) untagged frames as above, and
//     every frame still carrying a tag (the kernel has removed the outer one already) or one
//     of the encapsulations above.
// Offsets are those of the frame as the filter sees it: on a live Linux interface the kernel
// has moved the outer VLAN tag into metadata, so a singly tagged frame matches the untagged
// clauses there, while in a file the same frame matches the one-tag clauses.
// Link types: Ethernet, SLL, SLL2, raw IP (DLT_RAW, DLT_IPV4, DLT_IPV6): what a live Linux
// interface gives. InvalidArgument for any other (BSD loopback's address family is in host
// order and varies by OS, so it is not filtered); the caller then captures unfiltered.
// With `tunnels` (the decoder's DecodeOptions::decapsulate) it also passes, behind an untagged
// outer IPv4 or IPv6 header: IPv4 AH; IP-in-IP, GRE (checksum, key, sequence; Ethernet,
// ERSPAN I/II/III) and UDP tunnels (VXLAN, Geneve with options, GTP-U, Teredo with an origin
// indication) whose inner IPv4/IPv6 packet (behind at most one tag) is a SYN/ACK or itself a
// tunnel; and whole, the layouts BPF cannot follow (GRE routing, version 1 or other payloads,
// ERSPAN III carrying IP, GTP-U extension headers, Teredo authentication, AYIYA) and any
// IP-in-IP, GRE, AH or tunnel-port UDP packet behind 1 to 3 VLAN tags.
[[nodiscard]] absl::StatusOr<std::string> SynAckFilterExpression(int dlt, bool tunnels = true);

}  // namespace synmap::sensor
