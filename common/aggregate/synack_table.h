#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/aggregate/record.h"
#include "common/packet/synack_event.h"

namespace synmap::common {

struct SynAckTableOptions {
  // A SYN/ACK whose 4-tuple and ISN were seen less than this long before (capture time)
  // is a retransmission: it adds a packet, not a connection. Default 60 s.
  absl::Duration retransmission_window = absl::Seconds(60);
  // Bound on remembered handshakes. Past it the oldest is forgotten early and
  // stats().handshakes_evicted is bumped (a later retransmission of it would count as a
  // new connection, so coverage reports the count). Default 1,048,576.
  size_t max_handshakes = size_t{1} << 20;

  [[nodiscard]] absl::Status Validate() const;
};

struct SynAckTableStats {
  uint64_t synacks = 0;             // Events added.
  uint64_t retransmissions = 0;     // Events that added a packet but no connection.
  uint64_t handshakes_evicted = 0;  // Handshakes forgotten before their window ended.
  friend bool operator==(const SynAckTableStats&, const SynAckTableStats&) = default;
};

// Counts SYN/ACKs per (client, server, server port). The handshake memory (for
// retransmissions) spans TakeRecords() calls, so a retransmission just after a flush is still
// a retransmission. The key table itself is unbounded: a caller that must bound memory (the
// sensor) flushes when key_count() reaches its limit, so nothing is ever dropped here.
// Thread-compatible: owned by one capture thread. Keeps no pointers into packet buffers.
class SynAckTable {
 public:
  explicit SynAckTable(const SynAckTableOptions& options);

  // Counts `event` toward its key. Returns true if it is a new connection, false if it is a
  // retransmission. Events may arrive slightly out of time order.
  bool Add(const SynAckEvent& event);

  // Returns the records counted since the last call, sorted by key, and clears them.
  // Handshake memory is kept.
  std::vector<Record> TakeRecords();

  size_t key_count() const;
  size_t handshake_count() const;
  const SynAckTableStats& stats() const { return stats_; }

 private:
  // Implementation-defined members.
  SynAckTableOptions options_;
  SynAckTableStats stats_;
};

}  // namespace synmap::common
