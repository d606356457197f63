#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "collector/store/snapshot.h"
#include "common/aggregate/record.h"

namespace synmap::collector::internal {

// Sightings of fingerprinted handshakes by every sensor, to count a handshake several sensors
// saw once (docs/counting.md, "Overlapping sensors").
//
// Rule: a sighting is (sensor, key (client, server, port), fingerprint, capture time of the
// handshake's first SYN/ACK there). A sensor's own sightings are distinct handshakes (its
// retransmission window told them apart). Sightings s (sensor S) and m (sensor P) of the same
// key and fingerprint are partners when m is P's sighting nearest in time to s, s is S's
// nearest to m, and they lie at most `tolerance_ns` apart (ties: the earlier). A sighting is
// counted in merged answers unless it has a partner that comes before it, ordered by (time,
// sensor name). So which sightings count is a function of the set of committed sightings
// alone, not of the order they arrive in, of batch boundaries or of restarts: every collector
// replaying the same log, in any order, gets the same counts. Adding a sighting can change only
// the status of sightings with the same key and fingerprint, so Add() recomputes those and
// returns the changes for the caller to apply.
//
// Most handshakes are seen by one sensor only, and only a handshake whose key (client, server,
// port, site) some other sensor has also sent can ever have a partner. So a key's sightings go
// into an indexed table only once a second sensor has sent that key ("shared" keys); until then
// they are appended to a per-key list in a log in arrival order (16 bytes a sighting, written
// in sequence, nothing looked up), and moved into the table when the second sensor's key first
// arrives. Neither the rule nor its result depends on which of the two holds a sighting.
//
// Memory: a 16-byte log entry per sighting of a key only one sensor sent; a 16-byte slot per
// sighting of a shared key in an open-addressing table filled to between 3/8 and 3/4 (21-43
// bytes a sighting); 24 bytes per key id seen, 4-8 per key without the sensor, and 16 per
// batch some kept sighting came in.
//
// What is kept: every sighting within `horizon_ns` of the newest batch end seen (capture
// time), as long as the sightings fit `max_bytes` (counting 16 bytes a logged and 32 an indexed
// sighting); past the budget, the oldest are forgotten first (the horizon kept is halved until
// they fit). So two sensors replaying the same capture of a few hours, one after the other,
// still meet. A sighting no later than the newest one forgotten plus 2 x tolerance (all it
// could match, and all those could match, may be gone) is late: neither matched nor kept, so
// counted whole (late()).
// Thread-compatible.
class OverlapIndex {
 public:
  // `log_chunk` is the number of entries in one chunk of the log of unshared keys' sightings
  // (a power of two; smaller only in tests, to exercise forgetting whole chunks).
  OverlapIndex(int64_t tolerance_ns, int64_t horizon_ns, size_t max_bytes,
               size_t log_chunk = size_t{1} << 16);

  // The ids the aggregates gave one record of a batch: its row key (with the sensor) and its
  // addresses. key_id = kSkipped for a record the aggregates did not take.
  struct RecordIds {
    uint32_t key_id = 0;
    uint32_t client = 0;
    uint32_t server = 0;
  };
  static constexpr uint32_t kSkipped = 0xffffffff;

  // A sighting whose status changed: one connection of the row `key_id` in the bucket holding
  // `batch_start_ns` becomes a duplicate (delta +1: no longer counted in merged answers) or
  // stops being one (delta -1).
  struct Uncounted {
    uint32_t key_id = 0;
    int64_t batch_start_ns = 0;
    int delta = 1;
  };

  // Adds the sightings of `batch` (batch.handshakes, one per connection in record order; `ids`
  // one per record) of sensor `sensor` named `sensor_name` at site `site` (a small id, 0 = no
  // site: sightings pair only within one site, whose addresses they share), and appends to `out`
  // every sighting whose status changed (new ones only when not counted). Returns the number of
  // sightings matched (those not late).
  uint64_t Add(uint32_t sensor, absl::string_view sensor_name, const common::Batch& batch,
               absl::Span<const RecordIds> ids, std::vector<Uncounted>* out, uint16_t site = 0);

  // Per sensor id (sized to the highest id seen + 1): the peers it shares handshakes with.
  std::vector<std::vector<OverlapPeer>> Report() const;

  // Sightings kept: in the table, and in the log of keys only one sensor sent.
  size_t sightings() const { return sightings_count_ + logged_; }
  // Of those, the ones in the table (keys more than one sensor sent).
  size_t indexed_sightings() const { return sightings_count_; }
  // What the kept sightings count against the memory budget.
  size_t bytes() const { return 32 * sightings_count_ + 16 * logged_; }
  // How far behind the newest batch end sightings are kept now (the horizon, or less while
  // the memory budget is reached).
  int64_t kept_horizon_ns() const { return kept_horizon_ns_; }
  // Sightings not matched, so counted whole: older than the horizon allows, or beyond
  // kMaxGroup sightings of one key and fingerprint.
  uint64_t late() const { return late_; }
  int64_t tolerance_ns() const { return tolerance_ns_; }

