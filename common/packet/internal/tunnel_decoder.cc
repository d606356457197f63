#include "common/packet/internal/tunnel_decoder.h"

#include <algorithm>

#include "common/packet/internal/bytes.h"
#include "common/packet/internal/ethernet_decoder.h"
#include "common/packet/internal/ip_decoder.h"

namespace synmap::common::internal {
namespace {

constexpr uint8_t kProtoIpv4 = 4;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIpv6 = 41;
constexpr uint8_t kProtoGre = 47;

constexpr size_t kUdpHeaderBytes = 8;
constexpr size_t kGreBaseBytes = 4;       // Flags and version, protocol type.
constexpr size_t kGreFieldBytes = 4;      // Checksum+offset, key, sequence, acknowledgment.
constexpr size_t kGreSreHeaderBytes = 4;  // Address family, SRE offset, SRE length.
constexpr size_t kErspan2HeaderBytes = 8;
constexpr size_t kErspan3HeaderBytes = 12;
constexpr size_t kErspan3SubheaderBytes = 8;  // Platform-specific, when the O bit is set.
constexpr size_t kVxlanHeaderBytes = 8;
constexpr size_t kGeneveHeaderBytes = 8;
constexpr size_t kGtpHeaderBytes = 8;
constexpr size_t kGtpOptionalBytes = 4;        // Sequence number, N-PDU number, next extension.
constexpr size_t kTeredoAuthBytes = 4;         // Indicator, client id length, auth value length.
constexpr size_t kTeredoAuthTrailerBytes = 9;  // Nonce (8) and confirmation byte.
constexpr size_t kTeredoOriginBytes = 8;
constexpr size_t kAyiyaHeaderBytes = 8;

constexpr uint16_t kGreChecksum = 0x8000;
constexpr uint16_t kGreRouting = 0x4000;
constexpr uint16_t kGreKey = 0x2000;
constexpr uint16_t kGreSequence = 0x1000;
constexpr uint16_t kGreAck = 0x0080;  // Version 1 (PPTP) only.
constexpr uint16_t kGreVersionMask = 0x0007;

constexpr uint16_t kEthertypeTransparentBridging = 0x6558;
constexpr uint16_t kEthertypeErspan2 = 0x88be;  // Type I without a GRE sequence number.
constexpr uint16_t kEthertypeErspan3 = 0x22eb;
constexpr uint16_t kEthertypePpp = 0x880b;
constexpr uint16_t kMaxEthernetLength = 0x05ff;

constexpr uint8_t kErspan3FrameEthernet = 0;
constexpr uint8_t kErspan3FrameIp = 2;
constexpr uint8_t kGtpVersion1 = 1;
constexpr uint8_t kGtpMessageGpdu = 0xff;  // A user packet; others are signalling.
constexpr uint8_t kAyiyaOpcodeForward = 1;

// The payload of a header whose protocol field is an Ethernet type (GRE, Geneve).
DecodeResult DecodeTypedPayload(uint16_t type, const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (type == kEthertypeTransparentBridging) {
    return DecodeEthernet(p, n, ctx);
  }
  if (type <= kMaxEthernetLength) {
    return DecodeResult::kNotIp;  // Not an Ethernet type; no LLC follows here.
  }
  return DecodeEthertype(type, p, n, ctx);
}

// ERSPAN type III (GRE 0x22eb): 12-byte header, an optional 8-byte subheader (O bit), then an
// Ethernet frame or (frame type 2) an IP packet.
DecodeResult DecodeErspan3(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kErspan3HeaderBytes) {
    return DecodeResult::kTruncated;
  }
  const uint16_t word = LoadBe16(p + 10);  // P, frame type, hardware id, D, Gra, O.
  const uint8_t frame_type = (word >> 10) & 0x1f;
  const size_t header_bytes =
      kErspan3HeaderBytes + ((word & 0x1) != 0 ? kErspan3SubheaderBytes : 0);
  if (n < header_bytes) {
    return DecodeResult::kTruncated;
  }
  p += header_bytes;
  n -= header_bytes;
  if (frame_type == kErspan3FrameEthernet) {
    return DecodeEthernet(p, n, ctx);
  }
  if (frame_type == kErspan3FrameIp) {
    return DecodeIpByVersion(p, n, ctx);
  }
  return DecodeResult::kNotIp;
}

// Length of GRE's RFC 1701 routing field (SREs up to the null SRE) at `p`, or 0 when it
// does not end within `n` bytes (`*truncated`) or within kMaxGreRoutingEntries entries.
size_t GreRoutingBytes(const uint8_t* p, size_t n, bool* truncated) {
  size_t offset = 0;
  for (int i = 0; i < kMaxGreRoutingEntries; ++i) {
    if (n - offset < kGreSreHeaderBytes) {
      *truncated = true;
      return 0;
    }
    const uint16_t family = LoadBe16(p + offset);
    const size_t length = p[offset + 3];
    offset += kGreSreHeaderBytes;
    if (family == 0 && length == 0) {
      return offset;
    }
    if (n - offset < length) {
      *truncated = true;
      return 0;
    }
    offset += length;
  }
  *truncated = false;
  return 0;
}

// GRE (RFC 2784, 2890; RFC 1701 routing; RFC 2637 enhanced GRE for PPTP).
DecodeResult DecodeGre(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kGreBaseBytes) {
    return DecodeResult::kTruncated;
  }
  const uint16_t flags = LoadBe16(p);
  const uint16_t type = LoadBe16(p + 2);
  const uint16_t version = flags & kGreVersionMask;
  if (version > 1 || (version == 1 && ((flags & kGreKey) == 0 || type != kEthertypePpp))) {
    return DecodeResult::kBadHeader;  // Unknown version; PPTP's GRE always has a key.
  }
  size_t header_bytes = kGreBaseBytes;
  header_bytes += (flags & (kGreChecksum | kGreRouting)) != 0 ? kGreFieldBytes : 0;
  header_bytes += (flags & kGreKey) != 0 ? kGreFieldBytes : 0;
  header_bytes += (flags & kGreSequence) != 0 ? kGreFieldBytes : 0;
  header_bytes += (version == 1 && (flags & kGreAck) != 0) ? kGreFieldBytes : 0;
  if (n < header_bytes) {
    return DecodeResult::kTruncated;
  }
  if ((flags & kGreRouting) != 0) {
    bool truncated = false;
    const size_t routing_bytes = GreRoutingBytes(p + header_bytes, n - header_bytes, &truncated);
    if (routing_bytes == 0) {
      return truncated ? DecodeResult::kTruncated : DecodeResult::kBadHeader;
    }
    header_bytes += routing_bytes;
  }
  p += header_bytes;
  n -= header_bytes;
  switch (type) {
    case kEthertypeErspan2:
      if ((flags & kGreSequence) == 0) {
        return DecodeEthernet(p, n, ctx);  // ERSPAN type I: no ERSPAN header.
      }
      if (n < kErspan2HeaderBytes) {
        return DecodeResult::kTruncated;
      }
      return DecodeEthernet(p + kErspan2HeaderBytes, n - kErspan2HeaderBytes, ctx);
    case kEthertypeErspan3:
      return DecodeErspan3(p, n, ctx);
    case kEthertypePpp:
      return DecodePpp(p, n, ctx);
    default:
      return DecodeTypedPayload(type, p, n, ctx);
  }
}

