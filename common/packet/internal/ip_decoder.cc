#include "common/packet/internal/ip_decoder.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/packet/internal/bytes.h"
#include "common/packet/internal/tunnel_decoder.h"
#include "common/packet/ip_address.h"

namespace synmap::common::internal {
namespace {

constexpr size_t kIpv4MinHeaderBytes = 20;
constexpr size_t kIpv6HeaderBytes = 40;
constexpr size_t kIpv6FragmentHeaderBytes = 8;
// Ports, sequence number, acknowledgment number, data offset and flags.
constexpr size_t kTcpNeededBytes = 14;
constexpr uint8_t kTcpMinDataOffsetWords = 5;
constexpr uint8_t kTcpSynAckFlags = 0x12;

constexpr uint8_t kProtoHopByHop = 0;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoRouting = 43;
constexpr uint8_t kProtoFragment = 44;
constexpr uint8_t kProtoAh = 51;
constexpr uint8_t kProtoDestinationOptions = 60;

// Reads ports, ISN and flags; the caller fills the addresses on kSynAck.
inline DecodeResult DecodeTcp(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kTcpNeededBytes) {
    return DecodeResult::kTruncated;
  }
  if ((p[12] >> 4) < kTcpMinDataOffsetWords) {
    return DecodeResult::kBadHeader;
  }
  if ((p[13] & kTcpSynAckFlags) != kTcpSynAckFlags) {
    return DecodeResult::kNotSynAck;
  }
  SynAckEvent* const out = ctx->event;
  out->server_port = LoadBe16(p);
  out->client_port = LoadBe16(p + 2);
  out->isn = LoadBe32(p + 4);
  return DecodeResult::kSynAck;
}

// Fill addresses in place: building an IpAddress on the stack and copying it stalls store
// forwarding (several narrow stores read back as one 16-byte load) on the hot path.
inline void SetIpv4(IpAddress& address, const uint8_t* p) {
  address.length = 4;
  std::memcpy(address.bytes.data(), p, 4);
  std::memset(address.bytes.data() + 4, 0, address.bytes.size() - 4);
}

inline void SetIpv6(IpAddress& address, const uint8_t* p) {
  address.length = 16;
  std::memcpy(address.bytes.data(), p, 16);
}

// Skips an authentication header (RFC 4302: length in 4-byte words minus 2). On success
// advances `p`/`n` and sets `next`; otherwise returns kTruncated.
inline bool SkipAh(const uint8_t*& p, size_t& n, uint8_t& next) {
  if (n < 2) {
    return false;
  }
  const size_t bytes = (static_cast<size_t>(p[1]) + 2) * 4;
  if (n < bytes) {
    return false;
  }
  next = p[0];
  p += bytes;
  n -= bytes;
  return true;
}

// Skips the IPv6 extension header of type `next` at `p`, advancing `p`/`n` and setting
// `next`; returns the final result instead when the chain ends here (not TCP, a non-first
// fragment, or truncated).
std::optional<DecodeResult> SkipIpv6Extension(const uint8_t*& p, size_t& n, uint8_t& next) {
  size_t bytes = 0;
  switch (next) {
    case kProtoHopByHop:
    case kProtoRouting:
    case kProtoDestinationOptions:
      if (n < 2) {
        return DecodeResult::kTruncated;
      }
      bytes = (static_cast<size_t>(p[1]) + 1) * 8;
      break;
    case kProtoFragment:
      if (n < kIpv6FragmentHeaderBytes) {
        return DecodeResult::kTruncated;
      }
      if ((LoadBe16(p + 2) >> 3) != 0) {
        return DecodeResult::kFragment;
      }
      bytes = kIpv6FragmentHeaderBytes;
      break;
    case kProtoAh:
      if (!SkipAh(p, n, next)) {
        return DecodeResult::kTruncated;
      }
      return std::nullopt;
    default:
      return DecodeResult::kNotTcp;
  }
  if (n < bytes) {
    return DecodeResult::kTruncated;
  }
  next = p[0];
  p += bytes;
  n -= bytes;
  return std::nullopt;
}

}  // namespace

