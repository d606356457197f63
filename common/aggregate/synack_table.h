#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/aggregate/record.h"
#include "common/packet/synack_event.h"

namespace synmap::common {

namespace internal {
class HandshakeMemory;
class KeyCounts;
}  // namespace internal

struct SynAckTableOptions {
  // A SYN/ACK whose 4-tuple and ISN were first seen less than this long before or after it
  // (capture time) is a retransmission: it adds a packet, not a connection. Must be > 0.
  // Default 60 s.
  absl::Duration retransmission_window = absl::Seconds(60);
  // Bound on remembered handshakes (1 to 2^31). Past it the oldest is forgotten early and
  // stats().handshakes_evicted is bumped (a later retransmission of it would count as a
  // new connection, so coverage reports the count). Default 1,048,576 (about 26 MB).
  size_t max_handshakes = size_t{1} << 20;

  // InvalidArgument for a non-positive window or a bound outside 1..2^31.
  [[nodiscard]] absl::Status Validate() const;
};

// Where TakeRecords() sorts a big window's records: on the calling thread (a sensor's capture
// thread, which must not take a second core from a router), or on two (ParallelSort; for
// offline summaries, which use both cores anyway).
enum class SortThreads { kOne, kTwo };

struct SynAckTableStats {
  uint64_t synacks = 0;             // Events added.
  uint64_t retransmissions = 0;     // Events that added a packet but no connection.
  uint64_t handshakes_evicted = 0;  // Handshakes forgotten before their window ended.
  // New connections from SYN/ACKs a window or more older than the newest event before them
  // (input far out of time order): each may be a handshake counted twice, since an earlier
  // sighting of it may have been forgotten already. 0 for input in time order.
  uint64_t late_connections = 0;
  friend bool operator==(const SynAckTableStats&, const SynAckTableStats&) = default;
};

// Counts SYN/ACKs per (client, server, server port). The handshake memory (for
// retransmissions) spans the calls taking the records, so a retransmission just after a flush is
// still a retransmission. The key table itself is unbounded: a caller that must bound memory (the
// sensor) flushes when key_count() reaches its limit, so nothing is ever dropped here.
//
// Retransmission rule: the window is measured from the FIRST sighting of a handshake
// (4-tuple + ISN); later copies do not extend it. A copy within the window, before or after
// the first sighting, is a retransmission; a copy at or past it is a new connection, which
// starts a new window. Only event timestamps (capture time) are used, never the wall clock.
//
// Handshake memory: a 64-bit fingerprint of (4-tuple, ISN) and its first-seen time in a FIFO
// ring (16 bytes) indexed by a hash set (~5-10 bytes): about 26 MB at the default bound.
// Entries leave the ring's head once the newest timestamp seen so far is a full window past
// them, so events out of order by less than a window are handled exactly; a copy arriving
// later than that may count as new (stats().late_connections counts those new connections).
// At max_handshakes the head is dropped early, counted in handshakes_evicted if it was still
// within its window. Two distinct handshakes share a
// fingerprint with probability ~n^2/2^65 (n remembered), which would count the second one as
// a retransmission. Keys: Records in blocks of 2^14 (growing adds a block, nothing is copied)
// plus an open-addressing index of 8-byte slots (32-bit hash + position), ~81-90 bytes a key.
// TakeRecords() copies them into one sorted vector, freeing each block once copied (the records
// once plus a block at the peak, if freed blocks go back to the system: see `synmap summarize`'s
// mmap threshold); TakeRecordBlocks() hands the blocks out as they are.
//
// Thread-compatible: owned by one capture thread. Keeps no pointers into packet buffers.
// No allocation per event once the tables have grown to their working size. Movable (a
// moved-from table may only be destroyed or assigned to), not copyable.
class SynAckTable {
 public:
  // `options` must be valid (Validate()); an invalid one aborts.
  explicit SynAckTable(const SynAckTableOptions& options);
  ~SynAckTable();
  SynAckTable(SynAckTable&&) noexcept;
  SynAckTable& operator=(SynAckTable&&) noexcept;

  // Counts `event` toward its key. Returns true if it is a new connection, false if it is a
  // retransmission. Events may arrive slightly out of time order.
  bool Add(const SynAckEvent& event);
  // Counts `events` in order, exactly as Add() on each of them, but faster on large tables:
  // the memory each will touch is asked for (prefetched) before the first is counted, so the
  // cache misses of a batch overlap instead of following one another.
  void AddBatch(absl::Span<const SynAckEvent> events);

  // Returns the records counted since the last take (this or TakeRecordBlocks()), sorted by key
  // (on `threads`), and clears them. Handshake memory is kept.
  std::vector<Record> TakeRecords(SortThreads threads = SortThreads::kOne);
  // As TakeRecords(), but the records in no particular order, in the blocks they were counted
  // in (no copy; each holds at most 2^14 records, every one but the last exactly that many, and
  // none is empty): a caller can free each block once it has read it.
  std::vector<std::vector<Record>> TakeRecordBlocks();

  size_t key_count() const;
  size_t handshake_count() const;
  // Totals since construction (never reset by TakeRecords()).
  const SynAckTableStats& stats() const { return stats_; }

 private:
  // Add() with the handshake's fingerprint and the key's hash already computed.
  bool AddHashed(const SynAckEvent& event, uint64_t fingerprint, uint32_t key_hash);

  SynAckTableOptions options_;
  SynAckTableStats stats_;
  // Heap-held: their hash functors point into them, so they must not move.
  std::unique_ptr<internal::HandshakeMemory> handshakes_;
  std::unique_ptr<internal::KeyCounts> keys_;
};

}  // namespace synmap::common