 private:
  // What a key id stands for: its sensor and the key without the sensor (with the site); whether
  // another sensor sent the same key without the sensor (kShared: its sightings go into the
  // table) or not yet (kAlone: into the log, newest first from the log position `log_head`).
  enum class KeyState : uint8_t { kUnseen, kAlone, kShared };
  struct KeyInfo {
    uint32_t client = 0;
    uint32_t server = 0;
    uint32_t sensor = 0;
    uint16_t port = 0;
    uint16_t site = 0;
    uint32_t log_head_low = 0;  // log_head: 48 bits, enough for any collector's lifetime.
    uint16_t log_head_high = 0;
    KeyState state = KeyState::kUnseen;
    bool logged = false;  // Some sighting of it is in the log.
    uint64_t log_head() const { return uint64_t{log_head_high} << 32 | log_head_low; }
    void set_log_head(uint64_t position) {
      log_head_low = static_cast<uint32_t>(position);
      log_head_high = static_cast<uint16_t>(position >> 32);
    }
  };
  // A sighting of a key only one sensor sent, in the log: its fingerprint, `batch` and
  // `start_offset_ms` as in a Slot (batch = kMoved once it went into the table or was
  // forgotten), and how many entries back the key's previous sighting lies (0: none).
  struct LogEntry {
    uint32_t fingerprint;
    uint32_t batch;
    uint32_t start_offset_ms;
    uint32_t back;
  };
  static constexpr uint32_t kMoved = 0xffffffff;
  struct LogChunk {
    std::unique_ptr<LogEntry[]> entries;  // Written before read: not initialised.
    int64_t newest_ns = std::numeric_limits<int64_t>::min();  // Of its sightings.
  };
  // One slot of the sighting table: a sighting, or empty (key_id_plus1 == 0, so that fresh
  // zeroed memory is an empty table). `hash` stands for the handshake without the sensor
  // (site, client, server, port, fingerprint): for one key it is a bijection of the
  // fingerprint (Hash()), so two sightings of one key are of one handshake exactly when their
  // hashes are equal, and the fingerprint need not be kept. Its low bits are the slot's home.
  // The sighting's time is its batch's start (batches_[batch]) plus `start_offset_ms`.
  struct Slot {
    uint32_t hash = 0;
    uint32_t key_id_plus1 = 0;
    uint32_t batch = 0;
    uint32_t start_offset_ms = 0;
  };
  // The start of a batch that kept sightings, and how many of them are still in the table (the
  // entry is reused once none is).
  struct BatchStart {
    int64_t start_ns = 0;
    uint32_t sightings = 0;
  };
  // A sighting of one group (one handshake: key without sensor, and fingerprint) while it is
  // decided.
  struct Sighting {
    int64_t time_ns = 0;
    uint32_t sensor = 0;
    uint32_t key_id = 0;
    uint32_t start_offset_ms = 0;
    int64_t batch_start_ns() const { return time_ns - int64_t{start_offset_ms} * 1'000'000; }
  };
  using Sightings = absl::InlinedVector<Sighting, 4>;
  // Clock offsets of one ordered pair of sensors.
  struct PairStats {
    uint64_t matches = 0;
    std::vector<int64_t> recent;  // Ring of the last kRecent offsets.
    size_t next = 0;
    int64_t max_abs = 0;
  };
  static constexpr size_t kRecent = 255;
  // Most sightings kept for one key and fingerprint (several sensors, a few resends each).
  static constexpr size_t kMaxGroup = 32;