// VXLAN (RFC 7348): 8-byte header, then an Ethernet frame. The flags are not checked
// (extensions such as group policy set others than I).
DecodeResult DecodeVxlan(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kVxlanHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  return DecodeEthernet(p + kVxlanHeaderBytes, n - kVxlanHeaderBytes, ctx);
}

// Geneve (RFC 8926): 8-byte header, options (length in 4-byte words), then a payload named
// by an Ethernet type (0x6558 for Ethernet).
DecodeResult DecodeGeneve(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kGeneveHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  if ((p[0] >> 6) != 0) {
    return DecodeResult::kBadHeader;  // Only version 0 exists.
  }
  const size_t header_bytes = kGeneveHeaderBytes + static_cast<size_t>(p[0] & 0x3f) * 4;
  if (n < header_bytes) {
    return DecodeResult::kTruncated;
  }
  return DecodeTypedPayload(LoadBe16(p + 2), p + header_bytes, n - header_bytes, ctx);
}

// GTP-U (3GPP TS 29.281): version 1, G-PDU messages carry an IPv4 or IPv6 packet after the
// header, its optional fields and its extension headers. Other messages are signalling.
DecodeResult DecodeGtpUser(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kGtpHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  if ((p[0] >> 5) != kGtpVersion1 || (p[0] & 0x10) == 0) {
    return DecodeResult::kBadHeader;  // Not GTPv1 (GTP' has protocol type 0).
  }
  if (p[1] != kGtpMessageGpdu) {
    return DecodeResult::kNotTcp;
  }
  // The length field counts what follows the 8 mandatory bytes.
  n = std::min(n, kGtpHeaderBytes + LoadBe16(p + 2));
  size_t header_bytes = kGtpHeaderBytes;
  uint8_t next_extension = 0;
  if ((p[0] & 0x07) != 0) {  // Extension, sequence or N-PDU flag: 4 more bytes.
    header_bytes += kGtpOptionalBytes;
    if (n < header_bytes) {
      return DecodeResult::kTruncated;
    }
    next_extension = (p[0] & 0x04) != 0 ? p[11] : 0;
  }
  for (int i = 0; next_extension != 0; ++i) {
    if (i == kMaxGtpExtensionHeaders) {
      return DecodeResult::kBadHeader;
    }
    if (n <= header_bytes) {
      return DecodeResult::kTruncated;
    }
    const size_t bytes = static_cast<size_t>(p[header_bytes]) * 4;  // Length in 4-byte units.
    if (bytes == 0) {
      return DecodeResult::kBadHeader;
    }
    if (n - header_bytes < bytes) {
      return DecodeResult::kTruncated;
    }
    next_extension = p[header_bytes + bytes - 1];
    header_bytes += bytes;
  }
  return DecodeIpByVersion(p + header_bytes, n - header_bytes, ctx);
}

