#include "bench/frame_builder.h"

#include <cstring>

namespace synmap::bench {
namespace {

constexpr size_t kMacPairBytes = 12;  // Destination and source MAC.
constexpr size_t kVlanTagBytes = 4;
constexpr size_t kIpv4HeaderBytes = 20;
constexpr size_t kIpv6HeaderBytes = 40;
constexpr size_t kTcpHeaderBytes = 20;
constexpr size_t kTcpHandshakeOptionBytes = 20;
constexpr size_t kUdpHeaderBytes = 8;
constexpr size_t kArpBytes = 28;
constexpr size_t kMinFrameBytes = 60;  // Ethernet minimum without the FCS.
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Put32(uint8_t* p, uint32_t v) {
  Put16(p, static_cast<uint16_t>(v >> 16));
  Put16(p + 2, static_cast<uint16_t>(v));
}

// Adds big-endian 16-bit words of [p, p + n) to a ones' complement running sum.
uint32_t SumWords(const uint8_t* p, size_t n, uint32_t sum) {
  for (size_t i = 0; i + 1 < n; i += 2) {
    sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  }
  if (n % 2 == 1) {
    sum += static_cast<uint32_t>(p[n - 1] << 8);
  }
  return sum;
}
uint16_t Fold(uint32_t sum) {
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum);
}

}  // namespace

FrameBuilder::FrameBuilder() {
  // A fixed, incompressible-looking payload (an LCG), the same in every run.
  uint32_t x = 12345;
  for (uint8_t& b : pattern_) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>(x >> 24);
  }
}

size_t FrameBuilder::WriteLink(const LinkHeader& link, uint16_t ethertype) {
  uint8_t* p = buf_.data();
  std::memcpy(p, link.dst_mac.data(), 6);
  std::memcpy(p + 6, link.src_mac.data(), 6);
  size_t at = kMacPairBytes;
  if (link.outer_vlan != 0 && link.inner_vlan != 0) {
    Put16(p + at, 0x88a8);
    Put16(p + at + 2, link.outer_vlan & 0x0fff);
    Put16(p + at + 4, 0x8100);
    Put16(p + at + 6, link.inner_vlan & 0x0fff);
    at += 2 * kVlanTagBytes;
  } else if (link.outer_vlan != 0) {
    Put16(p + at, 0x8100);
    Put16(p + at + 2, link.outer_vlan & 0x0fff);
    at += kVlanTagBytes;
  }
  Put16(p + at, ethertype);
  return at + 2;
}

size_t FrameBuilder::WriteIp(size_t at, const Flow& flow, uint8_t protocol, size_t l4_bytes) {
  uint8_t* p = buf_.data() + at;
  if (flow.src.is_v4()) {
    p[0] = 0x45;
    p[1] = 0;
    Put16(p + 2, static_cast<uint16_t>(kIpv4HeaderBytes + l4_bytes));
    Put16(p + 4, ip_id_++);
    Put16(p + 6, 0x4000);  // Don't fragment.
    p[8] = 64;
    p[9] = protocol;
    Put16(p + 10, 0);
    std::memcpy(p + 12, flow.src.bytes.data(), 4);
    std::memcpy(p + 16, flow.dst.bytes.data(), 4);
    Put16(p + 10, Fold(SumWords(p, kIpv4HeaderBytes, 0)));
    return at + kIpv4HeaderBytes;
  }
  Put32(p, 0x60000000);
  Put16(p + 4, static_cast<uint16_t>(l4_bytes));
  p[6] = protocol;
  p[7] = 64;
  std::memcpy(p + 8, flow.src.bytes.data(), 16);
  std::memcpy(p + 24, flow.dst.bytes.data(), 16);
  return at + kIpv6HeaderBytes;
}

uint16_t FrameBuilder::L4Checksum(size_t at, size_t l4_bytes, const Flow& flow,
                                  uint8_t protocol) const {
  uint32_t sum = SumWords(flow.src.bytes.data(), flow.src.length, 0);
  sum = SumWords(flow.dst.bytes.data(), flow.dst.length, sum);
  sum += protocol;
  sum += static_cast<uint32_t>(l4_bytes >> 16) + static_cast<uint32_t>(l4_bytes & 0xffff);
  uint16_t checksum = Fold(SumWords(buf_.data() + at, l4_bytes, sum));
  if (protocol == kProtoUdp && checksum == 0) {
    checksum = 0xffff;
  }
  return checksum;
}

void FrameBuilder::Finish(size_t end) {
  if (end < kMinFrameBytes) {
    std::memset(buf_.data() + end, 0, kMinFrameBytes - end);
    end = kMinFrameBytes;
  }
  size_ = end;
}

