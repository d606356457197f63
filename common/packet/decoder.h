#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/packet/synack_event.h"

namespace synmap::common {

// Link-layer types we decode, by their libpcap DLT_/LINKTYPE_ number as pcap_datalink()
// returns it on Linux. Anything else decodes to DecodeResult::kUnsupportedLinkType.
enum class LinkType : int {
  kNull = 0,          // DLT_NULL: BSD loopback, 4-byte host-order family.
  kEthernet = 1,      // DLT_EN10MB.
  kRaw = 12,          // DLT_RAW on Linux (LINKTYPE_RAW is 101); raw IPv4 or IPv6.
  kLoop = 108,        // DLT_LOOP: like kNull but network-order family.
  kLinuxSll = 113,    // DLT_LINUX_SLL: Linux cooked v1.
  kRawLinktype = 101, // LINKTYPE_RAW as found in files.
  kIpv4 = 228,        // DLT_IPV4.
  kIpv6 = 229,        // DLT_IPV6.
  kLinuxSll2 = 276,   // DLT_LINUX_SLL2: Linux cooked v2.
};

// Why a packet is or is not a counted SYN/ACK. kTruncated and kBadHeader are "malformed".
enum class DecodeResult : uint8_t {
  kSynAck = 0,            // A TCP segment with SYN and ACK set: `out` is filled.
  kNotSynAck,             // TCP, but not SYN+ACK.
  kNotTcp,                // IP, but not TCP (UDP, ICMP, ...).
  kNotIp,                 // Link layer carries something else (ARP, LLDP, ...).
  kFragment,              // A non-first IP fragment: no TCP header to read.
  kTruncated,             // Captured bytes end before the headers we need.
  kBadHeader,             // A header's fields are impossible (IHL < 5, data offset < 5, ...).
  kUnsupportedLinkType,   // A link type this decoder does not know.
  kCount,
};

// Stable lowercase name for a result ("synack", "truncated", ...), for stats output.
const char* DecodeResultName(DecodeResult result);

// Decodes one captured frame. Reads at most `caplen` bytes from `data`, whatever the headers
// claim. On kSynAck fills `out` (all fields but timestamp_ns, which the caller sets); on any
// other result `out` is unspecified. Thread-safe, allocation-free.
DecodeResult DecodePacket(int link_type, const uint8_t* data, size_t caplen, SynAckEvent* out);

// Counts decode results. Plain data, thread-compatible.
struct DecodeStats {
  std::array<uint64_t, static_cast<size_t>(DecodeResult::kCount)> by_result{};

  void Count(DecodeResult r) { ++by_result[static_cast<size_t>(r)]; }
  uint64_t Get(DecodeResult r) const { return by_result[static_cast<size_t>(r)]; }
  uint64_t Total() const;
  // Truncated plus bad header.
  uint64_t Malformed() const { return Get(DecodeResult::kTruncated) + Get(DecodeResult::kBadHeader); }
  void MergeFrom(const DecodeStats& other);
};

}  // namespace synmap::common
