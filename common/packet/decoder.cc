#include "common/packet/decoder.h"

#include "common/packet/internal/ethernet_decoder.h"
#include "common/packet/internal/ip_decoder.h"
#include "common/packet/internal/link_decoders.h"

namespace synmap::common {

using internal::DecodeAfterFixedHeader;

namespace {

constexpr size_t kSlipHeaderBytes = 16;
constexpr size_t kEncHeaderBytes = 12;
constexpr size_t kSunAtmHeaderBytes = 4;
constexpr size_t kNetAnalyzerHeaderBytes = 4;
constexpr size_t kNetAnalyzerTransparentHeaderBytes = 12;  // + preamble and SFD.
constexpr size_t kDsaTagBytes = 4;
constexpr size_t kEdsaTagBytes = 8;

DecodeResult DecodeSunAtm(const uint8_t* p, size_t n, internal::DecodeContext* ctx) {
  if (n < kSunAtmHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  return internal::DecodeLlc(p + kSunAtmHeaderBytes, n - kSunAtmHeaderBytes, ctx);
}

}  // namespace

const char* DecodeResultName(DecodeResult result) {
  switch (result) {
    case DecodeResult::kSynAck:
      return "synack";
    case DecodeResult::kNotSynAck:
      return "not_synack";
    case DecodeResult::kNotTcp:
      return "not_tcp";
    case DecodeResult::kNotIp:
      return "not_ip";
    case DecodeResult::kFragment:
      return "fragment";
    case DecodeResult::kTruncated:
      return "truncated";
    case DecodeResult::kBadHeader:
      return "bad_header";
    case DecodeResult::kUnsupportedLinkType:
      return "unsupported_link_type";
    case DecodeResult::kCount:
      break;
  }
  return "unknown";
}

namespace {

// One switch on the link type; each case is a thin call so the hot path stays short. Inlined
// into DecodePacket (no call of its own per packet); DecodeLinkType is its out-of-line copy.
[[gnu::always_inline]] inline DecodeResult Dispatch(int link_type, const uint8_t* data,
                                                    size_t caplen, internal::DecodeContext* ctx) {
  switch (static_cast<LinkType>(link_type)) {
    case LinkType::kEthernet:
      return internal::DecodeEthernet(data, caplen, ctx);
    case LinkType::kLinuxSll:
      return internal::DecodeLinuxSll(data, caplen, ctx);
    case LinkType::kLinuxSll2:
      return internal::DecodeLinuxSll2(data, caplen, ctx);
    case LinkType::kRaw:
    case LinkType::kRawOpenBsd:
    case LinkType::kRawLinktype:
      return internal::DecodeIpByVersion(data, caplen, ctx);
    case LinkType::kIpv4:
      return internal::DecodeIpv4(data, caplen, ctx);
    case LinkType::kIpv6:
      return internal::DecodeIpv6(data, caplen, ctx);
    case LinkType::kNull:
    case LinkType::kLoop:
      return internal::DecodeNull(data, caplen, ctx);
    case LinkType::kNflog:
      return internal::DecodeNflog(data, caplen, ctx);
    case LinkType::kTokenRing:
      return internal::DecodeTokenRing(data, caplen, ctx);
    case LinkType::kArcnet:
      return internal::DecodeArcnet(data, caplen, ctx);
    case LinkType::kArcnetLinux:
      return internal::DecodeArcnetLinux(data, caplen, ctx);
    case LinkType::kSlip:
      return DecodeAfterFixedHeader(kSlipHeaderBytes, /*ethernet=*/false, data, caplen, ctx);
    case LinkType::kPpp:
      return internal::DecodePpp(data, caplen, ctx);
    case LinkType::kPppSerial:
      return internal::DecodePppSerial(data, caplen, ctx);
    case LinkType::kPppEther:
      return internal::DecodePppoe(data, caplen, ctx);
    case LinkType::kCiscoHdlc:
      return internal::DecodeCiscoHdlc(data, caplen, ctx);
    case LinkType::kFddi:
      return internal::DecodeFddi(data, caplen, ctx);
    case LinkType::kAtmRfc1483:
      return internal::DecodeLlc(data, caplen, ctx);
    case LinkType::kSunAtm:
      return DecodeSunAtm(data, caplen, ctx);
    case LinkType::kIeee80211:
      return internal::DecodeIeee80211(data, caplen, /*data_pad=*/false, ctx);
    case LinkType::kIeee80211Radiotap:
      return internal::DecodeRadiotap(data, caplen, ctx);
    case LinkType::kPpi:
      return internal::DecodePpi(data, caplen, ctx);
    case LinkType::kEnc:
      return DecodeAfterFixedHeader(kEncHeaderBytes, /*ethernet=*/false, data, caplen, ctx);
    case LinkType::kPflog:
      return internal::DecodePflog(data, caplen, ctx);
    case LinkType::kIpoib:
      return internal::DecodeIpoib(data, caplen, ctx);
    case LinkType::kNetAnalyzer:
      return DecodeAfterFixedHeader(kNetAnalyzerHeaderBytes, /*ethernet=*/true, data, caplen, ctx);
    case LinkType::kNetAnalyzerTransparent:
      return DecodeAfterFixedHeader(kNetAnalyzerTransparentHeaderBytes, /*ethernet=*/true, data,
                                    caplen, ctx);
    case LinkType::kEthernetMpacket:
      return internal::DecodeEthernetMpacket(data, caplen, ctx);
    case LinkType::kDsaTagDsa:
      return internal::DecodeDsa(kDsaTagBytes, data, caplen, ctx);
    case LinkType::kDsaTagEdsa:
      return internal::DecodeDsa(kEdsaTagBytes, data, caplen, ctx);
  }
  return DecodeResult::kUnsupportedLinkType;
}

}  // namespace

DecodeResult DecodePacket(int link_type, const uint8_t* data, size_t caplen,
                          const DecodeOptions& options, SynAckEvent* out, TunnelInfo* tunnel) {
  if (data == nullptr) {
    caplen = 0;
  }
  internal::DecodeContext ctx{
      .event = out, .max_tunnel_depth = options.decapsulate ? kMaxTunnelDepth : 0, .tunnel = {}};
  const DecodeResult result = Dispatch(link_type, data, caplen, &ctx);
  if (tunnel != nullptr) {
    *tunnel = ctx.tunnel;
  }
  return result;
}

DecodeResult DecodePacket(int link_type, const uint8_t* data, size_t caplen, SynAckEvent* out) {
  if (data == nullptr) {
    caplen = 0;
  }
  internal::DecodeContext ctx{.event = out, .max_tunnel_depth = kMaxTunnelDepth, .tunnel = {}};
  return Dispatch(link_type, data, caplen, &ctx);
}

namespace internal {

DecodeResult DecodeLinkType(int link_type, const uint8_t* data, size_t caplen, DecodeContext* ctx) {
  return Dispatch(link_type, data, caplen, ctx);
}

}  // namespace internal

uint64_t DecodeStats::Total() const {
  uint64_t total = 0;
  for (uint64_t count : by_result) {
    total += count;
  }
  return total;
}

void DecodeStats::MergeFrom(const DecodeStats& other) {
  for (size_t i = 0; i < by_result.size(); ++i) {
    by_result[i] += other.by_result[i];
  }
  tunnelled += other.tunnelled;
  tunnelled_synacks += other.tunnelled_synacks;
  tunnelled_malformed += other.tunnelled_malformed;
  tunnels_too_deep += other.tunnels_too_deep;
}

}  // namespace synmap::common
