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
      const uint32_t slot = static_cast<uint32_t>(m.group.second);
      groups.push_back(SummaryGroup{static_cast<uint32_t>(m.group.first >> 32),
                                    static_cast<uint32_t>(m.group.first),
                                    static_cast<uint32_t>(m.group.second >> 32),
                                    slot == ~m.site ? kNoSensor : slot, m.site, GroupTotals()});
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
  static const std::string kNone;
  // Each row's labels are looked up once, not in every comparison (a Labeler lookup of an IP
  // label is a hash-map probe; comparisons are n log n). No label is made while sorting, so the
  // references stay valid.
  struct SortRow {
    uint64_t count;
    const std::string* client;
    const std::string* server;
    const std::string* service;
    const std::string* sensor;
    const std::string* site;
    const SummaryGroup* group;
  };
  std::vector<SortRow> sorted;
  sorted.reserve(groups.size());
  for (const SummaryGroup& g : groups) {
    sorted.push_back(SortRow{g.Count(count), &labeler.Label(g.client), &labeler.Label(g.server),
                             &labeler.Label(g.service),
                             g.sensor == kNoSensor ? &kNone : &sensor_name(g.sensor),
                             &labeler.SiteName(g.site), &g});
  }
  auto names = [](const SortRow& r) {
    return std::tie(*r.site, *r.client, *r.server, *r.service, *r.sensor);
  };
  auto less = [&](const SortRow& a, const SortRow& b) {
    if (order == RowOrder::kCount) {
      if (a.count != b.count) {
        return a.count > b.count;
      }
      return names(a) < names(b);
    }
    if (const auto na = names(a), nb = names(b); na != nb) {
      return na < nb;
    }
    return a.count > b.count;
  };
  if (sorted.size() > top_n) {
    std::partial_sort(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(top_n),
                      sorted.end(), less);
    sorted.resize(top_n);
  } else {
    std::sort(sorted.begin(), sorted.end(), less);
  }
  std::vector<const SummaryGroup*> rows;
  rows.reserve(sorted.size());
  for (const SortRow& r : sorted) {
    rows.push_back(r.group);
  }
  return rows;
}

}  // namespace synmap::common