  // A 32-bit hash of the key without the sensor (site, client, server, port).
  static uint32_t KeyHash(const KeyInfo& key);
  // The slot hash of a handshake of a key with KeyHash() `key_hash`: a bijective mix of both.
  static uint32_t Hash(uint32_t key_hash, uint32_t fingerprint);
  // The capture time of the sighting in `s`.
  int64_t TimeOf(const Slot& s) const {
    return batches_[s.batch].start_ns + int64_t{s.start_offset_ms} * 1'000'000;
  }
  // Notes a key id seen for the first time (or its site changed): finds the other sensors'
  // keys of the same key without the sensor, and moves a key into the table once shared.
  void RegisterKey(uint32_t key_id, const KeyInfo& info);
  // The key id of the first key registered with the same key without the sensor as `key_id`,
  // after adding `key_id` as that first key if there is none.
  uint32_t FindOrAddFirstKey(uint32_t key_id);
  // Moves the logged sightings of `key_id` (an unshared key) into the table. (Those older than
  // the horizon too: the table's next pruning forgets them.)
  void MoveLogged(uint32_t key_id);
  // Appends a sighting of the unshared key `key` to the log.
  void AppendLogged(KeyInfo& key, uint32_t fingerprint, uint32_t batch, uint32_t start_offset_ms,
                    int64_t time_ns);
  LogEntry& LogAt(uint64_t position) {
    const uint64_t i = position - log_begin_;
    return chunks_[i / log_chunk_].entries[i % log_chunk_];
  }
  // Adds sighting `n` (already in no slot), appending status changes to `out`. Returns false
  // when it was not kept (too many sightings of its handshake).
  bool AddSighting(const Slot& n, std::vector<Uncounted>* out);
  // A batches_ entry for a batch starting at `start_ns`, holding no sightings yet.
  uint32_t NewBatch(int64_t start_ns);
  // Notes that `count` sightings of batch `id` left the table (or never went in).
  void ReleaseSightings(uint32_t id, uint32_t count);
  // The status changes that adding `n` to `group` (its other sightings) makes, to `out`.
  void Decide(Sightings& group, const Sighting& n, std::vector<Uncounted>* out);
  // a before b: earlier, or at the same time the smaller sensor name.
  bool Before(const Sighting& a, const Sighting& b) const;
  // The sighting of `sensor` in `all` nearest in time to `s` and at most the tolerance away
  // (of two equally near, the earlier), or nullptr.
  const Sighting* Nearest(const Sighting& s, uint32_t sensor, const Sightings& all) const;
  // Nearest(s, peer) if s is also nearest to it among s's sensor's sightings, else nullptr.
  const Sighting* Partner(const Sighting& s, uint32_t peer, const Sightings& all) const;
  // False if some other sensor's partner of `s` comes before it.
  bool Counted(const Sighting& s, const Sightings& all) const;
  void NoteOffset(uint32_t sensor, uint32_t peer, int64_t offset_ns);
  // Zeroed memory for `capacity` slots, in transparent huge pages where the kernel allows: the
  // table is far larger than what the TLB covers in 4 KiB pages.
  struct SlotsUnmap {
    size_t bytes;
    void operator()(Slot* slots) const;
  };
  using SlotMemory = std::unique_ptr<Slot[], SlotsUnmap>;
  static SlotMemory AllocateSlots(size_t capacity);
  // Makes room for `more` sightings within the table's load limit (doubling it as needed).
  // Grows in place: the pages in use move into the larger mapping (mremap, no copy, no second
  // table alive at once) and the sightings are rehashed where they lie.
  void Reserve(size_t more);
  // Rehashes the sightings of the first `old_capacity` slots into the whole (larger) table.
  void RehashFrom(size_t old_capacity);
  // Puts `s` in the first empty slot of its run.
  void Place(const Slot& s);
  // Empties slot `i`, moving later sightings of its run back so that every sighting stays
  // reachable from its home without a gap.
  void EraseAt(size_t i);
  // Forgets sightings older than the horizon kept, once newest_ns_ has moved on by a minute or
  // the memory budget is exceeded.
  void Prune();
  // Forgets the table's sightings earlier than `limit` and the log's chunks wholly earlier.
  void ForgetBefore(int64_t limit);

  const int64_t tolerance_ns_;
  const int64_t horizon_ns_;
  const size_t max_bytes_;
  const size_t log_chunk_;
  int64_t kept_horizon_ns_;
  // The latest capture time of a sighting forgotten (min: none yet).
  int64_t forgotten_ns_ = std::numeric_limits<int64_t>::min();
  std::vector<std::string> names_;  // By sensor id.
  std::vector<KeyInfo> keys_;       // By key id.
  std::vector<BatchStart> batches_;
  std::vector<uint32_t> free_batches_;  // Entries of batches_ holding no sighting.
  // Linear probing; several sightings of one group lie in one run, not necessarily together.
  SlotMemory slots_{nullptr, SlotsUnmap{0}};
  size_t capacity_ = 0;        // Of slots_: 0 or a power of two.
  std::vector<Slot> pending_;  // Add()'s sightings before they go in.
  int64_t pruned_ns_ = 0;      // newest_ns_ at the last Prune().
  absl::node_hash_map<std::pair<uint32_t, uint32_t>, PairStats> pairs_;
  struct RecentPair {
    uint32_t sensor = 0;
    uint32_t peer = 0;
    PairStats* stats = nullptr;
  };
  std::array<RecentPair, 4> recent_pairs_;
  size_t next_recent_pair_ = 0;
  // The log of unshared keys' sightings: chunks_ holds positions [log_begin_, log_end_).
  std::deque<LogChunk> chunks_;
  std::unique_ptr<LogEntry[]> spare_chunk_;  // The last chunk forgotten, for the next one.
  uint64_t log_begin_ = 0;
  uint64_t log_end_ = 0;
  size_t logged_ = 0;  // Entries in the log not moved or forgotten.
  // The first key id (+ 1; 0 = empty) of each key without the sensor, by KeyHash(): linear
  // probing, at most half full.
  std::vector<uint32_t> first_keys_;
  size_t first_keys_count_ = 0;
  // Set once a key id came with another site: from then on every key goes into the table.
  bool all_shared_ = false;
  int64_t newest_ns_ = 0;
  size_t sightings_count_ = 0;
  uint64_t late_ = 0;
};

}  // namespace synmap::collector::internal
