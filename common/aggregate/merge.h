#pragma once

#include <vector>

#include "absl/types/span.h"
#include "common/aggregate/record.h"

namespace synmap::common {

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

}  // namespace synmap::common
