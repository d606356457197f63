#include "common/packet/internal/link_decoders.h"

#include "common/packet/internal/bytes.h"
#include "common/packet/internal/ethernet_decoder.h"
#include "common/packet/internal/ip_decoder.h"

namespace synmap::common::internal {
namespace {

constexpr size_t kNullHeaderBytes = 4;
constexpr size_t kSllHeaderBytes = 16;
constexpr size_t kSll2HeaderBytes = 20;
constexpr size_t kNflogHeaderBytes = 4;
constexpr size_t kNflogTlvHeaderBytes = 4;
constexpr size_t kIpoibHeaderBytes = 44;
constexpr size_t kFddiHeaderBytes = 13;
constexpr size_t kTokenRingHeaderBytes = 14;
constexpr size_t kIeee80211HeaderBytes = 24;
constexpr size_t kRadiotapMinHeaderBytes = 8;
constexpr size_t kPpiMinHeaderBytes = 8;
constexpr size_t kCiscoHdlcHeaderBytes = 4;
constexpr size_t kMpacketPreambleBytes = 8;  // 7 preamble bytes + SMD.
constexpr int kMaxNflogTlvs = 64;

constexpr uint32_t kAfInet = 2;
constexpr uint16_t kArphrdNetlink = 824;
constexpr uint16_t kSllProtocolLlc = 0x0004;
constexpr uint16_t kNflogTypePayload = 9;
constexpr uint16_t kNflogTypeMask = 0x3fff;  // Drops netlink's nested/byte-order bits.

bool IsAfInet6(uint32_t family) {
  // Linux 10, Windows 23, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30.
  return family == 10 || family == 23 || family == 24 || family == 28 || family == 30;
}

DecodeResult DecodeSllProtocol(uint16_t arphrd, uint16_t protocol, const uint8_t* p, size_t n,
                               DecodeContext* ctx) {
  if (arphrd == kArphrdNetlink) {
    return DecodeResult::kNotIp;
  }
  if (protocol == kSllProtocolLlc) {
    return DecodeLlc(p, n, ctx);
  }
  if (protocol < 0x0600) {  // Other Linux ETH_P_ pseudo-protocols (802.3 raw, AX.25, ...).
    return DecodeResult::kNotIp;
  }
  return DecodeEthertype(protocol, p, n, ctx);
}

DecodeResult DecodeArcnetType(uint8_t type, const uint8_t* p, size_t n, DecodeContext* ctx) {
  switch (type) {
    case 0xd4:  // ARCTYPE_IP (RFC 1201).
    case 0xf0:  // ARCTYPE_IP_OLD (RFC 1051).
      return DecodeIpv4(p, n, ctx);
    case 0xc4:  // ARCTYPE_INET6.
      return DecodeIpv6(p, n, ctx);
    default:
      return DecodeResult::kNotIp;
  }
}

// RFC 1051 types (and diagnostics) have no split flag or sequence number.
bool IsOldArcnetType(uint8_t type) { return type == 0xf0 || type == 0xf1 || type == 0x80; }

// Where radiotap's Flags field says the 802.11 header is padded to 4 bytes.
bool RadiotapDataPad(const uint8_t* p, size_t header_bytes) {
  const uint32_t present = LoadLe32(p + 4);
  size_t offset = 8;
  for (uint32_t word = present; (word & 0x80000000u) != 0; offset += 4) {
    if (offset + 4 > header_bytes) {
      return false;
    }
    word = LoadLe32(p + offset);
  }
  if ((present & 0x1) != 0) {  // TSFT: 8 bytes, 8-aligned.
    offset = ((offset + 7) & ~size_t{7}) + 8;
  }
  if ((present & 0x2) == 0 || offset >= header_bytes) {
    return false;
  }
  return (p[offset] & 0x20) != 0;
}

}  // namespace

DecodeResult DecodeNull(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kNullHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  // Families are small numbers, so a value above 0xffff was written in the other order.
  uint32_t family = LoadHost32(p);
  if ((family & 0xffff0000u) != 0) {
    family = __builtin_bswap32(family);
  }
  if (family == kAfInet) {
    return DecodeIpv4(p + kNullHeaderBytes, n - kNullHeaderBytes, ctx);
  }
  if (IsAfInet6(family)) {
    return DecodeIpv6(p + kNullHeaderBytes, n - kNullHeaderBytes, ctx);
  }
  return DecodeResult::kNotIp;
}

DecodeResult DecodeLinuxSll(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kSllHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  return DecodeSllProtocol(LoadBe16(p + 2), LoadBe16(p + 14), p + kSllHeaderBytes,
                           n - kSllHeaderBytes, ctx);
}

DecodeResult DecodeLinuxSll2(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kSll2HeaderBytes) {
    return DecodeResult::kTruncated;
  }
  return DecodeSllProtocol(LoadBe16(p + 8), LoadBe16(p), p + kSll2HeaderBytes, n - kSll2HeaderBytes,
                           ctx);
}

