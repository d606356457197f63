#pragma once

// Network and transport layers of the packet decoder: IPv4 (options, fragments, AH), IPv6
// (extension header chains) and the first 14 bytes of TCP. Internal to common/packet.
// Every function reads at most `n` bytes from `p` and is allocation-free.

#include <cstddef>
#include <cstdint>

#include "common/packet/decoder.h"
#include "common/packet/internal/decode_context.h"

namespace synmap::common::internal {

// Extension headers (IPv6) or AH headers (IPv4) skipped at most; more -> kBadHeader. Each
// is at least 8 bytes, so this bounds the work per packet; libpcap's ipv6_ext_headers.pcap
// legitimately chains 100 of them.
inline constexpr int kMaxIpExtensionHeaders = 128;

// Decodes an IPv4 header at `p` and what follows. Version != 4 or IHL < 5 -> kBadHeader.
DecodeResult DecodeIpv4(const uint8_t* p, size_t n, DecodeContext* ctx);

// Decodes an IPv6 header at `p` and its extension chain. Version != 6 -> kBadHeader.
DecodeResult DecodeIpv6(const uint8_t* p, size_t n, DecodeContext* ctx);

// Picks IPv4 or IPv6 by the version nibble; any other version -> kBadHeader.
DecodeResult DecodeIpByVersion(const uint8_t* p, size_t n, DecodeContext* ctx);

}  // namespace synmap::common::internal
