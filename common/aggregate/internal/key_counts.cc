#include "common/aggregate/internal/key_counts.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "common/log/log.h"

namespace synmap::common::internal {

KeyCounts::KeyCounts() : index_(0, PositionHash{&records_}, PositionEq{&records_}) {}

void KeyCounts::Add(const RecordKey& key, int64_t timestamp_ns, bool new_connection) {
  auto it = index_.find(key);
  Record* record = nullptr;
  if (it != index_.end()) {
    record = &records_[*it];
    record->first_seen_ns = std::min(record->first_seen_ns, timestamp_ns);
    record->last_seen_ns = std::max(record->last_seen_ns, timestamp_ns);
  } else {
    SYNMAP_CHECK(records_.size() < std::numeric_limits<uint32_t>::max())
        << "more than 2^32 keys in one window";
    records_.push_back(
        Record{.key = key, .first_seen_ns = timestamp_ns, .last_seen_ns = timestamp_ns});
    index_.insert(static_cast<uint32_t>(records_.size() - 1));
    record = &records_.back();
  }
  ++record->packets;
  if (new_connection) {
    ++record->connections;
  }
}

std::vector<Record> KeyCounts::Take() {
  index_.clear();
  std::vector<Record> out = std::move(records_);
  records_.clear();  // A moved-from vector is valid but unspecified.
  std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) { return a.key < b.key; });
  return out;
}

}  // namespace synmap::common::internal
