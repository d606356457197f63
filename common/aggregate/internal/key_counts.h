#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/aggregate/record.h"

namespace synmap::common::internal {

// Per-key counts of one flush window. The records sit in a dense vector in arrival order
// (Take() hands it out sorted, without copying), found through an open-addressing index of
// 8-byte slots (linear probing), each holding the key's 32-bit hash and the record's position
// + 1 (0 = empty). A lookup reads slots (a probe usually stays in one cache line) and compares
// the full key only when the stored hash matches, so a key costs one cache miss in the index
// and one in the records; growing the index rehashes from the slots alone. Memory: the 72-byte
// Record plus 8 bytes / load factor (kept between 3/8 and 3/4), ~85-95 bytes a key, plus the
// vector's spare capacity (up to 2x) while it grows.
// Thread-compatible. Copyable and movable (no pointers into itself).
class KeyCounts {
 public:
  KeyCounts() = default;

  // Counts one SYN/ACK of `key` at `timestamp_ns`; `new_connection` false = retransmission.
  void Add(const RecordKey& key, int64_t timestamp_ns, bool new_connection) {
    AddHashed(key, Hash(key), timestamp_ns, new_connection);
  }
  // As Add(), with `hash` = Hash(key) computed by the caller.
  void AddHashed(const RecordKey& key, uint32_t hash, int64_t timestamp_ns, bool new_connection);
  // Hints that keys of these hashes come soon: the first asks for the slot's cache line, the
  // second (once the slot is likely there) for the record the slot points to. Only hints:
  // nothing changes, and any hash is allowed.
  void PrefetchSlot(uint32_t hash) const {
    if (!slots_.empty()) {
      __builtin_prefetch(&slots_[hash & mask_]);
    }
  }
  void PrefetchRecord(uint32_t hash) const;
  // Returns the records sorted by key (on two threads if `two_threads` and they are many:
  // ParallelSort) and starts empty.
  std::vector<Record> Take(bool two_threads = false);
  size_t size() const { return records_.size(); }

  // The hash used for the index: every byte of the key counts.
  static uint32_t Hash(const RecordKey& key);

 private:
  static constexpr size_t kMinSlots = 64;

  // Rebuilds the index with `slots` slots (a power of two).
  void Rehash(size_t slots);

  std::vector<Record> records_;
  // 0 = empty; else hash << 32 | (position + 1).
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
};

}  // namespace synmap::common::internal
