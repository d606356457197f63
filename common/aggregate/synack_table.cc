#include "common/aggregate/synack_table.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "common/aggregate/internal/handshake_memory.h"
#include "common/aggregate/internal/key_counts.h"
#include "common/log/log.h"

namespace synmap::common {
namespace {

// What identifies one handshake: the 4-tuple and the server's ISN.
struct HandshakeTuple {
  const SynAckEvent& event;

  template <typename H>
  friend H AbslHashValue(H h, const HandshakeTuple& t) {
    return H::combine(std::move(h), t.event.client, t.event.server, t.event.client_port,
                      t.event.server_port, t.event.isn);
  }
};

RecordKey KeyOf(const SynAckEvent& event) {
  return RecordKey{event.client, event.server, event.server_port};
}

uint64_t Fingerprint(const SynAckEvent& event) {
  return static_cast<uint64_t>(absl::Hash<HandshakeTuple>{}(HandshakeTuple{event}));
}

constexpr size_t kMaxHandshakesLimit = size_t{1} << 31;

}  // namespace

absl::Status SynAckTableOptions::Validate() const {
  if (retransmission_window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("retransmission_window must be > 0, got ",
                                                   absl::FormatDuration(retransmission_window)));
  }
  if (max_handshakes == 0 || max_handshakes > kMaxHandshakesLimit) {
    return absl::InvalidArgumentError(absl::StrCat("max_handshakes must be in 1..",
                                                   kMaxHandshakesLimit, ", got ", max_handshakes));
  }
  return absl::OkStatus();
}

SynAckTable::SynAckTable(const SynAckTableOptions& options) : options_(options) {
  const absl::Status valid = options.Validate();
  SYNMAP_CHECK(valid.ok()) << valid;
  // A window under 1 ns truncates to 0; keep the "> 0" invariant the arithmetic relies on.
  const int64_t window_ns =
      std::max<int64_t>(absl::ToInt64Nanoseconds(options.retransmission_window), 1);
  handshakes_ = std::make_unique<internal::HandshakeMemory>(window_ns, options.max_handshakes);
  keys_ = std::make_unique<internal::KeyCounts>();
}

SynAckTable::~SynAckTable() = default;
SynAckTable::SynAckTable(SynAckTable&&) noexcept = default;
SynAckTable& SynAckTable::operator=(SynAckTable&&) noexcept = default;

bool SynAckTable::Add(const SynAckEvent& event) {
  return AddHashed(event, Fingerprint(event), internal::KeyCounts::Hash(KeyOf(event)));
}

void SynAckTable::AddBatch(absl::Span<const SynAckEvent> events) {
  // Three passes over a few events at a time: hash and ask for the index slots, then for the
  // records those slots point to, then count. Small enough that the hinted lines are still in
  // cache when counted.
  constexpr size_t kGroup = 16;
  uint64_t fingerprints[kGroup];
  uint32_t key_hashes[kGroup];
  for (size_t begin = 0; begin < events.size(); begin += kGroup) {
    const size_t n = std::min(kGroup, events.size() - begin);
    for (size_t i = 0; i < n; ++i) {
      const SynAckEvent& event = events[begin + i];
      fingerprints[i] = Fingerprint(event);
      key_hashes[i] = internal::KeyCounts::Hash(KeyOf(event));
      keys_->PrefetchSlot(key_hashes[i]);
    }
    for (size_t i = 0; i < n; ++i) {
      keys_->PrefetchRecord(key_hashes[i]);
    }
    for (size_t i = 0; i < n; ++i) {
      AddHashed(events[begin + i], fingerprints[i], key_hashes[i]);
    }
  }
}

bool SynAckTable::AddHashed(const SynAckEvent& event, uint64_t fingerprint, uint32_t key_hash) {
  ++stats_.synacks;
  const bool retransmission = handshakes_->SeenWithinWindow(fingerprint, event.timestamp_ns);
  stats_.handshakes_evicted = handshakes_->evicted();
  stats_.late_connections = handshakes_->late_new();
  if (retransmission) {
    ++stats_.retransmissions;
  }
  keys_->AddHashed(KeyOf(event), key_hash, event.timestamp_ns, !retransmission);
  return !retransmission;
}

std::vector<Record> SynAckTable::TakeRecords(SortThreads threads) {
  return keys_->Take(/*two_threads=*/threads == SortThreads::kTwo);
}

std::vector<std::vector<Record>> SynAckTable::TakeRecordBlocks() { return keys_->TakeBlocks(); }

size_t SynAckTable::key_count() const { return keys_->size(); }

size_t SynAckTable::handshake_count() const { return handshakes_->size(); }

}  // namespace synmap::common
