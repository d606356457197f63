#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/aggregate/record.h"

namespace synmap::common::internal {

// Per-key counts of one flush window. The records sit in arrival order in blocks of
// kBlockRecords (2^14, 1,179,648 bytes: above the 1 MiB mmap threshold `synmap summarize` sets,
// so there a freed block goes back to the system at once); position p is record
// p % kBlockRecords of block p / kBlockRecords. Growing adds a block and copies nothing, so the
// records are never held twice while counting. They are found through an open-addressing index of
// 8-byte slots (linear probing), each holding the key's 32-bit hash and the record's position + 1
// (0 = empty). A lookup reads slots (a probe usually stays in one cache line) and compares the full
// key only when the stored hash matches, so a key costs one cache miss in the index and one in
// the records; growing the index rehashes from the slots alone. Memory: the 72-byte Record plus
// 8 bytes / load factor (kept between 7/16 and 7/8: a mismatch reads no record, so a full
// index costs little time, and it halves the index, and its peak while growing, for some
// sizes), ~81-90 bytes a key, plus at most one block's unused room. Take() copies the records into
// one vector, freeing each block once copied: the records once plus a block at its peak where freed
// blocks go back to the system (up to twice the records where they stay on the heap, as under
// glibc's default threshold). TakeBlocks() hands the blocks out as they are. Thread-compatible.
// Movable (a moved-from one may only be destroyed or assigned to); not copyable, since nothing
// copies one and a copied block would lose its reserved room.
class KeyCounts {
 public:
  // Records a block holds (the last one may hold fewer).
  static constexpr size_t kBlockBits = 14;
  static constexpr size_t kBlockRecords = size_t{1} << kBlockBits;

  KeyCounts() = default;
  KeyCounts(const KeyCounts&) = delete;
  KeyCounts& operator=(const KeyCounts&) = delete;
  KeyCounts(KeyCounts&&) noexcept = default;
  KeyCounts& operator=(KeyCounts&&) noexcept = default;

  // Counts one SYN/ACK of `key` at `timestamp_ns`; `new_connection` false = retransmission.
  void Add(const RecordKey& key, int64_t timestamp_ns, bool new_connection) {
    AddHashed(key, Hash(key), timestamp_ns, new_connection);
  }
  // As Add(), with `hash` = Hash(key) computed by the caller.
  void AddHashed(const RecordKey& key, uint32_t hash, int64_t timestamp_ns, bool new_connection);
  // Merges `record` into the record of its key (Record::MergeFrom), or adds a copy of it.
  void Merge(const Record& record);
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
  // ParallelSort) in one vector of exactly size() records, and starts empty.
  std::vector<Record> Take(bool two_threads = false);
  // Returns the records in arrival order, in their blocks (none copied; every block but the
  // last holds kBlockRecords records, none is empty), and starts empty. The caller can free each
  // block once it has read it.
  std::vector<std::vector<Record>> TakeBlocks();
  size_t size() const {
    return blocks_.empty() ? 0 : (blocks_.size() - 1) * kBlockRecords + blocks_.back().size();
  }

  // The hash used for the index: every byte of the key counts.
  static uint32_t Hash(const RecordKey& key);

 private:
  static constexpr size_t kMinSlots = 64;

  // Rebuilds the index with `slots` slots (a power of two).
  void Rehash(size_t slots);
  // The record of `key` (of hash `hash`); a new key gets the record `make()` returns, and
  // `added` says which.
  template <typename Make>
  Record& FindOrAdd(const RecordKey& key, uint32_t hash, Make make, bool& added);
  // The record at `position` (< size()).
  Record& At(uint32_t position) {
    return blocks_[position >> kBlockBits][position & (kBlockRecords - 1)];
  }
  const Record& At(uint32_t position) const {
    return blocks_[position >> kBlockBits][position & (kBlockRecords - 1)];
  }

  // Each reserved to kBlockRecords when added; only the last is not full.
  std::vector<std::vector<Record>> blocks_;
  // 0 = empty; else hash << 32 | (position + 1).
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
};

}  // namespace synmap::common::internal
