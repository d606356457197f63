#include "common/aggregate/merge.h"

#include <memory>

#include "common/aggregate/internal/key_counts.h"

namespace synmap::common {

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
