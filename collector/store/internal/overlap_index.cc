#include "collector/store/internal/overlap_index.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <tuple>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "collector/store/store.h"
#include "common/log/log.h"

namespace synmap::collector {

absl::Status OverlapOptions::Validate() const {
  if (window < absl::ZeroDuration() || skew_tolerance < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("overlap window and skew tolerance must not be negative");
  }
  if (horizon < 4 * (window + skew_tolerance)) {
    return absl::InvalidArgumentError(
        absl::StrCat("overlap horizon ", absl::FormatDuration(horizon),
                     " must be at least four times window + skew tolerance (",
                     absl::FormatDuration(4 * (window + skew_tolerance)), ")"));
  }
  if (max_memory_bytes < (int64_t{1} << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("overlap memory budget of ", max_memory_bytes, " bytes is under 1 MiB"));
  }
  return absl::OkStatus();
}

}  // namespace synmap::collector

namespace synmap::collector::internal {
namespace {

constexpr int64_t kMinuteNs = 60'000'000'000;
constexpr int64_t kMsNs = 1'000'000;
constexpr size_t kHugePageBytes = size_t{2} << 20;

}  // namespace

OverlapIndex::OverlapIndex(int64_t tolerance_ns, int64_t horizon_ns, size_t max_bytes,
                           size_t log_chunk)
    : tolerance_ns_(tolerance_ns),
      horizon_ns_(horizon_ns),
      max_bytes_(max_bytes),
      log_chunk_(log_chunk),
      kept_horizon_ns_(horizon_ns) {
  SYNMAP_CHECK(log_chunk_ > 0 && (log_chunk_ & (log_chunk_ - 1)) == 0)
      << "log chunk " << log_chunk_ << " is not a power of two";
}

bool OverlapIndex::Before(const Sighting& a, const Sighting& b) const {
  if (a.time_ns != b.time_ns) {
    return a.time_ns < b.time_ns;
  }
  return names_[a.sensor] < names_[b.sensor];
}

const OverlapIndex::Sighting* OverlapIndex::Nearest(const Sighting& s, uint32_t sensor,
                                                    const Sightings& all) const {
  const Sighting* best = nullptr;
  int64_t best_d = 0;
  for (const Sighting& o : all) {
    if (o.sensor != sensor || &o == &s) {
      continue;
    }
    const int64_t d = o.time_ns > s.time_ns ? o.time_ns - s.time_ns : s.time_ns - o.time_ns;
    if (d > tolerance_ns_) {
      continue;
    }
    if (best == nullptr || d < best_d || (d == best_d && o.time_ns < best->time_ns)) {
      best = &o;
      best_d = d;
    }
  }
  return best;
}

const OverlapIndex::Sighting* OverlapIndex::Partner(const Sighting& s, uint32_t peer,
                                                    const Sightings& all) const {
  if (peer == s.sensor) {
    return nullptr;
  }
  const Sighting* m = Nearest(s, peer, all);
  return m != nullptr && Nearest(*m, s.sensor, all) == &s ? m : nullptr;
}

bool OverlapIndex::Counted(const Sighting& s, const Sightings& all) const {
  for (const Sighting& o : all) {
    if (o.sensor == s.sensor) {
      continue;
    }
    const Sighting* m = Partner(s, o.sensor, all);
    if (m != nullptr && Before(*m, s)) {
      return false;
    }
  }
  return true;
}

void OverlapIndex::NoteOffset(uint32_t sensor, uint32_t peer, int64_t offset_ns) {
  // Matches come in runs of the same two sensors: the last pairs looked up are kept at hand
  // (node_hash_map: their addresses do not move).
  PairStats* found = nullptr;
  for (const RecentPair& r : recent_pairs_) {
    if (r.stats != nullptr && r.sensor == sensor && r.peer == peer) {
      found = r.stats;
      break;
    }
  }
  if (found == nullptr) {
    found = &pairs_[{sensor, peer}];
    recent_pairs_[next_recent_pair_] = RecentPair{sensor, peer, found};
    next_recent_pair_ = (next_recent_pair_ + 1) % recent_pairs_.size();
  }
  PairStats& p = *found;
  ++p.matches;
  if (p.recent.size() < kRecent) {
    p.recent.push_back(offset_ns);
  } else {
    p.recent[p.next] = offset_ns;
    p.next = (p.next + 1) % kRecent;
  }
  p.max_abs = std::max(p.max_abs, offset_ns < 0 ? -offset_ns : offset_ns);
}

uint32_t OverlapIndex::KeyHash(const KeyInfo& key) {
  const size_t h = absl::Hash<std::tuple<uint32_t, uint32_t, uint16_t, uint16_t>>()(
      std::make_tuple(key.client, key.server, key.port, key.site));
  return static_cast<uint32_t>(h ^ (uint64_t{h} >> 32));
}

uint32_t OverlapIndex::Hash(uint32_t key_hash, uint32_t fingerprint) {
  // MurmurHash3's 32-bit finaliser: bijective, so for one key distinct fingerprints never
  // share a hash.
  uint32_t x = fingerprint ^ key_hash;
  x ^= x >> 16;
  x *= 0x85ebca6bU;
  x ^= x >> 13;
  x *= 0xc2b2ae35U;
  x ^= x >> 16;
  return x;
}

uint32_t OverlapIndex::NewBatch(int64_t start_ns) {
  if (free_batches_.empty()) {
    batches_.push_back(BatchStart{start_ns, 0});
    return static_cast<uint32_t>(batches_.size() - 1);
  }
  const uint32_t id = free_batches_.back();
  free_batches_.pop_back();
  batches_[id] = BatchStart{start_ns, 0};
  return id;
}

void OverlapIndex::ReleaseSightings(uint32_t id, uint32_t count) {
  BatchStart& b = batches_[id];
  b.sightings -= count;
  if (b.sightings == 0) {
    free_batches_.push_back(id);
  }
}

uint64_t OverlapIndex::Add(uint32_t sensor, absl::string_view sensor_name,
                           const common::Batch& batch, absl::Span<const RecordIds> ids,
                           std::vector<Uncounted>* out, uint16_t site) {
  if (names_.size() <= sensor) {
    names_.resize(sensor + 1);
  }
  names_[sensor] = std::string(sensor_name);
  // Deciding a sighting reads those up to two tolerances before it (its matches and theirs):
  // one no later than the newest forgotten plus that is late, not matched.
  const int64_t earliest_ns = forgotten_ns_ == std::numeric_limits<int64_t>::min()
                                  ? forgotten_ns_
                                  : forgotten_ns_ + 2 * tolerance_ns_ + 1;
  // The batch's sightings first, so that each one's slot can be fetched a few sightings ahead:
  // the table is far larger than the caches, and overlapping its misses is what keeps matching
  // cheap.
  // Kept between calls: a batch's buffer is large enough that freeing it would make malloc
  // consolidate its free lists every time.
  std::vector<Slot>& pending = pending_;
  pending.clear();
  const uint32_t batch_id = NewBatch(batch.start_ns);
  uint32_t logged = 0;
  size_t next = 0;
  constexpr size_t kKeysAhead = 8;
  for (size_t i = 0; i < batch.records.size() && i < ids.size(); ++i) {
    if (i + kKeysAhead < ids.size() && ids[i + kKeysAhead].key_id < keys_.size()) {
      __builtin_prefetch(&keys_[ids[i + kKeysAhead].key_id]);
    }
    const common::Record& r = batch.records[i];
    const size_t end = next + static_cast<size_t>(r.connections);
    if (end > batch.handshakes.size()) {
      break;  // Validated before commit: cannot happen.
    }
    const RecordIds& id = ids[i];
    if (id.key_id == kSkipped) {
      next = end;
      continue;
    }
    if (keys_.size() <= id.key_id) {
      keys_.resize(size_t{id.key_id} + 1);
    }
    KeyInfo& key = keys_[id.key_id];
    if (key.state == KeyState::kUnseen || key.site != site) {
      RegisterKey(id.key_id, KeyInfo{.client = id.client,
                                     .server = id.server,
                                     .sensor = sensor,
                                     .port = r.key.server_port,
                                     .site = site});
    }
    // A key no other sensor sent has nothing to match its sightings with: they only go into
    // the log, and nothing changes.
    const bool shared = key.state == KeyState::kShared;
    const uint32_t key_hash = shared ? KeyHash(key) : 0;
    for (; next < end; ++next) {
      const common::Handshake& h = batch.handshakes[next];
      const int64_t time_ns = batch.start_ns + int64_t{h.offset_ms} * kMsNs;
      if (time_ns < earliest_ns) {
        ++late_;
      } else if (shared) {
        pending.push_back(
            Slot{Hash(key_hash, h.fingerprint), id.key_id + 1, batch_id, h.offset_ms});
      } else {
        ++logged;
        AppendLogged(key, h.fingerprint, batch_id, h.offset_ms, time_ns);
      }
    }
  }
  batches_[batch_id].sightings = logged;
  Reserve(pending.size());
  constexpr size_t kAhead = 16;
  const size_t mask = capacity_ - 1;
  for (size_t k = 0; k < pending.size(); ++k) {
    if (k + kAhead < pending.size()) {
      // The run goes on past the home slot more often than not: fetch the next line too.
      const char* home = reinterpret_cast<const char*>(&slots_[pending[k + kAhead].hash & mask]);
      __builtin_prefetch(home);
      __builtin_prefetch(home + 64);
    }
    if (AddSighting(pending[k], out)) {
      ++batches_[batch_id].sightings;
    }
  }
  if (batches_[batch_id].sightings == 0) {
    free_batches_.push_back(batch_id);
  }
  newest_ns_ = std::max(newest_ns_, batch.end_ns);
  Prune();
  return logged + pending.size();
}

void OverlapIndex::RegisterKey(uint32_t key_id, const KeyInfo& info) {
  KeyInfo& key = keys_[key_id];
  if (key.state != KeyState::kUnseen) {
    // The key's sensor now names another site. Finding a key's other sensors goes by site, so
    // give that up for good: every key into the table, where matching compares each
    // sighting's key as it is now.
    if (!all_shared_) {
      all_shared_ = true;
      for (uint32_t k = 0; k < keys_.size(); ++k) {
        if (keys_[k].state == KeyState::kAlone) {
          MoveLogged(k);
          keys_[k].state = KeyState::kShared;
        }
      }
      first_keys_ = std::vector<uint32_t>();
      first_keys_count_ = 0;
    }
    key.site = info.site;
    key.state = KeyState::kShared;
    return;
  }
  key = info;
  if (all_shared_) {
    key.state = KeyState::kShared;
    return;
  }
  const uint32_t first = FindOrAddFirstKey(key_id);
  if (first == key_id) {
    key.state = KeyState::kAlone;
    return;
  }
  // A second sensor's key: from now on the sightings of both (of all) go into the table. Only
  // the first key can still be alone: any later one made it shared.
  if (keys_[first].state == KeyState::kAlone) {
    MoveLogged(first);
    keys_[first].state = KeyState::kShared;
  }
  key.state = KeyState::kShared;
}

uint32_t OverlapIndex::FindOrAddFirstKey(uint32_t key_id) {
  if (2 * (first_keys_count_ + 1) > first_keys_.size()) {
    std::vector<uint32_t> old = std::move(first_keys_);
    first_keys_.assign(std::max<size_t>(1024, 2 * old.size()), 0);
    const size_t mask = first_keys_.size() - 1;
    for (const uint32_t v : old) {
      if (v != 0) {
        size_t i = KeyHash(keys_[v - 1]) & mask;
        while (first_keys_[i] != 0) {
          i = (i + 1) & mask;
        }
        first_keys_[i] = v;
      }
    }
  }
  const size_t mask = first_keys_.size() - 1;
  const KeyInfo& key = keys_[key_id];
  for (size_t i = KeyHash(key) & mask;; i = (i + 1) & mask) {
    const uint32_t v = first_keys_[i];
    if (v == 0) {
      first_keys_[i] = key_id + 1;
      ++first_keys_count_;
      return key_id;
    }
    const KeyInfo& o = keys_[v - 1];
    if (o.client == key.client && o.server == key.server && o.port == key.port &&
        o.site == key.site) {
      return v - 1;
    }
  }
}

void OverlapIndex::AppendLogged(KeyInfo& key, uint32_t fingerprint, uint32_t batch,
                                uint32_t start_offset_ms, int64_t time_ns) {
  if (log_end_ - log_begin_ == chunks_.size() * log_chunk_) {
    LogChunk chunk;
    if (spare_chunk_ != nullptr) {
      chunk.entries = std::move(spare_chunk_);  // Its pages are in place already.
    } else {
      chunk.entries = std::make_unique_for_overwrite<LogEntry[]>(log_chunk_);
    }
    chunks_.push_back(std::move(chunk));
  }
  const uint64_t position = log_end_++;
  uint32_t back = 0;
  if (key.logged && key.log_head() >= log_begin_ &&
      position - key.log_head() <= std::numeric_limits<uint32_t>::max()) {
    back = static_cast<uint32_t>(position - key.log_head());
  }
  LogChunk& chunk = chunks_.back();
  chunk.entries[(position - log_begin_) & (log_chunk_ - 1)] =
      LogEntry{fingerprint, batch, start_offset_ms, back};
  chunk.newest_ns = std::max(chunk.newest_ns, time_ns);
  key.set_log_head(position);
  key.logged = true;
  ++logged_;
}

void OverlapIndex::MoveLogged(uint32_t key_id) {
  KeyInfo& key = keys_[key_id];
  if (!key.logged) {
    return;
  }
  key.logged = false;
  const uint32_t key_hash = KeyHash(key);
  for (uint64_t position = key.log_head(); position >= log_begin_;) {
    LogEntry& e = LogAt(position);
    if (e.batch != kMoved) {
      // Alone, a sighting was counted and changed nothing; in the table it is the same until
      // another sensor's sighting of its handshake comes.
      Reserve(1);
      Place(Slot{Hash(key_hash, e.fingerprint), key_id + 1, e.batch, e.start_offset_ms});
      ++sightings_count_;
      --logged_;
      e.batch = kMoved;
    }
    if (e.back == 0 || position - log_begin_ < e.back) {
      break;
    }
    position -= e.back;
  }
}

bool OverlapIndex::AddSighting(const Slot& n, std::vector<Uncounted>* out) {
  const size_t mask = capacity_ - 1;
  const KeyInfo& key = keys_[n.key_id_plus1 - 1];
  // The group: every sighting of this handshake in n's run (the run ends at an empty slot).
  // Equal hashes of one key mean equal fingerprints (Hash() is a bijection for one key).
  Sightings group;
  size_t i = n.hash & mask;
  for (; slots_[i].key_id_plus1 != 0; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.hash != n.hash) {
      continue;
    }
    const KeyInfo& other = keys_[s.key_id_plus1 - 1];
    if (other.client == key.client && other.server == key.server && other.port == key.port &&
        other.site == key.site) {
      group.push_back(Sighting{TimeOf(s), other.sensor, s.key_id_plus1 - 1, s.start_offset_ms});
    }
  }
  if (group.size() >= kMaxGroup) {
    ++late_;  // Implausibly many sightings of one handshake: counted, not matched.
    return false;
  }
  if (!group.empty()) {
    Decide(group, Sighting{TimeOf(n), key.sensor, n.key_id_plus1 - 1, n.start_offset_ms}, out);
  }  // Else n is alone: counted, and nothing else changes.
  slots_[i] = n;
  ++sightings_count_;
  return true;
}

