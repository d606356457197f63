#include "tests/testing/packet_builder.h"

#include <cstring>
#include <utility>

#include "common/log/log.h"
#include "common/packet/ip_address.h"

namespace synmap::testing {
namespace {

using Kind = internal::LayerKind;
using internal::Layer;

constexpr uint16_t kOpaqueEthertype = 0x88b5;  // IEEE local experimental.
constexpr uint8_t kOpaqueIpProtocol = 253;     // RFC 3692 experimental.
constexpr uint8_t kSnapHeader[] = {0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00};

void Put8(std::vector<uint8_t>& v, uint32_t x) { v.push_back(static_cast<uint8_t>(x)); }
void Put16(std::vector<uint8_t>& v, uint32_t x) {
  Put8(v, x >> 8);
  Put8(v, x);
}
void Put32(std::vector<uint8_t>& v, uint32_t x) {
  Put16(v, x >> 16);
  Put16(v, x);
}
void PutLe16(std::vector<uint8_t>& v, uint32_t x) {
  Put8(v, x);
  Put8(v, x >> 8);
}
void PutLe32(std::vector<uint8_t>& v, uint32_t x) {
  PutLe16(v, x);
  PutLe16(v, x >> 16);
}
template <typename T>
void PutHost(std::vector<uint8_t>& v, T x) {
  uint8_t raw[sizeof(T)];
  std::memcpy(raw, &x, sizeof(T));
  v.insert(v.end(), raw, raw + sizeof(T));
}
void PutBytes(std::vector<uint8_t>& v, const uint8_t* p, size_t n) { v.insert(v.end(), p, p + n); }
void PutBytes(std::vector<uint8_t>& v, const std::vector<uint8_t>& bytes) {
  v.insert(v.end(), bytes.begin(), bytes.end());
}
void PutZeros(std::vector<uint8_t>& v, size_t n) { v.insert(v.end(), n, 0); }
void PutMac(std::vector<uint8_t>& v, uint8_t last) {
  const uint8_t mac[] = {0x02, 0x00, 0x00, 0x00, 0x00, last};
  PutBytes(v, mac, sizeof(mac));
}
void PutSnap(std::vector<uint8_t>& v, uint16_t ethertype) {
  PutBytes(v, kSnapHeader, sizeof(kSnapHeader));
  Put16(v, ethertype);
}

std::vector<uint8_t> ParseAddress(absl::string_view text, size_t want_bytes) {
  absl::StatusOr<common::IpAddress> parsed = common::IpAddress::Parse(text);
  SYNMAP_CHECK(parsed.ok() && parsed->length == want_bytes)
      << "packet_builder_bad_address text=" << std::string(text);
  const absl::string_view raw = parsed->Raw();
  return std::vector<uint8_t>(raw.begin(), raw.end());
}

uint16_t EthertypeOf(const Layer* next) {
  if (next == nullptr) {
    return kOpaqueEthertype;
  }
  switch (next->kind) {
    case Kind::kIpv4:
      return 0x0800;
    case Kind::kIpv6:
      return 0x86dd;
    case Kind::kVlan:
      return static_cast<uint16_t>(next->b);
    case Kind::kVnTag:
      return 0x8926;
    case Kind::kPbb:
      return 0x88e7;
    case Kind::kMpls:
      return 0x8847;
    case Kind::kPppoe:
      return 0x8864;
    case Kind::kArp:
      return 0x0806;
    default:
      return kOpaqueEthertype;
  }
}

uint8_t IpProtocolOf(const Layer* next) {
  if (next == nullptr) {
    return 59;  // No next header.
  }
  switch (next->kind) {
    case Kind::kTcp:
      return 6;
    case Kind::kUdp:
      return 17;
    case Kind::kIpv6HopByHop:
      return 0;
    case Kind::kIpv6Routing:
      return 43;
    case Kind::kIpv6Fragment:
      return 44;
    case Kind::kIpv6DestinationOptions:
      return 60;
    case Kind::kAh:
      return 51;
    case Kind::kIpv4:
      return 4;
    case Kind::kIpv6:
      return 41;
    case Kind::kBytes:
      return next->b != 0 ? static_cast<uint8_t>(next->a) : kOpaqueIpProtocol;
    default:
      return kOpaqueIpProtocol;
  }
}

uint16_t PppProtocolOf(const Layer* next) {
  if (next != nullptr && next->kind == Kind::kIpv4) {
    return 0x0021;
  }
  if (next != nullptr && next->kind == Kind::kIpv6) {
    return 0x0057;
  }
  return 0xc021;  // LCP.
}

bool IsIpv6(const Layer* next) { return next != nullptr && next->kind == Kind::kIpv6; }

int DltOf(const Layer* layer) {
  if (layer == nullptr) {
    return 1;
  }
  switch (layer->kind) {
    case Kind::kPppoe:
      return 51;
    case Kind::kLinuxSll:
      return 113;
    case Kind::kLinuxSll2:
      return 276;
    case Kind::kNull:
      return 0;
    case Kind::kLoop:
      return 108;
    case Kind::kNflog:
      return 239;
    case Kind::kArcnetLinux:
      return 129;
    case Kind::kIpoib:
      return 242;
    case Kind::kFddi:
      return 10;
    case Kind::kPpp:
      return 9;
    case Kind::kCiscoHdlc:
      return 104;
    case Kind::kIeee80211:
      return 105;
    case Kind::kRadiotap:
      return 127;
    case Kind::kPpi:
      return 192;
    case Kind::kLink:
      return static_cast<int>(layer->a);
    case Kind::kIpv4:
    case Kind::kIpv6:
      return 12;
    default:
      return 1;
  }
}

uint16_t Ipv4HeaderChecksum(const uint8_t* header, size_t bytes) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < bytes; i += 2) {
    sum += static_cast<uint32_t>(header[i] << 8 | header[i + 1]);
  }
  while ((sum >> 16) != 0) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> Ipv6Extension(uint8_t next, size_t bytes) {
  std::vector<uint8_t> h;
  Put8(h, next);
  Put8(h, bytes / 8 - 1);
  PutZeros(h, bytes - 2);  // Pad1 options; a type-0 routing header with no segments left.
  return h;
}

Layer MakeLayer(Kind kind, uint32_t a, uint32_t b, uint32_t c, std::vector<uint8_t> src = {},
                std::vector<uint8_t> dst = {}) {
  Layer layer;
  layer.kind = kind;
  layer.a = a;
  layer.b = b;
  layer.c = c;
  layer.src = std::move(src);
  layer.dst = std::move(dst);
  return layer;
}

}  // namespace

