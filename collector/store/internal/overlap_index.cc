#include "collector/store/internal/overlap_index.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "collector/store/store.h"

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
  return absl::OkStatus();
}

}  // namespace synmap::collector

namespace synmap::collector::internal {
namespace {

constexpr int64_t kMinuteNs = 60'000'000'000;
constexpr int64_t kMsNs = 1'000'000;

}  // namespace

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
  PairStats& p = pairs_[{sensor, peer}];
  ++p.matches;
  if (p.recent.size() < kRecent) {
    p.recent.push_back(offset_ns);
  } else {
    p.recent[p.next] = offset_ns;
    p.next = (p.next + 1) % kRecent;
  }
  p.max_abs = std::max(p.max_abs, offset_ns < 0 ? -offset_ns : offset_ns);
}

uint64_t OverlapIndex::Add(uint32_t sensor, absl::string_view sensor_name,
                           const common::Batch& batch, absl::Span<const RecordIds> ids,
                           std::vector<Uncounted>* out) {
  if (names_.size() <= sensor) {
    names_.resize(sensor + 1);
  }
  names_[sensor] = std::string(sensor_name);
  // Every sighting at or after newest - horizon is kept; deciding a sighting reads those up to
  // two tolerances before it (its matches and theirs). Older ones are late: not matched.
  const int64_t earliest_ns = newest_ns_ == 0 ? std::numeric_limits<int64_t>::min()
                                              : newest_ns_ - horizon_ns_ + 2 * tolerance_ns_;
  // The batch's sightings first, so that each one's map slot can be fetched a few sightings
  // ahead: the map is far larger than the caches, and overlapping its misses is what keeps
  // matching cheap.
  struct Pending {
    SightingKey key;
    Sighting sighting;
  };
  std::vector<Pending> pending;
  pending.reserve(batch.handshakes.size());
  size_t next = 0;
  for (size_t i = 0; i < batch.records.size() && i < ids.size(); ++i) {
    const common::Record& r = batch.records[i];
    const size_t end = next + static_cast<size_t>(r.connections);
    if (end > batch.handshakes.size()) {
      break;  // Validated before commit: cannot happen.
    }
    for (; next < end; ++next) {
      if (ids[i].key_id == kSkipped) {
        continue;
      }
      const common::Handshake& h = batch.handshakes[next];
      const Sighting n{batch.start_ns + int64_t{h.offset_ms} * kMsNs, sensor, ids[i].key_id,
                       h.offset_ms};
      if (n.time_ns < earliest_ns) {
        ++late_;
        continue;
      }
      pending.push_back(
          Pending{SightingKey{ids[i].client, ids[i].server, h.fingerprint, r.key.server_port}, n});
    }
  }
  sightings_.reserve(sightings_.size() + pending.size());
  constexpr size_t kAhead = 8;
  for (size_t k = 0; k < pending.size(); ++k) {
    if (k + kAhead < pending.size()) {
      sightings_.prefetch(pending[k + kAhead].key);
    }
    AddSighting(pending[k].key, pending[k].sighting, out);
  }
  newest_ns_ = std::max(newest_ns_, batch.end_ns);
  Prune();
  return pending.size();
}

void OverlapIndex::AddSighting(const SightingKey& key, const Sighting& n,
                               std::vector<Uncounted>* out) {
  Sightings& all = sightings_[key];
  if (all.size() >= kMaxGroup) {
    ++late_;  // Implausibly many sightings of one handshake: counted, not matched.
    return;
  }
  // Only the sightings of this key and fingerprint can change status: compare each one's
  // status without and with n, and pass on the changes.
  uint32_t before = 0;  // Bit j: all[j] counted (kMaxGroup <= 32).
  for (size_t j = 0; j < all.size(); ++j) {
    before |= Counted(all[j], all) ? uint32_t{1} << j : 0;
  }
  all.push_back(n);
  const Sighting& added_n = all.back();
  for (size_t j = 0; j + 1 < all.size(); ++j) {
    const bool after = Counted(all[j], all);
    if (after != ((before >> j) & 1)) {
      out->push_back(Uncounted{all[j].key_id, all[j].batch_start_ns(), after ? -1 : 1});
    }
    if (Partner(added_n, all[j].sensor, all) == &all[j]) {
      NoteOffset(n.sensor, all[j].sensor, added_n.time_ns - all[j].time_ns);
      NoteOffset(all[j].sensor, n.sensor, all[j].time_ns - added_n.time_ns);
    }
  }
  if (!Counted(added_n, all)) {
    out->push_back(Uncounted{n.key_id, n.batch_start_ns(), 1});
  }
  ++sightings_count_;
}

void OverlapIndex::Prune() {
  if (newest_ns_ - pruned_ns_ < kMinuteNs) {
    return;
  }
  pruned_ns_ = newest_ns_;
  const int64_t limit = newest_ns_ - horizon_ns_;
  for (auto it = sightings_.begin(); it != sightings_.end();) {
    Sightings& all = it->second;
    const size_t before = all.size();
    all.erase(std::remove_if(all.begin(), all.end(),
                             [&](const Sighting& s) { return s.time_ns < limit; }),
              all.end());
    sightings_count_ -= before - all.size();
    if (all.empty()) {
      sightings_.erase(it++);
    } else {
      ++it;
    }
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