void OverlapIndex::Decide(Sightings& group, const Sighting& n, std::vector<Uncounted>* out) {
  // The run holds a group in no particular order (erasing and growing move sightings): sort
  // it, so that ties are broken the same way whatever the table's history.
  std::sort(group.begin(), group.end(), [](const Sighting& a, const Sighting& b) {
    return std::tie(a.time_ns, a.sensor, a.key_id, a.start_offset_ms) <
           std::tie(b.time_ns, b.sensor, b.key_id, b.start_offset_ms);
  });
  // Only the sightings of this key and fingerprint can change status: compare each one's
  // status without and with n, and pass on the changes.
  uint32_t before = 0;  // Bit j: group[j] counted (kMaxGroup <= 32).
  for (size_t j = 0; j < group.size(); ++j) {
    before |= Counted(group[j], group) ? uint32_t{1} << j : 0;
  }
  group.push_back(n);
  const Sighting& added_n = group.back();
  for (size_t j = 0; j + 1 < group.size(); ++j) {
    const bool after = Counted(group[j], group);
    if (after != ((before >> j) & 1)) {
      out->push_back(Uncounted{group[j].key_id, group[j].batch_start_ns(), after ? -1 : 1});
    }
    if (Partner(added_n, group[j].sensor, group) == &group[j]) {
      NoteOffset(n.sensor, group[j].sensor, added_n.time_ns - group[j].time_ns);
      NoteOffset(group[j].sensor, n.sensor, group[j].time_ns - added_n.time_ns);
    }
  }
  if (!Counted(added_n, group)) {
    out->push_back(Uncounted{n.key_id, n.batch_start_ns(), 1});
  }
}