DecodeResult DecodeNflog(const uint8_t* p, size_t n, DecodeContext* ctx) {
  size_t offset = kNflogHeaderBytes;
  for (int i = 0; i < kMaxNflogTlvs; ++i) {
    if (n < offset + kNflogTlvHeaderBytes) {
      return DecodeResult::kTruncated;
    }
    const size_t length = LoadHost16(p + offset);
    const uint16_t type = LoadHost16(p + offset + 2) & kNflogTypeMask;
    if (length < kNflogTlvHeaderBytes) {
      return DecodeResult::kBadHeader;
    }
    if (type == kNflogTypePayload) {
      const size_t start = offset + kNflogTlvHeaderBytes;
      const size_t available = n - start;
      const size_t payload = length - kNflogTlvHeaderBytes;
      return DecodeIpByVersion(p + start, payload < available ? payload : available, ctx);
    }
    offset += (length + 3) & ~size_t{3};  // TLVs are padded to 4 bytes.
  }
  return DecodeResult::kBadHeader;
}

DecodeResult DecodeArcnet(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < 3) {
    return DecodeResult::kTruncated;
  }
  const uint8_t type = p[2];
  if (IsOldArcnetType(type)) {
    return DecodeArcnetType(type, p + 3, n - 3, ctx);
  }
  if (n < 6) {
    return DecodeResult::kTruncated;
  }
  uint8_t flag = p[3];
  size_t header_bytes = 6;
  if (flag == 0xff) {  // An exception packet repeats type, flag and sequence number.
    if (n < 10) {
      return DecodeResult::kTruncated;
    }
    flag = p[7];
    header_bytes = 10;
  }
  if (flag != 0 && (flag & 0x01) == 0) {  // A later fragment of a split packet.
    return DecodeResult::kFragment;
  }
  return DecodeArcnetType(type, p + header_bytes, n - header_bytes, ctx);
}

DecodeResult DecodeArcnetLinux(const uint8_t* p, size_t n, DecodeContext* ctx) {
  // Source, destination, 2-byte offset, type; RFC 1201 adds flag and sequence number.
  if (n < 5) {
    return DecodeResult::kTruncated;
  }
  const uint8_t type = p[4];
  const size_t header_bytes = IsOldArcnetType(type) ? 5 : 8;
  if (n < header_bytes) {
    return DecodeResult::kTruncated;
  }
  return DecodeArcnetType(type, p + header_bytes, n - header_bytes, ctx);
}