DecodeResult DecodeIpv4(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < 1) {
    return DecodeResult::kTruncated;
  }
  const size_t header_bytes = static_cast<size_t>(p[0] & 0x0f) * 4;
  if ((p[0] >> 4) != 4 || header_bytes < kIpv4MinHeaderBytes) {
    return DecodeResult::kBadHeader;
  }
  if (n < header_bytes) {
    return DecodeResult::kTruncated;
  }
  // Total length 0 is legal for TSO/BIG TCP super-packets; otherwise it covers the header.
  const uint16_t total_length = LoadBe16(p + 2);
  if (total_length != 0 && total_length < header_bytes) {
    return DecodeResult::kBadHeader;
  }
  if ((LoadBe16(p + 6) & 0x1fff) != 0) {
    return DecodeResult::kFragment;
  }
  const uint8_t* const ip = p;
  uint8_t proto = p[9];
  p += header_bytes;
  n -= header_bytes;
  for (int i = 0; proto == kProtoAh; ++i) {
    if (i == kMaxIpExtensionHeaders) {
      return DecodeResult::kBadHeader;
    }
    if (!SkipAh(p, n, proto)) {
      return DecodeResult::kTruncated;
    }
  }
  if (proto != kProtoTcp) {
    // Tunnels are read no further than the IP total length (Ethernet may pad the frame).
    const size_t ip_bytes = total_length == 0 ? n + (p - ip) : total_length;
    const size_t used = static_cast<size_t>(p - ip);
    const size_t payload = ip_bytes > used ? std::min(n, ip_bytes - used) : 0;
    return DecodeIpPayload(proto, p, payload, ctx);
  }
  const DecodeResult result = DecodeTcp(p, n, ctx);
  if (result == DecodeResult::kSynAck) {
    SetIpv4(ctx->event->server, ip + 12);
    SetIpv4(ctx->event->client, ip + 16);
  }
  return result;
}

DecodeResult DecodeIpv6(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < 1) {
    return DecodeResult::kTruncated;
  }
  if ((p[0] >> 4) != 6) {
    return DecodeResult::kBadHeader;
  }
  if (n < kIpv6HeaderBytes) {
    return DecodeResult::kTruncated;
  }
  const uint8_t* const ip = p;
  uint8_t next = p[6];
  p += kIpv6HeaderBytes;
  n -= kIpv6HeaderBytes;
  for (int i = 0; next != kProtoTcp; ++i) {
    if (i == kMaxIpExtensionHeaders) {
      return DecodeResult::kBadHeader;
    }
    if (const std::optional<DecodeResult> stop = SkipIpv6Extension(p, n, next)) {
      if (*stop != DecodeResult::kNotTcp) {
        return *stop;
      }
      // `p` is at the payload of protocol `next`. A payload length of 0 is a jumbogram.
      const size_t payload_length = LoadBe16(ip + 4);
      const size_t ip_bytes =
          payload_length == 0 ? n + (p - ip) : kIpv6HeaderBytes + payload_length;
      const size_t used = static_cast<size_t>(p - ip);
      return DecodeIpPayload(next, p, ip_bytes > used ? std::min(n, ip_bytes - used) : 0, ctx);
    }
  }
  const DecodeResult result = DecodeTcp(p, n, ctx);
  if (result == DecodeResult::kSynAck) {
    SetIpv6(ctx->event->server, ip + 8);
    SetIpv6(ctx->event->client, ip + 24);
  }
  return result;
}

DecodeResult DecodeIpByVersion(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < 1) {
    return DecodeResult::kTruncated;
  }
  switch (p[0] >> 4) {
    case 4:
      return DecodeIpv4(p, n, ctx);
    case 6:
      return DecodeIpv6(p, n, ctx);
    default:
      return DecodeResult::kBadHeader;
  }
}

}  // namespace synmap::common::internal
