#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace synmap::common::internal {

// Remembers recent handshakes (by 64-bit fingerprint of 4-tuple + ISN) and when each was first
// seen, to tell retransmissions from new connections. Entries live in a FIFO ring addressed by
// a 32-bit sequence number (slot = seq & mask, capacity a power of two that grows by doubling
// up to the bound) and are found through a hash set of those sequence numbers, so one entry
// costs 16 bytes of ring plus ~5-10 bytes of set: ~26 MB for 1,048,576 handshakes.
// Expiry: once the newest timestamp seen is a full window past the ring's head, the head is
// dropped. At `max_entries` the head is dropped early and counted in evicted() if it was still
// within its window. A handshake seen again a window or more after its first sighting is
// remembered anew (its old ring entry becomes stale and is skipped when it reaches the head).
// Thread-compatible. Neither copyable nor movable (the set's functors point back here).
class HandshakeMemory {
 public:
  // `window_ns` > 0; 1 <= `max_entries` <= 2^31.
  HandshakeMemory(int64_t window_ns, size_t max_entries);
  HandshakeMemory(const HandshakeMemory&) = delete;
  HandshakeMemory& operator=(const HandshakeMemory&) = delete;

  // True if `fingerprint` was first seen less than a window before or after `timestamp_ns`;
  // otherwise remembers it as first seen at `timestamp_ns` and returns false.
  bool SeenWithinWindow(uint64_t fingerprint, int64_t timestamp_ns);

  size_t size() const { return index_.size(); }
  uint64_t evicted() const { return evicted_; }
  // Handshakes remembered as new from a SYN/ACK a window or more older than the newest seen
  // before it: their earlier sighting, if any, may have been forgotten already, so they may be
  // counted twice (input far out of time order: files given out of order, overlapping captures).
  uint64_t late_new() const { return late_new_; }

 private:
  struct Entry {
    uint64_t fingerprint = 0;
    int64_t first_seen_ns = 0;
  };
  // Hash and equality over sequence numbers, looking through to the ring; a fingerprint (the
  // lookup key) is already a well-mixed hash and is used as is.
  struct SeqHash {
    using is_transparent = void;
    const HandshakeMemory* memory;
    size_t operator()(uint32_t seq) const { return memory->EntryAt(seq).fingerprint; }
    size_t operator()(uint64_t fingerprint) const { return fingerprint; }
  };
  struct SeqEq {
    using is_transparent = void;
    const HandshakeMemory* memory;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint64_t fingerprint, uint32_t seq) const {
      return memory->EntryAt(seq).fingerprint == fingerprint;
    }
    bool operator()(uint32_t seq, uint64_t fingerprint) const { return (*this)(fingerprint, seq); }
  };

  const Entry& EntryAt(uint32_t seq) const { return ring_[seq & mask_]; }
  void ExpireOld();
  // Drops the ring's head; returns its entry if it was current (and so erased from the set).
  bool PopHead(Entry& popped);
  void Grow();

  int64_t window_ns_;
  size_t max_entries_;
  int64_t max_seen_ns_ = INT64_MIN;
  uint64_t evicted_ = 0;
  uint64_t late_new_ = 0;
  std::vector<Entry> ring_;
  uint32_t mask_ = 0;
  uint32_t head_seq_ = 0;  // Oldest entry; tail_seq_ - head_seq_ (mod 2^32) entries live.
  uint32_t tail_seq_ = 0;
  absl::flat_hash_set<uint32_t, SeqHash, SeqEq> index_;
};

}  // namespace synmap::common::internal
