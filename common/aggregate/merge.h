#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "common/aggregate/record.h"

namespace synmap::common {

namespace internal {
class KeyCounts;
}  // namespace internal

// Any number of record lists, in any order, combined by key (Record::MergeFrom) in a hash table:
// adding a list costs one lookup per record, whatever was added before (merging sorted lists
// pairwise copies all merged so far at each merge: quadratic over many lists). The combination
// is associative and commutative (sums, min first seen, max last seen), so lists may come in any
// order and grouping. Memory as the SynAckTable's keys, about 81-90 bytes a distinct key.
// Thread-compatible. Movable.
class RecordMerger {
 public:
  RecordMerger();
  ~RecordMerger();
  RecordMerger(RecordMerger&&) noexcept;
  RecordMerger& operator=(RecordMerger&&) noexcept;

  void Add(absl::Span<const Record> records);
  // Distinct keys added.
  size_t size() const;
  // The combined records sorted by key, each key once (sorted on two threads if `two_threads`
  // and they are many), and starts empty.
  std::vector<Record> TakeSorted(bool two_threads = false);
  // The combined records in blocks, each key once, in no particular order, and starts empty:
  // the caller may free each block once read.
  std::vector<std::vector<Record>> TakeBlocks();

 private:
  std::unique_ptr<internal::KeyCounts> counts_;
};

}  // namespace synmap::common