void OverlapIndex::SlotsUnmap::operator()(Slot* slots) const { munmap(slots, bytes); }

OverlapIndex::SlotMemory OverlapIndex::AllocateSlots(size_t capacity) {
  const size_t bytes =
      (capacity * sizeof(Slot) + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  // Map a huge page more than needed and trim both ends, so that the table starts on a huge
  // page boundary.
  void* mapped = mmap(nullptr, bytes + kHugePageBytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SYNMAP_CHECK(mapped != MAP_FAILED) << "out of memory for " << capacity << " overlap slots";
  const uintptr_t start = reinterpret_cast<uintptr_t>(mapped);
  const uintptr_t aligned = (start + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  if (aligned > start) {
    munmap(mapped, aligned - start);
  }
  if (start + kHugePageBytes > aligned) {
    munmap(reinterpret_cast<void*>(aligned + bytes), start + kHugePageBytes - aligned);
  }
  madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);  // Advice: may be refused.
  return SlotMemory(reinterpret_cast<Slot*>(aligned), SlotsUnmap{bytes});
}

void OverlapIndex::Reserve(size_t more) {
  const size_t want = sightings_count_ + more;
  size_t capacity = capacity_ == 0 ? 1024 : capacity_;
  while (want > capacity / 4 * 3) {
    capacity *= 2;
  }
  if (capacity == capacity_) {
    return;
  }
  SlotMemory grown = AllocateSlots(capacity);  // Address space only, until written.
  if (capacity_ == 0 || grown.get_deleter().bytes > slots_.get_deleter().bytes) {
    if (capacity_ != 0) {
      // The old pages move to the start of the new range; the rest of it is zero-filled.
      void* moved = mremap(slots_.get(), slots_.get_deleter().bytes, grown.get_deleter().bytes,
                           MREMAP_MAYMOVE | MREMAP_FIXED, grown.get());
      SYNMAP_CHECK(moved == grown.get()) << "cannot grow the overlap table to " << capacity;
      static_cast<void>(slots_.release());  // Its pages belong to `grown` now.
    }
    slots_ = std::move(grown);
  }  // Else the mapping (whole huge pages) already spans `capacity` slots, zeroed past the old.
  const size_t old_capacity = capacity_;
  capacity_ = capacity;
  RehashFrom(old_capacity);
}

void OverlapIndex::RehashFrom(size_t old_capacity) {
  if (old_capacity == 0) {
    return;
  }
  // A sighting's new home is its old home plus a multiple of old_capacity. Going up from an
  // empty slot e, each sighting is taken out and put back from its new home: at or before
  // where it was (past sightings already placed), or above the old table, where only placed
  // ones are; a run going round the end stops at the slots before e, emptied first. Those
  // (a run that went round the old table's end, or part of one) are put back last.
  size_t e = 0;
  while (slots_[e].key_id_plus1 != 0) {
    ++e;  // The table is never full.
  }
  const std::vector<Slot> first(slots_.get(), slots_.get() + e);
  std::fill(slots_.get(), slots_.get() + e, Slot{});
  for (size_t i = e + 1; i < old_capacity; ++i) {
    if (slots_[i].key_id_plus1 != 0) {
      const Slot s = slots_[i];
      slots_[i] = Slot{};
      Place(s);
    }
  }
  for (const Slot& s : first) {
    Place(s);
  }
}

void OverlapIndex::Place(const Slot& s) {
  const size_t mask = capacity_ - 1;
  size_t i = s.hash & mask;
  while (slots_[i].key_id_plus1 != 0) {
    i = (i + 1) & mask;
  }
  slots_[i] = s;
}

void OverlapIndex::EraseAt(size_t i) {
  const size_t mask = capacity_ - 1;
  size_t hole = i;
  for (size_t j = (i + 1) & mask; slots_[j].key_id_plus1 != 0; j = (j + 1) & mask) {
    // A sighting may fill the hole if the hole is not before its home (cyclically): its home
    // is at least as far back from j as the hole is.
    const size_t home = slots_[j].hash & mask;
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{};
}

void OverlapIndex::Prune() {
  // Over the memory budget, the horizon kept is halved until what is kept fits (not below
  // four tolerances: then the budget is exceeded rather than the matching broken); well under
  // it, it grows back towards the configured horizon.
  auto shrink = [this] {
    return bytes() > max_bytes_ && kept_horizon_ns_ / 2 >= 4 * tolerance_ns_;
  };
  if (newest_ns_ - pruned_ns_ < kMinuteNs && !shrink()) {
    return;
  }
  pruned_ns_ = newest_ns_;
  ForgetBefore(newest_ns_ - kept_horizon_ns_);
  while (shrink()) {
    kept_horizon_ns_ /= 2;
    ForgetBefore(newest_ns_ - kept_horizon_ns_);
  }
  if (bytes() < max_bytes_ / 2) {
    kept_horizon_ns_ = std::min(horizon_ns_, 2 * kept_horizon_ns_);
  }
}

void OverlapIndex::ForgetBefore(int64_t limit) {
  // Erasing moves later sightings of the run back into slot i, so i is looked at again; a
  // sighting moved across the table's end may be looked at twice, which is harmless.
  for (size_t i = 0; i < capacity_;) {
    const int64_t time_ns = slots_[i].key_id_plus1 != 0 ? TimeOf(slots_[i]) : limit;
    if (time_ns < limit) {
      const uint32_t batch = slots_[i].batch;
      EraseAt(i);
      --sightings_count_;
      ReleaseSightings(batch, 1);
      forgotten_ns_ = std::max(forgotten_ns_, time_ns);
    } else {
      ++i;
    }
  }
  // The log forgets whole chunks, the oldest first, once all of a chunk's sightings are older
  // (never the one being filled). A key whose newest sightings went with them finds its list
  // ends before log_begin_.
  while (chunks_.size() > 1 && chunks_.front().newest_ns < limit) {
    const LogEntry* entries = chunks_.front().entries.get();
    for (size_t j = 0; j < log_chunk_; ++j) {
      if (entries[j].batch != kMoved) {
        ReleaseSightings(entries[j].batch, 1);
        --logged_;
        forgotten_ns_ = std::max(forgotten_ns_, chunks_.front().newest_ns);
      }
    }
    spare_chunk_ = std::move(chunks_.front().entries);
    chunks_.pop_front();
    log_begin_ += log_chunk_;
  }
}

std::vector<std::vector<OverlapPeer>> OverlapIndex::Report() const {
  std::vector<std::vector<OverlapPeer>> out(names_.size());
  for (const auto& [pair, stats] : pairs_) {
    std::vector<int64_t> offsets = stats.recent;
    OverlapPeer peer;
    peer.peer = pair.second;
    peer.matches = stats.matches;
    peer.max_abs_offset_ns = stats.max_abs;
    if (!offsets.empty()) {
      auto mid = offsets.begin() + static_cast<std::ptrdiff_t>(offsets.size() / 2);
      std::nth_element(offsets.begin(), mid, offsets.end());
      peer.median_offset_ns = *mid;
    }
    out[pair.first].push_back(peer);
  }
  for (auto& peers : out) {
    std::sort(peers.begin(), peers.end(),
              [](const OverlapPeer& a, const OverlapPeer& b) { return a.peer < b.peer; });
  }
  return out;
}

}  // namespace synmap::collector::internal