PacketBuilder& PacketBuilder::Add(Layer layer) {
  layers_.push_back(std::move(layer));
  return *this;
}

PacketBuilder& PacketBuilder::Ethernet() { return Add(MakeLayer(Kind::kEthernet, 0, 0, 0)); }
PacketBuilder& PacketBuilder::Ethernet8023Snap() {
  return Add(MakeLayer(Kind::kEthernet8023Snap, 0, 0, 0));
}
PacketBuilder& PacketBuilder::Vlan(uint16_t vlan_id, uint16_t tpid) {
  return Add(MakeLayer(Kind::kVlan, vlan_id, tpid, 0));
}
PacketBuilder& PacketBuilder::VnTag() { return Add(MakeLayer(Kind::kVnTag, 0, 0, 0)); }
PacketBuilder& PacketBuilder::Pbb(uint32_t isid) { return Add(MakeLayer(Kind::kPbb, isid, 0, 0)); }
PacketBuilder& PacketBuilder::Mpls(uint32_t label) {
  return Add(MakeLayer(Kind::kMpls, label, 0, 0));
}
PacketBuilder& PacketBuilder::Pppoe(uint16_t session_id) {
  return Add(MakeLayer(Kind::kPppoe, session_id, 0, 0));
}
PacketBuilder& PacketBuilder::LinuxSll() { return Add(MakeLayer(Kind::kLinuxSll, 0, 0, 0)); }
PacketBuilder& PacketBuilder::LinuxSll2() { return Add(MakeLayer(Kind::kLinuxSll2, 0, 0, 0)); }
PacketBuilder& PacketBuilder::Null() { return Add(MakeLayer(Kind::kNull, 0, 0, 0)); }
PacketBuilder& PacketBuilder::NullFamily(uint32_t family) {
  return Add(MakeLayer(Kind::kNull, family, 1, 0));
}
PacketBuilder& PacketBuilder::Loop() { return Add(MakeLayer(Kind::kLoop, 0, 0, 0)); }
PacketBuilder& PacketBuilder::Nflog() { return Add(MakeLayer(Kind::kNflog, 0, 0, 0)); }
PacketBuilder& PacketBuilder::ArcnetLinux(bool rfc1051) {
  return Add(MakeLayer(Kind::kArcnetLinux, rfc1051 ? 1u : 0u, 0, 0));
}
PacketBuilder& PacketBuilder::Ipoib() { return Add(MakeLayer(Kind::kIpoib, 0, 0, 0)); }
PacketBuilder& PacketBuilder::Fddi() { return Add(MakeLayer(Kind::kFddi, 0, 0, 0)); }
PacketBuilder& PacketBuilder::Ppp() { return Add(MakeLayer(Kind::kPpp, 0, 0, 0)); }
PacketBuilder& PacketBuilder::CiscoHdlc() { return Add(MakeLayer(Kind::kCiscoHdlc, 0, 0, 0)); }
PacketBuilder& PacketBuilder::Ieee80211() { return Add(MakeLayer(Kind::kIeee80211, 0, 0, 0)); }
PacketBuilder& PacketBuilder::Radiotap() { return Add(MakeLayer(Kind::kRadiotap, 0, 0, 0)); }
PacketBuilder& PacketBuilder::Ppi() { return Add(MakeLayer(Kind::kPpi, 0, 0, 0)); }
PacketBuilder& PacketBuilder::Link(int link_type) {
  return Add(MakeLayer(Kind::kLink, static_cast<uint32_t>(link_type), 0, 0));
}
PacketBuilder& PacketBuilder::Bytes(std::vector<uint8_t> bytes) {
  return Add(MakeLayer(Kind::kBytes, 0, 0, 0, std::move(bytes), {}));
}
PacketBuilder& PacketBuilder::IpProtocolBytes(uint8_t ip_protocol, std::vector<uint8_t> bytes) {
  return Add(MakeLayer(Kind::kBytes, ip_protocol, 1, 0, std::move(bytes), {}));
}

