#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/packet/ip_address.h"

namespace synmap::bench {

// One emitted SYN/ACK as the generator wrote it: server = source, client = destination.
struct SynAckFacts {
  common::IpAddress server;
  common::IpAddress client;
  uint16_t server_port = 0;
  uint16_t client_port = 0;
  uint32_t isn = 0;     // The server's initial sequence number.
  int64_t time_ns = 0;  // Capture time as written to the file (after rounding).
};

// Totals of a truth table.
struct TruthTotals {
  uint64_t packets = 0;
  uint64_t connections = 0;
  uint64_t keys = 0;
};

// The exact expected summary of a generated capture, counted from what the generator wrote and
// deliberately not with common/aggregate, so that it can check it. Per (client, server, server
// port): SYN/ACK packets, connections, first and last capture time. The rule: a SYN/ACK is a
// retransmission (a packet, not a connection) when its 4-tuple and ISN were first seen less
// than kRetransmissionWindowNs before; otherwise it is a connection and starts a new window.
// Memory is bounded by the handshakes of the last window.
// Thread-compatible. Add() must be called in non-decreasing time order.
class TruthTable {
 public:
  static constexpr int64_t kRetransmissionWindowNs = 60'000'000'000;

  // Counts one SYN/ACK; returns true if it is a new connection.
  bool Add(const SynAckFacts& facts);

  TruthTotals totals() const;

  // Writes the TSV: a header line, then `client_ip server_ip server_port packets connections
  // first_seen_ns last_seen_ns` per key, tab-separated, sorted by client, server (IPv4 before
  // IPv6, then numerically) and port. Errors from errno name the file.
  [[nodiscard]] absl::Status WriteTsv(const std::string& path) const;

 private:
  struct Key {
    common::IpAddress client;
    common::IpAddress server;
    uint16_t server_port = 0;
    friend bool operator==(const Key&, const Key&) = default;
    friend auto operator<=>(const Key&, const Key&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.client, k.server, k.server_port);
    }
  };
  struct Counts {
    uint64_t packets = 0;
    uint64_t connections = 0;
    int64_t first_seen_ns = 0;
    int64_t last_seen_ns = 0;
  };
  struct Handshake {
    common::IpAddress server;
    common::IpAddress client;
    uint16_t server_port = 0;
    uint16_t client_port = 0;
    uint32_t isn = 0;
    friend bool operator==(const Handshake&, const Handshake&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const Handshake& s) {
      return H::combine(std::move(h), s.server, s.client, s.server_port, s.client_port, s.isn);
    }
  };

  absl::flat_hash_map<Key, Counts> keys_;
  // Handshake -> time it was counted as a connection; the deque lists them in time order
  // so that those older than the window are forgotten.
  absl::flat_hash_map<Handshake, int64_t> handshakes_;
  std::deque<std::pair<int64_t, Handshake>> expiry_;
  uint64_t packets_ = 0;
  uint64_t connections_ = 0;
};

}  // namespace synmap::bench
