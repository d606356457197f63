#pragma once

// Tunnels of the packet decoder: GRE (with ERSPAN I/II/III and PPTP), IP-in-IP (4in4, 6in4,
// 4in6, 6in6) and, over UDP, VXLAN, Geneve, GTP-U, Teredo and AYIYA. Internal to
// common/packet. Every function reads at most `n` bytes from `p` and is allocation-free.

#include <cstddef>
#include <cstdint>

#include "common/packet/decoder.h"
#include "common/packet/internal/decode_context.h"

namespace synmap::common::internal {

// UDP ports on which a tunnel is recognised (either port; the lower one is tried first).
inline constexpr uint16_t kPortVxlan = 4789;
inline constexpr uint16_t kPortVxlanLinux = 8472;  // Linux's default before IANA's 4789.
inline constexpr uint16_t kPortGeneve = 6081;
inline constexpr uint16_t kPortGtpUser = 2152;
inline constexpr uint16_t kPortTeredo = 3544;
inline constexpr uint16_t kPortAyiya = 5072;

// GRE routing entries (RFC 1701 SREs) walked at most; GTP-U extension headers likewise.
inline constexpr int kMaxGreRoutingEntries = 16;
inline constexpr int kMaxGtpExtensionHeaders = 16;

// Decodes the payload `p` of an IP header whose protocol (IPv4) or last next header (IPv6)
// was `protocol`, when that is not TCP: enters a tunnel (one more level of ctx's depth) or
// returns kNotTcp. `n` is bounded by the IP length already. Without decapsulation, or for a
// protocol that carries no tunnel, returns kNotTcp without reading.
DecodeResult DecodeIpPayload(uint8_t protocol, const uint8_t* p, size_t n, DecodeContext* ctx);

}  // namespace synmap::common::internal
