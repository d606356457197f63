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

// Merges two record lists, each sorted by key (as SynAckTable::TakeRecords() and Batch give
// them), into one list sorted by key in which every key appears once: records with equal keys
// are combined with Record::MergeFrom (sums, min first_seen, max last_seen). Equal keys inside
// one input are combined too. Linear time. The operation is associative and commutative, so
// the sensor's spool and the collector may merge batches in any grouping. With an unsorted
// input a key may appear more than once in the result: use SortAndCombineRecords() for such
// input. The spans need only live during the call.
std::vector<Record> MergeRecords(absl::Span<const Record> a, absl::Span<const Record> b);

// Sorts `records` by key and combines records with equal keys. O(n log n).
std::vector<Record> SortAndCombineRecords(std::vector<Record> records);

// True if `records` is strictly increasing by key (sorted, each key once).
bool IsSortedByUniqueKey(absl::Span<const Record> records);

// Any number of record lists, in any order, combined by key (Record::MergeFrom) in a hash table:
// adding a list costs one lookup per record, whatever was added before (MergeRecords on a growing
// list copies all of it at each merge: quadratic over many lists). Memory as the SynAckTable's
// keys, about 81-90 bytes a distinct key. Thread-compatible. Movable.
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
