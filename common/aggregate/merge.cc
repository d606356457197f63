#include "common/aggregate/merge.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "common/aggregate/internal/key_counts.h"

namespace synmap::common {
namespace {

// Appends `record` to `out`, folding it into the last element when the keys are equal.
void AppendCombining(const Record& record, std::vector<Record>& out) {
  if (!out.empty() && out.back().key == record.key) {
    out.back().MergeFrom(record);
  } else {
    out.push_back(record);
  }
}

}  // namespace

std::vector<Record> MergeRecords(absl::Span<const Record> a, absl::Span<const Record> b) {
  std::vector<Record> out;
  out.reserve(a.size() + b.size());
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() && j < b.size()) {
    if (b[j].key < a[i].key) {
      AppendCombining(b[j++], out);
    } else {
      AppendCombining(a[i++], out);
    }
  }
  for (; i < a.size(); ++i) {
    AppendCombining(a[i], out);
  }
  for (; j < b.size(); ++j) {
    AppendCombining(b[j], out);
  }
  return out;
}

std::vector<Record> SortAndCombineRecords(std::vector<Record> records) {
  std::sort(records.begin(), records.end(),
            [](const Record& x, const Record& y) { return x.key < y.key; });
  std::vector<Record> out;
  out.reserve(records.size());
  for (const Record& record : records) {
    AppendCombining(record, out);
  }
  return out;
}

bool IsSortedByUniqueKey(absl::Span<const Record> records) {
  for (size_t i = 1; i < records.size(); ++i) {
    if (!(records[i - 1].key < records[i].key)) {
      return false;
    }
  }
  return true;
}

RecordMerger::RecordMerger() : counts_(std::make_unique<internal::KeyCounts>()) {}
RecordMerger::~RecordMerger() = default;
RecordMerger::RecordMerger(RecordMerger&&) noexcept = default;
RecordMerger& RecordMerger::operator=(RecordMerger&&) noexcept = default;

void RecordMerger::Add(absl::Span<const Record> records) {
  for (const Record& record : records) {
    counts_->Merge(record);
  }
}

size_t RecordMerger::size() const { return counts_->size(); }

std::vector<Record> RecordMerger::TakeSorted(bool two_threads) {
  return counts_->Take(two_threads);
}

std::vector<std::vector<Record>> RecordMerger::TakeBlocks() { return counts_->TakeBlocks(); }

}  // namespace synmap::common
