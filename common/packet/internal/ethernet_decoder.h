#pragma once

// Ethernet-family layers of the packet decoder: Ethernet II and 802.3 frames, 802.2
// LLC/SNAP, VLAN tags, VN-Tag, 802.1ah PBB, MPLS, PPPoE and PPP. Internal to common/packet.
// Every function reads at most `n` bytes from `p` and is allocation-free.

#include <cstddef>
#include <cstdint>

#include "common/packet/decoder.h"
#include "common/packet/internal/decode_context.h"

namespace synmap::common::internal {

// Tags, LLC/SNAP headers (together) or MPLS labels skipped at most; more -> kBadHeader.
inline constexpr int kMaxLinkHeaders = 16;

inline constexpr uint16_t kEthertypeIpv4 = 0x0800;
inline constexpr uint16_t kEthertypeIpv6 = 0x86dd;

// Decodes a frame starting at the destination MAC (Ethernet II or 802.3 + LLC).
DecodeResult DecodeEthernet(const uint8_t* p, size_t n, DecodeContext* ctx);

// Decodes the payload `p` of a header whose Ethernet type field was `type`. A type below
// 0x0600 is an 802.3 length: an 802.2 LLC header follows.
DecodeResult DecodeEthertype(uint16_t type, const uint8_t* p, size_t n, DecodeContext* ctx);

// Decodes an 802.2 LLC header (SNAP with an Ethernet type, or SAP 0x06 for IPv4) at `p`.
DecodeResult DecodeLlc(const uint8_t* p, size_t n, DecodeContext* ctx);

// Decodes the payload of a PPP frame whose protocol field was `protocol`.
DecodeResult DecodePppProtocol(uint16_t protocol, const uint8_t* p, size_t n, DecodeContext* ctx);

// Decodes a PPP frame with optional HDLC-like framing (FF 03) and protocol compression.
DecodeResult DecodePpp(const uint8_t* p, size_t n, DecodeContext* ctx);

// Decodes a PPPoE header (RFC 2516) at `p`: session data (code 0) carries PPP.
DecodeResult DecodePppoe(const uint8_t* p, size_t n, DecodeContext* ctx);

}  // namespace synmap::common::internal