// Teredo (RFC 4380): an optional authentication indication (00 01), an optional origin
// indication (00 00), then an IPv6 packet. Anything else on the port is not Teredo data.
DecodeResult DecodeTeredo(const uint8_t* p, size_t n, DecodeContext* ctx) {
  // Two bytes tell an indication from an IPv6 header (which needs 40 anyway).
  if (n < 2) {
    return DecodeResult::kTruncated;
  }
  if (p[0] == 0 && p[1] == 1) {
    if (n < kTeredoAuthBytes) {
      return DecodeResult::kTruncated;
    }
    const size_t bytes = kTeredoAuthBytes + p[2] + p[3] + kTeredoAuthTrailerBytes;
    if (n < bytes + 2) {
      return DecodeResult::kTruncated;
    }
    p += bytes;
    n -= bytes;
  }
  if (p[0] == 0 && p[1] == 0) {
    if (n < kTeredoOriginBytes + 1) {
      return DecodeResult::kTruncated;
    }
    p += kTeredoOriginBytes;
    n -= kTeredoOriginBytes;
  }
  if ((p[0] >> 4) != 6) {
    return DecodeResult::kNotIp;
  }
  return DecodeIpv6(p, n, ctx);
}

// AYIYA: 8-byte header, identity (2^n bytes), signature (4-byte words); a "forward" message
// carries the packet named by its next-header field.
DecodeResult DecodeAyiya(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kAyiyaHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  const size_t header_bytes =
      kAyiyaHeaderBytes + (size_t{1} << (p[0] >> 4)) + static_cast<size_t>(p[1] >> 4) * 4;
  if (n < header_bytes) {
    return DecodeResult::kTruncated;
  }
  if ((p[2] & 0x0f) != kAyiyaOpcodeForward) {
    return DecodeResult::kNotTcp;  // Heartbeats and queries carry no packet.
  }
  switch (p[3]) {
    case kProtoIpv4:
      return DecodeIpv4(p + header_bytes, n - header_bytes, ctx);
    case kProtoIpv6:
      return DecodeIpv6(p + header_bytes, n - header_bytes, ctx);
    default:
      return DecodeResult::kNotTcp;
  }
}

