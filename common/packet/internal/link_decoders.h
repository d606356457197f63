#pragma once

// Link layers other than Ethernet: BSD null/loopback, Linux cooked SLL/SLL2, NFLOG, ARCNET,
// IP over InfiniBand, FDDI, token ring, 802.11 (plain, radiotap, PPI), PPP and Cisco HDLC
// framings, and the few pseudo-headers before Ethernet or IP. Internal to common/packet.
// Every function reads at most `n` bytes from `p` and is allocation-free.

#include <cstddef>
#include <cstdint>

#include "common/packet/decoder.h"
#include "common/packet/internal/decode_context.h"

namespace synmap::common::internal {

// DecodePacket's dispatch on the link type (a DLT_ value), for layers that carry a frame of
// another link type (PPI). Defined in decoder.cc.
DecodeResult DecodeLinkType(int link_type, const uint8_t* p, size_t n, DecodeContext* ctx);

// DLT_NULL and DLT_LOOP: a 4-byte address family in either byte order.
DecodeResult DecodeNull(const uint8_t* p, size_t n, DecodeContext* ctx);
DecodeResult DecodeLinuxSll(const uint8_t* p, size_t n, DecodeContext* ctx);
DecodeResult DecodeLinuxSll2(const uint8_t* p, size_t n, DecodeContext* ctx);
// NFLOG TLVs are in host byte order (libpcap swaps them when reading a foreign file). A
// message without a payload TLV is kTruncated: its end cannot be told from a snaplen cut.
DecodeResult DecodeNflog(const uint8_t* p, size_t n, DecodeContext* ctx);
DecodeResult DecodeArcnet(const uint8_t* p, size_t n, DecodeContext* ctx);
DecodeResult DecodeArcnetLinux(const uint8_t* p, size_t n, DecodeContext* ctx);
DecodeResult DecodeIpoib(const uint8_t* p, size_t n, DecodeContext* ctx);
DecodeResult DecodeFddi(const uint8_t* p, size_t n, DecodeContext* ctx);
DecodeResult DecodeTokenRing(const uint8_t* p, size_t n, DecodeContext* ctx);
// 802.11 data frames; protected, null-data, A-MSDU and management frames are kNotIp.
// `data_pad` is radiotap's flag for padding after the 802.11 header to 4 bytes.
DecodeResult DecodeIeee80211(const uint8_t* p, size_t n, bool data_pad, DecodeContext* ctx);
DecodeResult DecodeRadiotap(const uint8_t* p, size_t n, DecodeContext* ctx);
// PPI: the inner frame is decoded by DecodePacket with PPI's DLT (not PPI again).
DecodeResult DecodePpi(const uint8_t* p, size_t n, DecodeContext* ctx);
DecodeResult DecodePppSerial(const uint8_t* p, size_t n, DecodeContext* ctx);
DecodeResult DecodeCiscoHdlc(const uint8_t* p, size_t n, DecodeContext* ctx);
DecodeResult DecodePflog(const uint8_t* p, size_t n, DecodeContext* ctx);
DecodeResult DecodeEthernetMpacket(const uint8_t* p, size_t n, DecodeContext* ctx);
// Skips `header_bytes`, then decodes Ethernet (`ethernet`) or IP by version nibble.
DecodeResult DecodeAfterFixedHeader(size_t header_bytes, bool ethernet, const uint8_t* p, size_t n,
                                    DecodeContext* ctx);
// Ethernet with a Marvell DSA (4-byte) or EDSA (8-byte) tag after the source MAC.
DecodeResult DecodeDsa(size_t tag_bytes, const uint8_t* p, size_t n, DecodeContext* ctx);

}  // namespace synmap::common::internal