PacketBuilder& PacketBuilder::Ipv4(absl::string_view src, absl::string_view dst,
                                   size_t option_bytes) {
  SYNMAP_CHECK(option_bytes % 4 == 0 && option_bytes <= 40) << "ipv4 option_bytes";
  return Add(MakeLayer(Kind::kIpv4, 0, static_cast<uint32_t>(option_bytes), 0, ParseAddress(src, 4),
                       ParseAddress(dst, 4)));
}
PacketBuilder& PacketBuilder::Ipv4Fragment(uint16_t offset_units, bool more_fragments) {
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
    if (it->kind == Kind::kIpv4) {
      it->a = offset_units;
      it->c = more_fragments ? 1 : 0;
      return *this;
    }
  }
  SYNMAP_CHECK(false) << "Ipv4Fragment() needs an Ipv4() layer before it";
  return *this;
}
PacketBuilder& PacketBuilder::Ipv6(absl::string_view src, absl::string_view dst) {
  return Add(MakeLayer(Kind::kIpv6, 0, 0, 0, ParseAddress(src, 16), ParseAddress(dst, 16)));
}
PacketBuilder& PacketBuilder::Ipv6HopByHop(size_t bytes) {
  SYNMAP_CHECK(bytes >= 8 && bytes % 8 == 0 && bytes <= 2048) << "extension header bytes";
  return Add(MakeLayer(Kind::kIpv6HopByHop, static_cast<uint32_t>(bytes), 0, 0));
}
PacketBuilder& PacketBuilder::Ipv6Routing(size_t bytes) {
  SYNMAP_CHECK(bytes >= 8 && bytes % 8 == 0 && bytes <= 2048) << "extension header bytes";
  return Add(MakeLayer(Kind::kIpv6Routing, static_cast<uint32_t>(bytes), 0, 0));
}
PacketBuilder& PacketBuilder::Ipv6DestinationOptions(size_t bytes) {
  SYNMAP_CHECK(bytes >= 8 && bytes % 8 == 0 && bytes <= 2048) << "extension header bytes";
  return Add(MakeLayer(Kind::kIpv6DestinationOptions, static_cast<uint32_t>(bytes), 0, 0));
}
PacketBuilder& PacketBuilder::Ipv6Fragment(uint16_t offset_units, bool more_fragments) {
  return Add(MakeLayer(Kind::kIpv6Fragment, offset_units, more_fragments ? 1u : 0u, 0));
}
PacketBuilder& PacketBuilder::Ah(size_t bytes) {
  SYNMAP_CHECK(bytes >= 12 && bytes % 4 == 0 && bytes <= 1028) << "ah bytes";
  return Add(MakeLayer(Kind::kAh, static_cast<uint32_t>(bytes), 0, 0));
}
PacketBuilder& PacketBuilder::Tcp(uint16_t src_port, uint16_t dst_port, uint8_t flags, uint32_t seq,
                                  uint8_t data_offset_words) {
  return Add(MakeLayer(Kind::kTcp, static_cast<uint32_t>(src_port << 16 | dst_port), flags, seq,
                       {data_offset_words}, {}));
}
PacketBuilder& PacketBuilder::Udp(uint16_t src_port, uint16_t dst_port) {
  return Add(MakeLayer(Kind::kUdp, static_cast<uint32_t>(src_port << 16 | dst_port), 0, 0));
}
PacketBuilder& PacketBuilder::Arp() { return Add(MakeLayer(Kind::kArp, 0, 0, 0)); }
PacketBuilder& PacketBuilder::Payload(std::vector<uint8_t> bytes) {
  return Add(MakeLayer(Kind::kPayload, 0, 0, 0, std::move(bytes), {}));
}

