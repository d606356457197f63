#include "common/packet/internal/ethernet_decoder.h"

#include "common/packet/internal/bytes.h"
#include "common/packet/internal/ip_decoder.h"

namespace synmap::common::internal {
namespace {

constexpr size_t kEthernetHeaderBytes = 14;
constexpr size_t kVlanTagBytes = 4;     // TCI + next type.
constexpr size_t kVnTagBytes = 6;       // 4-byte tag + next type.
constexpr size_t kPbbHeaderBytes = 18;  // I-TAG (4) + customer MACs (12) + next type.
constexpr size_t kMplsLabelBytes = 4;
constexpr size_t kPppoeHeaderBytes = 6;
constexpr size_t kLlcHeaderBytes = 3;
constexpr size_t kSnapHeaderBytes = 8;  // LLC (3) + OUI (3) + type.

constexpr uint16_t kEthertypeVlan = 0x8100;
constexpr uint16_t kEthertypeQinq = 0x88a8;
constexpr uint16_t kEthertypeQinqOld1 = 0x9100;
constexpr uint16_t kEthertypeQinqOld2 = 0x9200;
constexpr uint16_t kEthertypeQinqOld3 = 0x9300;
constexpr uint16_t kEthertypeVnTag = 0x8926;
constexpr uint16_t kEthertypePbb = 0x88e7;
constexpr uint16_t kEthertypeMplsUnicast = 0x8847;
constexpr uint16_t kEthertypeMplsMulticast = 0x8848;
constexpr uint16_t kEthertypePppoeSession = 0x8864;
constexpr uint16_t kMaxEthernetLength = 0x05ff;  // Types below 0x0600 are 802.3 lengths.

constexpr uint8_t kLlcSapSnap = 0xaa;
constexpr uint8_t kLlcSapIp = 0x06;
constexpr uint8_t kLlcControlUi = 0x03;

constexpr uint16_t kPppIpv4 = 0x0021;
constexpr uint16_t kPppIpv6 = 0x0057;

// Walks an MPLS label stack to its bottom; the payload is IPv4 or IPv6 by version nibble.
// Anything else (a pseudowire control word, Ethernet over MPLS) is not an outermost IP.
DecodeResult DecodeMpls(const uint8_t* p, size_t n, DecodeContext* ctx) {
  for (int i = 0; i < kMaxLinkHeaders; ++i) {
    if (n < kMplsLabelBytes) {
      return DecodeResult::kTruncated;
    }
    const bool bottom_of_stack = (p[2] & 0x01) != 0;
    p += kMplsLabelBytes;
    n -= kMplsLabelBytes;
    if (!bottom_of_stack) {
      continue;
    }
    if (n < 1) {
      return DecodeResult::kTruncated;
    }
    const uint8_t version = p[0] >> 4;
    if (version == 4) {
      return DecodeIpv4(p, n, ctx);
    }
    if (version == 6) {
      return DecodeIpv6(p, n, ctx);
    }
    return DecodeResult::kNotIp;
  }
  return DecodeResult::kBadHeader;
}

}  // namespace

DecodeResult DecodeEthernet(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kEthernetHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  return DecodeEthertype(LoadBe16(p + 12), p + kEthernetHeaderBytes, n - kEthernetHeaderBytes, ctx);
}

DecodeResult DecodeEthertype(uint16_t type, const uint8_t* p, size_t n, DecodeContext* ctx) {
  size_t skip = 0;
  // Up to kMaxLinkHeaders headers are skipped; the last pass must reach a payload.
  for (int i = 0; i <= kMaxLinkHeaders; ++i) {
    switch (type) {
      case kEthertypeIpv4:
        return DecodeIpv4(p, n, ctx);
      case kEthertypeIpv6:
        return DecodeIpv6(p, n, ctx);
      case kEthertypeVlan:
      case kEthertypeQinq:
      case kEthertypeQinqOld1:
      case kEthertypeQinqOld2:
      case kEthertypeQinqOld3:
        skip = kVlanTagBytes;
        break;
      case kEthertypeVnTag:
        skip = kVnTagBytes;
        break;
      case kEthertypePbb:
        skip = kPbbHeaderBytes;
        break;
      case kEthertypeMplsUnicast:
      case kEthertypeMplsMulticast:
        return DecodeMpls(p, n, ctx);
      case kEthertypePppoeSession:
        return DecodePppoe(p, n, ctx);
      default:
        if (type > kMaxEthernetLength) {
          return DecodeResult::kNotIp;
        }
        // An 802.3 length field: LLC follows. SNAP loops back here with its type.
        if (n < kLlcHeaderBytes) {
          return DecodeResult::kTruncated;
        }
        if (p[0] != kLlcSapSnap || p[1] != kLlcSapSnap || p[2] != kLlcControlUi) {
          return DecodeLlc(p, n, ctx);
        }
        if (n >= 6 && (p[3] != 0 || p[4] != 0 || (p[5] != 0 && p[5] != 0xf8))) {
          return DecodeResult::kNotIp;  // An organisation-specific SNAP protocol (CDP, ...).
        }
        skip = kSnapHeaderBytes;
        break;
    }
    // Every header above ends with the next Ethernet type.
    if (n < skip) {
      return DecodeResult::kTruncated;
    }
    type = LoadBe16(p + skip - 2);
    p += skip;
    n -= skip;
  }
  return DecodeResult::kBadHeader;
}

DecodeResult DecodeLlc(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kLlcHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  if (p[0] == kLlcSapSnap && p[1] == kLlcSapSnap && p[2] == kLlcControlUi) {
    // A length of 0 routes the SNAP header through DecodeEthertype's loop.
    return DecodeEthertype(0, p, n, ctx);
  }
  if (p[0] == kLlcSapIp && p[1] == kLlcSapIp && p[2] == kLlcControlUi) {
    return DecodeIpv4(p + kLlcHeaderBytes, n - kLlcHeaderBytes, ctx);
  }
  return DecodeResult::kNotIp;
}

DecodeResult DecodePppProtocol(uint16_t protocol, const uint8_t* p, size_t n, DecodeContext* ctx) {
  switch (protocol) {
    case kPppIpv4:
      return DecodeIpv4(p, n, ctx);
    case kPppIpv6:
      return DecodeIpv6(p, n, ctx);
    default:
      return DecodeResult::kNotIp;
  }
}

DecodeResult DecodePpp(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n >= 1 && p[0] == 0xff) {  // HDLC-like framing: address FF, control 03.
    if (n < 2) {
      return DecodeResult::kTruncated;
    }
    p += 2;
    n -= 2;
  }
  if (n < 1) {
    return DecodeResult::kTruncated;
  }
  if ((p[0] & 0x01) != 0) {  // Protocol field compression: a one-byte protocol.
    return DecodePppProtocol(p[0], p + 1, n - 1, ctx);
  }
  if (n < 2) {
    return DecodeResult::kTruncated;
  }
  return DecodePppProtocol(LoadBe16(p), p + 2, n - 2, ctx);
}

DecodeResult DecodePppoe(const uint8_t* p, size_t n, DecodeContext* ctx) {
  if (n < kPppoeHeaderBytes + 2) {
    return DecodeResult::kTruncated;
  }
  if (p[1] != 0) {  // Discovery packets (PADI, PADO, ...) carry no PPP.
    return DecodeResult::kNotIp;
  }
  return DecodePppProtocol(LoadBe16(p + kPppoeHeaderBytes), p + kPppoeHeaderBytes + 2,
                           n - kPppoeHeaderBytes - 2, ctx);
}

}  // namespace synmap::common::internal