DecodeResult DecodeIpoib(const uint8_t* p, size_t n, DecodeContext* ctx) {
  // 40 bytes of addresses, the Ethernet type, 2 reserved bytes.
  if (n < kIpoibHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  return DecodeEthertype(LoadBe16(p + 40), p + kIpoibHeaderBytes, n - kIpoibHeaderBytes, ctx);
}

DecodeResult DecodeFddi(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kFddiHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  return DecodeLlc(p + kFddiHeaderBytes, n - kFddiHeaderBytes, ctx);
}

DecodeResult DecodeTokenRing(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kTokenRingHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  if ((p[1] >> 6) != 1) {  // MAC frames carry no LLC.
    return DecodeResult::kNotIp;
  }
  size_t header_bytes = kTokenRingHeaderBytes;
  if ((p[8] & 0x80) != 0) {  // Source routing information follows the addresses.
    if (n < header_bytes + 1) {
      return DecodeResult::kTruncated;
    }
    header_bytes += p[kTokenRingHeaderBytes] & 0x1f;
    if (n < header_bytes) {
      return DecodeResult::kTruncated;
    }
  }
  return DecodeLlc(p + header_bytes, n - header_bytes, ctx);
}

DecodeResult DecodeIeee80211(const uint8_t* p, size_t n, bool data_pad, DecodeContext* ctx) {
  if (n < 2) {
    return DecodeResult::kTruncated;
  }
  const uint8_t type = (p[0] >> 2) & 0x3;
  const uint8_t subtype = p[0] >> 4;
  // Only unprotected data frames that carry data reach an IP header.
  if (type != 2 || (subtype & 0x4) != 0 || (p[1] & 0x40) != 0) {
    return DecodeResult::kNotIp;
  }
  size_t header_bytes = kIeee80211HeaderBytes + ((p[1] & 0x3) == 0x3 ? 6 : 0);
  const size_t qos_offset = header_bytes;
  const bool qos = (subtype & 0x8) != 0;
  if (qos) {
    header_bytes += 2 + ((p[1] & 0x80) != 0 ? 4 : 0);  // QoS control, HT control.
  }
  if (data_pad) {
    header_bytes = (header_bytes + 3) & ~size_t{3};
  }
  if (n < header_bytes) {
    return DecodeResult::kTruncated;
  }
  if (qos && (p[qos_offset] & 0x80) != 0) {  // An A-MSDU aggregate.
    return DecodeResult::kNotIp;
  }
  return DecodeLlc(p + header_bytes, n - header_bytes, ctx);
}

DecodeResult DecodeRadiotap(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kRadiotapMinHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  const size_t header_bytes = LoadLe16(p + 2);
  if (header_bytes < kRadiotapMinHeaderBytes) {
    return DecodeResult::kBadHeader;
  }
  if (n < header_bytes) {
    return DecodeResult::kTruncated;
  }
  return DecodeIeee80211(p + header_bytes, n - header_bytes, RadiotapDataPad(p, header_bytes), ctx);
}

DecodeResult DecodePpi(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kPpiMinHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  const size_t header_bytes = LoadLe16(p + 2);
  const uint32_t inner_link_type = LoadLe32(p + 4);
  if (header_bytes < kPpiMinHeaderBytes ||
      inner_link_type == static_cast<uint32_t>(LinkType::kPpi) || inner_link_type > 0xffff) {
    return DecodeResult::kBadHeader;
  }
  if (n < header_bytes) {
    return DecodeResult::kTruncated;
  }
  return DecodeLinkType(static_cast<int>(inner_link_type), p + header_bytes, n - header_bytes, ctx);
}

DecodeResult DecodePppSerial(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n >= 1 && (p[0] == 0x0f || p[0] == 0x8f)) {  // Cisco HDLC framing.
    return DecodeCiscoHdlc(p, n, ctx);
  }
  return DecodePpp(p, n, ctx);
}

DecodeResult DecodeCiscoHdlc(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kCiscoHdlcHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  return DecodeEthertype(LoadBe16(p + 2), p + kCiscoHdlcHeaderBytes, n - kCiscoHdlcHeaderBytes,
                         ctx);
}

DecodeResult DecodePflog(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < 1) {
    return DecodeResult::kTruncated;
  }
  const size_t header_bytes = (static_cast<size_t>(p[0]) + 3) & ~size_t{3};
  if (header_bytes < 4) {
    return DecodeResult::kBadHeader;
  }
  return DecodeAfterFixedHeader(header_bytes, /*ethernet=*/false, p, n, ctx);
}

DecodeResult DecodeEthernetMpacket(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kMpacketPreambleBytes) {
    return DecodeResult::kTruncated;
  }
  switch (p[kMpacketPreambleBytes - 1]) {
    case 0xd5:  // SMD-E: an express frame.
    case 0xe6:  // SMD-S0..S3: the first fragment of a preemptable frame.
    case 0x4c:
    case 0x7f:
    case 0xb3:
      return DecodeEthernet(p + kMpacketPreambleBytes, n - kMpacketPreambleBytes, ctx);
    default:  // Continuation fragments, verify and respond packets.
      return DecodeResult::kNotIp;
  }
}

DecodeResult DecodeAfterFixedHeader(size_t header_bytes, bool ethernet, const uint8_t* p, size_t n,
                                    DecodeContext* ctx) {
  if (n < header_bytes) {
    return DecodeResult::kTruncated;
  }
  return ethernet ? DecodeEthernet(p + header_bytes, n - header_bytes, ctx)
                  : DecodeIpByVersion(p + header_bytes, n - header_bytes, ctx);
}

DecodeResult DecodeDsa(size_t tag_bytes, const uint8_t* p, size_t n, DecodeContext* ctx) {
  const size_t header_bytes = 12 + tag_bytes + 2;
  if (n < header_bytes) {
    return DecodeResult::kTruncated;
  }
  return DecodeEthertype(LoadBe16(p + header_bytes - 2), p + header_bytes, n - header_bytes, ctx);
}

}  // namespace synmap::common::internal
