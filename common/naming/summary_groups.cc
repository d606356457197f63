#include "common/naming/summary_groups.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_map.h"

namespace synmap::common {

std::vector<SummaryGroup> SummaryGrouper::Sum(
    absl::FunctionRef<void(uint32_t ref, GroupTotals&)> add) {
  // The group map is larger than the caches on big answers, so each lookup is prefetched a few
  // members ahead to overlap the misses.
  constexpr size_t kPrefetchDistance = 8;
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, uint32_t> index;
  std::vector<SummaryGroup> groups;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (i + kPrefetchDistance < members_.size()) {
      index.prefetch(members_[i + kPrefetchDistance].group);
    }
    const Member& m = members_[i];
    auto [it, inserted] = index.try_emplace(m.group, static_cast<uint32_t>(groups.size()));
    if (inserted) {
      groups.push_back(SummaryGroup{static_cast<uint32_t>(m.group.first >> 32),
                                    static_cast<uint32_t>(m.group.first),
                                    static_cast<uint32_t>(m.group.second >> 32),
                                    static_cast<uint32_t>(m.group.second), GroupTotals()});
    }
    add(m.ref, groups[it->second].totals);
  }
  members_.clear();
  members_.shrink_to_fit();
  return groups;
}

std::vector<const SummaryGroup*> SortGroups(
    const std::vector<SummaryGroup>& groups, CountKind count, RowOrder order, size_t top_n,
    const Labeler& labeler, absl::FunctionRef<const std::string&(uint32_t sensor)> sensor_name) {
  std::vector<const SummaryGroup*> rows;
  rows.reserve(groups.size());
  for (const SummaryGroup& g : groups) {
    rows.push_back(&g);
  }
  static const std::string kNone;
  auto sensor = [&](const SummaryGroup* g) -> const std::string& {
    return g->sensor == kNoSensor ? kNone : sensor_name(g->sensor);
  };
  auto names = [&](const SummaryGroup* g) {
    return std::forward_as_tuple(labeler.Label(g->client), labeler.Label(g->server),
                                 labeler.Label(g->service), sensor(g));
  };
  auto less = [&](const SummaryGroup* a, const SummaryGroup* b) {
    const uint64_t ca = a->Count(count);
    const uint64_t cb = b->Count(count);
    if (order == RowOrder::kCount) {
      if (ca != cb) {
        return ca > cb;
      }
      return names(a) < names(b);
    }
    if (const auto na = names(a), nb = names(b); na != nb) {
      return na < nb;
    }
    return ca > cb;
  };
  if (rows.size() > top_n) {
    std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(top_n), rows.end(),
                      less);
    rows.resize(top_n);
  } else {
    std::sort(rows.begin(), rows.end(), less);
  }
  return rows;
}

}  // namespace synmap::common
