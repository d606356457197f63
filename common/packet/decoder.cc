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

DecodeResult DecodeSunAtm(const uint8_t* p, size_t n, SynAckEvent* out) {
  if (n < kSunAtmHeaderBytes) {
    return DecodeResult::kTruncated;
  }
  return internal::DecodeLlc(p + kSunAtmHeaderBytes, n - kSunAtmHeaderBytes, out);
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

// One switch on the link type; each case is a thin call so the hot path stays short.
DecodeResult DecodePacket(int link_type, const uint8_t* data, size_t caplen, SynAckEvent* out) {
  if (data == nullptr) {
    caplen = 0;
  }
  switch (static_cast<LinkType>(link_type)) {
    case LinkType::kEthernet:
      return internal::DecodeEthernet(data, caplen, out);
    case LinkType::kLinuxSll:
      return internal::DecodeLinuxSll(data, caplen, out);
    case LinkType::kLinuxSll2:
      return internal::DecodeLinuxSll2(data, caplen, out);
    case LinkType::kRaw:
    case LinkType::kRawOpenBsd:
    case LinkType::kRawLinktype:
      return internal::DecodeIpByVersion(data, caplen, out);
    case LinkType::kIpv4:
      return internal::DecodeIpv4(data, caplen, out);
    case LinkType::kIpv6:
      return internal::DecodeIpv6(data, caplen, out);
    case LinkType::kNull:
    case LinkType::kLoop:
      return internal::DecodeNull(data, caplen, out);
    case LinkType::kNflog:
      return internal::DecodeNflog(data, caplen, out);
    case LinkType::kTokenRing:
      return internal::DecodeTokenRing(data, caplen, out);
    case LinkType::kArcnet:
      return internal::DecodeArcnet(data, caplen, out);
    case LinkType::kArcnetLinux:
      return internal::DecodeArcnetLinux(data, caplen, out);
    case LinkType::kSlip:
      return DecodeAfterFixedHeader(kSlipHeaderBytes, /*ethernet=*/false, data, caplen, out);
    case LinkType::kPpp:
      return internal::DecodePpp(data, caplen, out);
    case LinkType::kPppSerial:
      return internal::DecodePppSerial(data, caplen, out);
    case LinkType::kPppEther:
      return internal::DecodePppoe(data, caplen, out);
    case LinkType::kCiscoHdlc:
      return internal::DecodeCiscoHdlc(data, caplen, out);
    case LinkType::kFddi:
      return internal::DecodeFddi(data, caplen, out);
    case LinkType::kAtmRfc1483:
      return internal::DecodeLlc(data, caplen, out);
    case LinkType::kSunAtm:
      return DecodeSunAtm(data, caplen, out);
    case LinkType::kIeee80211:
      return internal::DecodeIeee80211(data, caplen, /*data_pad=*/false, out);
    case LinkType::kIeee80211Radiotap:
      return internal::DecodeRadiotap(data, caplen, out);
    case LinkType::kPpi:
      return internal::DecodePpi(data, caplen, out);
    case LinkType::kEnc:
      return DecodeAfterFixedHeader(kEncHeaderBytes, /*ethernet=*/false, data, caplen, out);
    case LinkType::kPflog:
      return internal::DecodePflog(data, caplen, out);
    case LinkType::kIpoib:
      return internal::DecodeIpoib(data, caplen, out);
    case LinkType::kNetAnalyzer:
      return DecodeAfterFixedHeader(kNetAnalyzerHeaderBytes, /*ethernet=*/true, data, caplen, out);
    case LinkType::kNetAnalyzerTransparent:
      return DecodeAfterFixedHeader(kNetAnalyzerTransparentHeaderBytes, /*ethernet=*/true, data,
                                    caplen, out);
    case LinkType::kEthernetMpacket:
      return internal::DecodeEthernetMpacket(data, caplen, out);
    case LinkType::kDsaTagDsa:
      return internal::DecodeDsa(kDsaTagBytes, data, caplen, out);
    case LinkType::kDsaTagEdsa:
      return internal::DecodeDsa(kEdsaTagBytes, data, caplen, out);
  }
  return DecodeResult::kUnsupportedLinkType;
}

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
}

}  // namespace synmap::common
