#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "common/aggregate/record.h"

namespace synmap::common::internal {

// Per-key counts of one flush window. The records sit in a dense vector in arrival order,
// found through a hash set of 4-byte positions, so a key costs its 72-byte Record plus ~5-10
// bytes of set (a flat_hash_map<RecordKey, counts> slot is 72 bytes at a load of 44-87%), and
// Take() hands the vector out without copying.
// Thread-compatible. Neither copyable nor movable (the set's functors point back here).
class KeyCounts {
 public:
  KeyCounts();
  KeyCounts(const KeyCounts&) = delete;
  KeyCounts& operator=(const KeyCounts&) = delete;

  // Counts one SYN/ACK of `key` at `timestamp_ns`; `new_connection` false = retransmission.
  void Add(const RecordKey& key, int64_t timestamp_ns, bool new_connection);
  // Returns the records sorted by key and starts empty.
  std::vector<Record> Take();
  size_t size() const { return records_.size(); }

 private:
  struct PositionHash {
    using is_transparent = void;
    const std::vector<Record>* records;
    size_t operator()(uint32_t position) const { return (*this)((*records)[position].key); }
    size_t operator()(const RecordKey& key) const { return absl::Hash<RecordKey>{}(key); }
  };
  struct PositionEq {
    using is_transparent = void;
    const std::vector<Record>* records;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(const RecordKey& key, uint32_t position) const {
      return (*records)[position].key == key;
    }
    bool operator()(uint32_t position, const RecordKey& key) const {
      return (*this)(key, position);
    }
  };

  std::vector<Record> records_;
  absl::flat_hash_set<uint32_t, PositionHash, PositionEq> index_;
};

}  // namespace synmap::common::internal