void FrameBuilder::BuildTcp(const LinkHeader& link, const Flow& flow, const TcpSegment& segment) {
  const size_t options = segment.handshake_options ? kTcpHandshakeOptionBytes : 0;
  const size_t payload = std::min<size_t>(segment.payload_bytes, kMaxPayloadBytes);
  const size_t l4_bytes = kTcpHeaderBytes + options + payload;
  size_t at = WriteLink(link, flow.src.is_v4() ? 0x0800 : 0x86dd);
  at = WriteIp(at, flow, kProtoTcp, l4_bytes);
  uint8_t* p = buf_.data() + at;
  Put16(p, flow.src_port);
  Put16(p + 2, flow.dst_port);
  Put32(p + 4, segment.seq);
  Put32(p + 8, segment.ack);
  p[12] = static_cast<uint8_t>(((kTcpHeaderBytes + options) / 4) << 4);
  p[13] = segment.flags;
  Put16(p + 14, segment.window);
  Put16(p + 16, 0);
  Put16(p + 18, 0);
  if (options != 0) {
    uint8_t* o = p + kTcpHeaderBytes;
    const uint8_t handshake[] = {2, 4,  0x05, 0xb4,                    // MSS 1460
                                 4, 2,                                 // SACK permitted
                                 8, 10, 0,    0,    0, 0, 0, 0, 0, 0,  // timestamps
                                 1,                                    // NOP
                                 3, 3,  7};                            // window scale 7
    std::memcpy(o, handshake, sizeof(handshake));
    Put32(o + 8, segment.seq ^ 0x5a5a5a5a);  // TSval: any value, derived from the segment.
  }
  std::memcpy(p + kTcpHeaderBytes + options, pattern_.data(), payload);
  Put16(p + 16, L4Checksum(at, l4_bytes, flow, kProtoTcp));
  Finish(at + l4_bytes);
}

void FrameBuilder::BuildUdp(const LinkHeader& link, const Flow& flow,
                            absl::Span<const uint8_t> payload) {
  const size_t payload_bytes = std::min(payload.size(), kMaxPayloadBytes);
  const size_t l4_bytes = kUdpHeaderBytes + payload_bytes;
  size_t at = WriteLink(link, flow.src.is_v4() ? 0x0800 : 0x86dd);
  at = WriteIp(at, flow, kProtoUdp, l4_bytes);
  uint8_t* p = buf_.data() + at;
  Put16(p, flow.src_port);
  Put16(p + 2, flow.dst_port);
  Put16(p + 4, static_cast<uint16_t>(l4_bytes));
  Put16(p + 6, 0);
  if (payload_bytes != 0) {
    std::memcpy(p + kUdpHeaderBytes, payload.data(), payload_bytes);
  }
  Put16(p + 6, L4Checksum(at, l4_bytes, flow, kProtoUdp));
  Finish(at + l4_bytes);
}

void FrameBuilder::BuildDns(const LinkHeader& link, const Flow& flow, uint16_t id,
                            const std::string& name, bool response,
                            const common::IpAddress& answer_v4) {
  std::array<uint8_t, 512> msg{};
  Put16(&msg[0], id);
  Put16(&msg[2], response ? 0x8180 : 0x0100);  // Standard query / response, RD (+RA).
  Put16(&msg[4], 1);
  Put16(&msg[6], response ? 1 : 0);
  size_t n = 12;
  size_t label_start = n++;
  for (char c : name.substr(0, 200)) {
    if (c == '.') {
      msg[label_start] = static_cast<uint8_t>(n - label_start - 1);
      label_start = n++;
    } else {
      msg[n++] = static_cast<uint8_t>(c);
    }
  }
  msg[label_start] = static_cast<uint8_t>(n - label_start - 1);
  msg[n++] = 0;
  Put16(&msg[n], 1);      // QTYPE A
  Put16(&msg[n + 2], 1);  // QCLASS IN
  n += 4;
  if (response) {
    const uint8_t answer[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4};  // A IN 3600
    std::memcpy(&msg[n], answer, sizeof(answer));
    n += sizeof(answer);
    std::memcpy(&msg[n], answer_v4.bytes.data(), 4);
    n += 4;
  }
  BuildUdp(link, flow, absl::MakeConstSpan(msg.data(), n));
}

void FrameBuilder::BuildArp(const LinkHeader& link, bool reply, const common::IpAddress& sender,
                            const common::IpAddress& target) {
  const size_t at = WriteLink(link, 0x0806);
  uint8_t* p = buf_.data() + at;
  Put16(p, 1);  // Ethernet
  Put16(p + 2, 0x0800);
  p[4] = 6;
  p[5] = 4;
  Put16(p + 6, reply ? 2 : 1);
  std::memcpy(p + 8, link.src_mac.data(), 6);
  std::memcpy(p + 14, sender.bytes.data(), 4);
  if (reply) {
    std::memcpy(p + 18, link.dst_mac.data(), 6);
  } else {
    std::memset(p + 18, 0, 6);
  }
  std::memcpy(p + 24, target.bytes.data(), 4);
  Finish(at + kArpBytes);
}

}  // namespace synmap::bench