std::vector<uint8_t> PacketBuilder::Build() const {
  std::vector<uint8_t> frame;
  for (size_t i = layers_.size(); i-- > 0;) {
    frame = Encode(i, std::move(frame));
  }
  return frame;
}

int PacketBuilder::LinkType() const { return DltOf(layers_.empty() ? nullptr : &layers_.front()); }

std::vector<uint8_t> PacketBuilder::Encode(size_t i, std::vector<uint8_t> inner) const {
  switch (layers_[i].kind) {
    case Kind::kIpv4:
    case Kind::kIpv6:
    case Kind::kIpv6HopByHop:
    case Kind::kIpv6Routing:
    case Kind::kIpv6DestinationOptions:
    case Kind::kIpv6Fragment:
    case Kind::kAh:
    case Kind::kTcp:
    case Kind::kUdp:
    case Kind::kArp:
    case Kind::kPayload:
      return EncodeNetwork(i, std::move(inner));
    default:
      return EncodeLink(i, std::move(inner));
  }
}

std::vector<uint8_t> PacketBuilder::EncodeLink(size_t i, std::vector<uint8_t> inner) const {
  const Layer& l = layers_[i];
  const Layer* next = i + 1 < layers_.size() ? &layers_[i + 1] : nullptr;
  const uint16_t ethertype = EthertypeOf(next);
  std::vector<uint8_t> h;
  switch (l.kind) {
    case Kind::kEthernet:
      PutMac(h, 2);
      PutMac(h, 1);
      Put16(h, ethertype);
      break;
    case Kind::kEthernet8023Snap:
      PutMac(h, 2);
      PutMac(h, 1);
      Put16(h, 8 + inner.size());
      PutSnap(h, ethertype);
      break;
    case Kind::kVlan:
      Put16(h, l.a & 0x0fff);
      Put16(h, ethertype);
      break;
    case Kind::kVnTag:
      Put32(h, 0x80010002);
      Put16(h, ethertype);
      break;
    case Kind::kPbb:
      Put32(h, l.a & 0x00ffffff);
      PutMac(h, 4);
      PutMac(h, 3);
      Put16(h, ethertype);
      break;
    case Kind::kMpls: {
      const bool bottom = next == nullptr || next->kind != Kind::kMpls;
      Put32(h, (l.a & 0xfffff) << 12 | (bottom ? 0x100 : 0) | 64);
      break;
    }
    case Kind::kPppoe:
      Put8(h, 0x11);
      Put8(h, 0);
      Put16(h, l.a);
      Put16(h, 2 + inner.size());
      Put16(h, PppProtocolOf(next));
      break;
    case Kind::kLinuxSll:
      Put16(h, 0);
      Put16(h, 1);
      Put16(h, 6);
      PutMac(h, 1);
      PutZeros(h, 2);
      Put16(h, ethertype);
      break;
    case Kind::kLinuxSll2:
      Put16(h, ethertype);
      Put16(h, 0);
      Put32(h, 1);
      Put16(h, 1);
      Put8(h, 0);
      Put8(h, 6);
      PutMac(h, 1);
      PutZeros(h, 2);
      break;
    case Kind::kNull:
      PutHost<uint32_t>(h, l.b != 0 ? l.a : (IsIpv6(next) ? 24 : 2));
      break;
    case Kind::kLoop:
      Put32(h, IsIpv6(next) ? 24 : 2);
      break;
    case Kind::kNflog: {
      Put8(h, IsIpv6(next) ? 10 : 2);
      Put8(h, 0);
      Put16(h, 0);
      PutHost<uint16_t>(h, 8);  // NFULA_PACKET_HDR.
      PutHost<uint16_t>(h, 1);
      Put16(h, ethertype);
      Put8(h, 3);
      Put8(h, 0);
      PutHost<uint16_t>(h, static_cast<uint16_t>(4 + inner.size()));
      PutHost<uint16_t>(h, 9);
      PutBytes(h, inner);
      PutZeros(h, (4 - inner.size() % 4) % 4);
      return h;
    }
    case Kind::kArcnetLinux:
      Put8(h, 0x01);
      Put8(h, 0x02);
      Put16(h, 0);
      if (l.a != 0) {
        Put8(h, 0xf0);
      } else {
        Put8(h, IsIpv6(next) ? 0xc4 : 0xd4);
        Put8(h, 0);
        Put16(h, 1);
      }
      break;
    case Kind::kIpoib:
      PutZeros(h, 40);
      Put16(h, ethertype);
      Put16(h, 0);
      break;
    case Kind::kFddi:
      Put8(h, 0x50);
      PutMac(h, 2);
      PutMac(h, 1);
      PutSnap(h, ethertype);
      break;
    case Kind::kPpp:
      Put8(h, 0xff);
      Put8(h, 0x03);
      Put16(h, PppProtocolOf(next));
      break;
    case Kind::kCiscoHdlc:
      Put8(h, 0x0f);
      Put8(h, 0x00);
      Put16(h, ethertype);
      break;
    case Kind::kIeee80211:
      Put8(h, 0x08);  // Data frame, From DS.
      Put8(h, 0x02);
      Put16(h, 0);  // Duration.
      PutMac(h, 2);
      PutMac(h, 3);
      PutMac(h, 1);
      Put16(h, 0);
      PutSnap(h, ethertype);
      break;
    case Kind::kRadiotap:
      Put8(h, 0);
      Put8(h, 0);
      PutLe16(h, 8);
      PutLe32(h, 0);
      break;
    case Kind::kPpi:
      Put8(h, 0);
      Put8(h, 0);
      PutLe16(h, 8);
      PutLe32(h, static_cast<uint32_t>(DltOf(next)));
      break;
    case Kind::kBytes:
      PutBytes(h, l.src);
      break;
    default:
      break;
  }
  PutBytes(h, inner);
  return h;
}

