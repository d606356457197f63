#include "common/aggregate/internal/handshake_memory.h"

#include <algorithm>

#include "common/log/log.h"

namespace synmap::common::internal {
namespace {

constexpr size_t kMinRingCapacity = 64;

// True if `later` - `earlier` >= `span` (span > 0), without signed overflow.
bool AtLeastApart(int64_t later, int64_t earlier, int64_t span) {
  return later >= earlier && static_cast<uint64_t>(later) - static_cast<uint64_t>(earlier) >=
                                 static_cast<uint64_t>(span);
}

// True if |a - b| < span (span > 0), without signed overflow.
bool WithinSpan(int64_t a, int64_t b, int64_t span) {
  return a >= b ? !AtLeastApart(a, b, span) : !AtLeastApart(b, a, span);
}

}  // namespace

HandshakeMemory::HandshakeMemory(int64_t window_ns, size_t max_entries)
    : window_ns_(window_ns), max_entries_(max_entries), index_(0, SeqHash{this}, SeqEq{this}) {
  SYNMAP_CHECK(window_ns > 0) << "window_ns=" << window_ns;
  SYNMAP_CHECK(max_entries >= 1 && max_entries <= (size_t{1} << 31))
      << "max_entries=" << max_entries;
}

bool HandshakeMemory::SeenWithinWindow(uint64_t fingerprint, int64_t timestamp_ns) {
  const bool late = AtLeastApart(max_seen_ns_, timestamp_ns, window_ns_);
  if (timestamp_ns > max_seen_ns_) {
    max_seen_ns_ = timestamp_ns;
    ExpireOld();
  }
  auto it = index_.find(fingerprint);
  if (it != index_.end()) {
    if (WithinSpan(timestamp_ns, EntryAt(*it).first_seen_ns, window_ns_)) {
      return true;
    }
    // A window or more apart: a new handshake reusing the tuple and ISN. Its old ring entry
    // stays behind, no longer in the set, and PopHead() skips it.
    index_.erase(it);
  }
  const size_t live = static_cast<uint32_t>(tail_seq_ - head_seq_);
  if (live == max_entries_) {
    Entry popped;
    if (PopHead(popped) && !AtLeastApart(max_seen_ns_, popped.first_seen_ns, window_ns_)) {
      ++evicted_;
    }
  } else if (live == ring_.size()) {
    Grow();
  }
  ring_[tail_seq_ & mask_] = Entry{fingerprint, timestamp_ns};
  index_.insert(tail_seq_);
  ++tail_seq_;
  late_new_ += late ? 1 : 0;
  return false;
}

void HandshakeMemory::ExpireOld() {
  // The ring is in insertion order, which is time order up to the input's reordering; an entry
  // stuck behind a later one expires a little late, which only costs memory.
  Entry popped;
  while (head_seq_ != tail_seq_ &&
         AtLeastApart(max_seen_ns_, EntryAt(head_seq_).first_seen_ns, window_ns_)) {
    PopHead(popped);
  }
}

bool HandshakeMemory::PopHead(Entry& popped) {
  const uint32_t seq = head_seq_++;
  popped = EntryAt(seq);
  auto it = index_.find(popped.fingerprint);
  if (it != index_.end() && *it == seq) {
    index_.erase(it);
    return true;
  }
  return false;
}

void HandshakeMemory::Grow() {
  // Power-of-two capacities keep every live seq at seq & mask, so the set needs no rebuild:
  // each entry moves to its slot under the new mask.
  const size_t capacity = std::max(ring_.size() * 2, kMinRingCapacity);
  std::vector<Entry> grown(capacity);
  const uint32_t new_mask = static_cast<uint32_t>(capacity - 1);
  for (uint32_t seq = head_seq_; seq != tail_seq_; ++seq) {
    grown[seq & new_mask] = EntryAt(seq);
  }
  ring_ = std::move(grown);
  mask_ = new_mask;
}

}  // namespace synmap::common::internal
