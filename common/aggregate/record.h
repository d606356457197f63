#pragma once

#include <cstdint>
#include <vector>

#include "common/aggregate/saturating.h"
#include "common/packet/ip_address.h"

namespace synmap::common {

// The aggregation key: who offered which service to whom.
struct RecordKey {
  IpAddress client;
  IpAddress server;
  uint16_t server_port = 0;

  friend bool operator==(const RecordKey&, const RecordKey&) = default;
  friend auto operator<=>(const RecordKey&, const RecordKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const RecordKey& k) {
    return H::combine(std::move(h), k.client, k.server, k.server_port);
  }
};

// Counts for one key over some time span. Merging two records of the same key is
// associative and commutative (sums, min, max), which the spool and the store rely on.
struct Record {
  RecordKey key;
  uint64_t packets = 0;       // Every SYN/ACK, retransmissions included.
  uint64_t connections = 0;   // Distinct handshakes (4-tuple + ISN) within the window.
  int64_t first_seen_ns = 0;  // Unix ns of the earliest SYN/ACK.
  int64_t last_seen_ns = 0;   // Unix ns of the latest SYN/ACK.

  void MergeFrom(const Record& other) {
    packets = SaturatingAdd(packets, other.packets);
    connections = SaturatingAdd(connections, other.connections);
    if (other.first_seen_ns < first_seen_ns) first_seen_ns = other.first_seen_ns;
    if (other.last_seen_ns > last_seen_ns) last_seen_ns = other.last_seen_ns;
  }
  friend bool operator==(const Record&, const Record&) = default;
};

// What capture saw in a window besides the records: for coverage reports.
struct CaptureStats {
  uint64_t packets_received = 0;    // Packets handed to the decoder.
  uint64_t kernel_drops = 0;        // pcap_stats ps_drop delta (buffer full).
  uint64_t interface_drops = 0;     // pcap_stats ps_ifdrop delta.
  uint64_t synacks = 0;             // SYN/ACKs counted (packets).
  uint64_t retransmissions = 0;     // SYN/ACKs that added a packet but no connection.
  uint64_t malformed = 0;           // Truncated or bad headers.
  uint64_t handshakes_evicted = 0;  // Handshake memory entries evicted early at its bound.

  void MergeFrom(const CaptureStats& o) {
    // Saturating: on the collector these are sums of what sensors reported.
    packets_received = SaturatingAdd(packets_received, o.packets_received);
    kernel_drops = SaturatingAdd(kernel_drops, o.kernel_drops);
    interface_drops = SaturatingAdd(interface_drops, o.interface_drops);
    synacks = SaturatingAdd(synacks, o.synacks);
    retransmissions = SaturatingAdd(retransmissions, o.retransmissions);
    malformed = SaturatingAdd(malformed, o.malformed);
    handshakes_evicted = SaturatingAdd(handshakes_evicted, o.handshakes_evicted);
  }
  friend bool operator==(const CaptureStats&, const CaptureStats&) = default;
};

// One connection counted in a batch, for counting a handshake seen by several sensors once
// (common/batch/handshake.h): a fingerprint of its client port and server ISN, and the capture
// time of its first SYN/ACK in whole milliseconds after the batch's start.
struct Handshake {
  uint32_t fingerprint = 0;
  uint32_t offset_ms = 0;
  friend bool operator==(const Handshake&, const Handshake&) = default;
};

// One closed aggregation window: [start_ns, end_ns) of capture time, records sorted by key.
struct Batch {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  std::vector<Record> records;
  CaptureStats stats;
  // Empty (not sent, or lost in a merge), or one per connection of `records`, in record order:
  // the first records[0].connections belong to records[0], and so on.
  std::vector<Handshake> handshakes;

  friend bool operator==(const Batch&, const Batch&) = default;
};

}  // namespace synmap::common