std::vector<uint8_t> PacketBuilder::EncodeNetwork(size_t i, std::vector<uint8_t> inner) const {
  const Layer& l = layers_[i];
  const Layer* next = i + 1 < layers_.size() ? &layers_[i + 1] : nullptr;
  const uint8_t proto = IpProtocolOf(next);
  std::vector<uint8_t> h;
  switch (l.kind) {
    case Kind::kIpv4: {
      const size_t header_bytes = 20 + l.b;
      Put8(h, 0x40 | header_bytes / 4);
      Put8(h, 0);
      Put16(h, header_bytes + inner.size());
      Put16(h, 1);
      Put16(h, (l.c != 0 ? 0x2000 : 0x4000 * (l.a == 0)) | (l.a & 0x1fff));
      Put8(h, 64);
      Put8(h, proto);
      Put16(h, 0);
      PutBytes(h, l.src);
      PutBytes(h, l.dst);
      h.insert(h.end(), l.b, 0x01);  // NOP options.
      const uint16_t checksum = Ipv4HeaderChecksum(h.data(), h.size());
      h[10] = static_cast<uint8_t>(checksum >> 8);
      h[11] = static_cast<uint8_t>(checksum);
      break;
    }
    case Kind::kIpv6:
      Put32(h, 0x60000000);
      Put16(h, inner.size());
      Put8(h, proto);
      Put8(h, 64);
      PutBytes(h, l.src);
      PutBytes(h, l.dst);
      break;
    case Kind::kIpv6HopByHop:
    case Kind::kIpv6Routing:
    case Kind::kIpv6DestinationOptions:
      h = Ipv6Extension(proto, l.a);
      break;
    case Kind::kIpv6Fragment:
      Put8(h, proto);
      Put8(h, 0);
      Put16(h, (l.a & 0x1fff) << 3 | l.b);
      Put32(h, 0x1234);
      break;
    case Kind::kAh:
      Put8(h, proto);
      Put8(h, l.a / 4 - 2);
      Put16(h, 0);
      Put32(h, 0x100);
      Put32(h, 1);
      PutZeros(h, l.a - 12);
      break;
    case Kind::kTcp: {
      const uint8_t data_offset_words = l.src[0];
      Put32(h, l.a);
      Put32(h, l.c);
      Put32(h, (l.b & kTcpAck) != 0 ? 0x01020304 : 0);
      Put8(h, data_offset_words << 4);
      Put8(h, l.b);
      Put16(h, 65535);
      Put32(h, 0);
      if (data_offset_words > 5) {
        h.insert(h.end(), (data_offset_words - 5) * 4u, 0x01);  // NOP options.
      }
      break;
    }
    case Kind::kUdp:
      Put32(h, l.a);
      Put16(h, 8 + inner.size());
      Put16(h, 0);
      break;
    case Kind::kArp:
      Put16(h, 1);
      Put16(h, 0x0800);
      Put8(h, 6);
      Put8(h, 4);
      Put16(h, 1);
      PutMac(h, 1);
      Put32(h, 0xc0000201);
      PutZeros(h, 6);
      Put32(h, 0xc0000202);
      break;
    case Kind::kPayload:
      PutBytes(h, l.src);
      break;
    default:
      break;
  }
  PutBytes(h, inner);
  return h;
}

std::string PcapFileContents(int link_type, const std::vector<TimedFrame>& frames) {
  std::vector<uint8_t> file;
  PutHost<uint32_t>(file, 0xa1b23c4d);  // Nanosecond timestamps.
  PutHost<uint16_t>(file, 2);
  PutHost<uint16_t>(file, 4);
  PutHost<int32_t>(file, 0);
  PutHost<uint32_t>(file, 0);
  PutHost<uint32_t>(file, 262144);
  PutHost<uint32_t>(file, static_cast<uint32_t>(link_type));
  for (const TimedFrame& frame : frames) {
    PutHost<uint32_t>(file, static_cast<uint32_t>(frame.timestamp_ns / 1000000000));
    PutHost<uint32_t>(file, static_cast<uint32_t>(frame.timestamp_ns % 1000000000));
    PutHost<uint32_t>(file, static_cast<uint32_t>(frame.bytes.size()));
    PutHost<uint32_t>(file, static_cast<uint32_t>(frame.bytes.size()));
    PutBytes(file, frame.bytes);
  }
  return std::string(file.begin(), file.end());
}

}  // namespace synmap::testing
