#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/types/span.h"
#include "common/packet/ip_address.h"

namespace synmap::bench {

using MacAddress = std::array<uint8_t, 6>;

// Ethernet addressing of one frame and its optional VLAN tags.
struct LinkHeader {
  MacAddress src_mac{};
  MacAddress dst_mac{};
  uint16_t outer_vlan = 0;  // 0 = untagged; else an 802.1Q tag, or the 802.1ad S-tag with inner.
  uint16_t inner_vlan = 0;  // 0 = at most one tag; else QinQ (0x88a8 outer, 0x8100 inner).
};

// Addresses and ports of one TCP or UDP packet, source to destination (same family).
struct Flow {
  common::IpAddress src;
  common::IpAddress dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
};

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpEce = 0x40;

// One TCP segment's header fields and payload size.
struct TcpSegment {
  uint8_t flags = kTcpAck;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 64240;
  bool handshake_options = false;  // MSS, SACK-permitted, timestamps, window scale (20 bytes).
  uint16_t payload_bytes = 0;      // At most FrameBuilder::kMaxPayloadBytes.
};

// Builds one Ethernet frame at a time: Ethernet (+ 802.1Q / QinQ tags), IPv4 or IPv6, then TCP,
// UDP or ARP, with consistent lengths and valid checksums, zero-padded to the 60-byte Ethernet
// minimum (the IP length excludes the padding). Payload bytes are a fixed pattern.
// Thread-compatible; frame() stays valid until the next Build call.
class FrameBuilder {
 public:
  static constexpr size_t kMaxPayloadBytes = 1460;

  FrameBuilder();

  void BuildTcp(const LinkHeader& link, const Flow& flow, const TcpSegment& segment);
  // A UDP datagram carrying `payload` (at most kMaxPayloadBytes).
  void BuildUdp(const LinkHeader& link, const Flow& flow, absl::Span<const uint8_t> payload);
  // A DNS query for `name` (dotted, ASCII, short labels), or its response with one A record
  // `answer_v4` when `response` is set; over UDP to or from port 53 as `flow` says.
  void BuildDns(const LinkHeader& link, const Flow& flow, uint16_t id, const std::string& name,
                bool response, const common::IpAddress& answer_v4);
  // An ARP request (`reply` false; target MAC zero) or reply between two IPv4 addresses.
  void BuildArp(const LinkHeader& link, bool reply, const common::IpAddress& sender,
                const common::IpAddress& target);

  absl::Span<const uint8_t> frame() const { return absl::MakeConstSpan(buf_.data(), size_); }

 private:
  // Writes the Ethernet header and tags; returns the offset of the network header.
  size_t WriteLink(const LinkHeader& link, uint16_t ethertype);
  // Writes the IPv4/IPv6 header at `at` for an `l4_bytes` long payload; returns its end.
  size_t WriteIp(size_t at, const Flow& flow, uint8_t protocol, size_t l4_bytes);
  // Checksum of the L4 segment at `at` (`l4_bytes` long) with the pseudo-header of `flow`.
  uint16_t L4Checksum(size_t at, size_t l4_bytes, const Flow& flow, uint8_t protocol) const;
  void Finish(size_t end);

  std::array<uint8_t, 1600> buf_{};
  std::array<uint8_t, kMaxPayloadBytes> pattern_{};
  size_t size_ = 0;
  uint16_t ip_id_ = 0;
};

}  // namespace synmap::bench