enum class UdpTunnel { kNone, kVxlan, kGeneve, kGtpUser, kTeredo, kAyiya };

UdpTunnel UdpTunnelOfPort(uint16_t port) {
  switch (port) {
    case kPortVxlan:
    case kPortVxlanLinux:
      return UdpTunnel::kVxlan;
    case kPortGeneve:
      return UdpTunnel::kGeneve;
    case kPortGtpUser:
      return UdpTunnel::kGtpUser;
    case kPortTeredo:
      return UdpTunnel::kTeredo;
    case kPortAyiya:
      return UdpTunnel::kAyiya;
    default:
      return UdpTunnel::kNone;
  }
}

DecodeResult DecodeUdp(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kUdpHeaderBytes) {
    return DecodeResult::kNotTcp;  // Ports not captured: cannot tell a tunnel.
  }
  const uint16_t source = LoadBe16(p);
  const uint16_t destination = LoadBe16(p + 2);
  // Most datagrams (DNS, NTP, ephemeral ports) have neither port in the tunnels' range.
  constexpr uint16_t kLowest = kPortGtpUser;
  constexpr uint16_t kSpan = kPortVxlanLinux - kPortGtpUser;
  if (static_cast<uint16_t>(source - kLowest) > kSpan &&
      static_cast<uint16_t>(destination - kLowest) > kSpan) {
    return DecodeResult::kNotTcp;
  }
  UdpTunnel tunnel = UdpTunnelOfPort(std::min(source, destination));
  if (tunnel == UdpTunnel::kNone) {
    tunnel = UdpTunnelOfPort(std::max(source, destination));
    if (tunnel == UdpTunnel::kNone) {
      return DecodeResult::kNotTcp;
    }
  }
  if (!EnterTunnel(ctx)) {
    return DecodeResult::kNotTcp;
  }
  // The UDP length bounds the payload (0 = an IPv6 jumbogram's, or unknown).
  const size_t udp_length = LoadBe16(p + 4);
  if (udp_length != 0 && udp_length < kUdpHeaderBytes) {
    return DecodeResult::kBadHeader;
  }
  const size_t payload_bytes = udp_length == 0 ? n : std::min(n, udp_length);
  p += kUdpHeaderBytes;
  n = payload_bytes - kUdpHeaderBytes;
  switch (tunnel) {
    case UdpTunnel::kVxlan:
      return DecodeVxlan(p, n, ctx);
    case UdpTunnel::kGeneve:
      return DecodeGeneve(p, n, ctx);
    case UdpTunnel::kGtpUser:
      return DecodeGtpUser(p, n, ctx);
    case UdpTunnel::kTeredo:
      return DecodeTeredo(p, n, ctx);
    case UdpTunnel::kAyiya:
      return DecodeAyiya(p, n, ctx);
    case UdpTunnel::kNone:
      break;
  }
  return DecodeResult::kNotTcp;
}

}  // namespace

DecodeResult DecodeIpPayload(uint8_t protocol, const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (ctx->max_tunnel_depth == 0) {
    return DecodeResult::kNotTcp;
  }
  switch (protocol) {
    case kProtoUdp:
      return DecodeUdp(p, n, ctx);
    case kProtoIpv4:
      return EnterTunnel(ctx) ? DecodeIpv4(p, n, ctx) : DecodeResult::kNotTcp;
    case kProtoIpv6:
      return EnterTunnel(ctx) ? DecodeIpv6(p, n, ctx) : DecodeResult::kNotTcp;
    case kProtoGre:
      return EnterTunnel(ctx) ? DecodeGre(p, n, ctx) : DecodeResult::kNotTcp;
    default:
      return DecodeResult::kNotTcp;
  }
}

}  // namespace synmap::common::internal
