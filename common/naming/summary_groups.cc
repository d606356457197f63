#include "common/naming/summary_groups.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "common/aggregate/parallel_sort.h"

namespace synmap::common {

std::vector<SummaryGroup> SummaryGrouper::Sum(
    absl::FunctionRef<void(uint32_t ref, GroupTotals&)> add) {
  // Grouping by sorting the members: equal group keys become neighbours, so the rows are made in
  // one pass, counted first so the rows vector is allocated once at its size (a hash map of the
  // groups and a doubling vector cost twice the rows' memory at their peak on big answers).
  ParallelSort(members_.begin(), members_.end(),
               [](const Member& a, const Member& b) { return a.group < b.group; });
  size_t rows = 0;
  for (size_t i = 0; i < members_.size(); ++i) {
    rows += i == 0 || members_[i].group != members_[i - 1].group ? 1 : 0;
  }
  std::vector<SummaryGroup> groups;
  groups.reserve(rows);
  for (size_t i = 0; i < members_.size(); ++i) {
    const Member& m = members_[i];
    if (i == 0 || m.group != members_[i - 1].group) {
      const uint32_t slot = static_cast<uint32_t>(m.group.second);
      groups.push_back(SummaryGroup{static_cast<uint32_t>(m.group.first >> 32),
                                    static_cast<uint32_t>(m.group.first),
                                    static_cast<uint32_t>(m.group.second >> 32),
                                    slot == ~m.site ? kNoSensor : slot, m.site, GroupTotals()});
    }
    add(m.ref, groups.back().totals);
  }
  members_.clear();
  members_.shrink_to_fit();
  return groups;
}

namespace {

constexpr uint32_t kUnranked = 0xffffffffu;

// The labels the rows use, ranked in text order: rank(a) < rank(b) exactly when a's text sorts
// before b's, equal ranks for equal texts. Sorting rows then compares integers instead of
// strings, and no label text is kept: each used label's text is made once, here, and kept as its
// first 16 bytes (all of an IPv4 address) plus, past them, its tail in a shared buffer; all of
// it is freed when the ranks are made (24 bytes a label, and the tails).
class LabelRanks {
 public:
  LabelRanks(const std::vector<SummaryGroup>& groups, const Labeler& labeler)
      : ip_rank_(labeler.ip_count(), kUnranked),
        interned_rank_(labeler.interned_count(), kUnranked) {
    for (const SummaryGroup& g : groups) {
      Use(g.client);
      Use(g.server);
      Use(g.service);
    }
    std::string tails;  // Per long text: its length past 16 bytes (one byte), then those bytes.
    std::vector<Entry> entries;
    entries.reserve(used_);
    Labeler::TextBuffer buffer;
    auto add = [&](uint32_t label_id) {
      const absl::string_view text = labeler.Text(label_id, buffer);
      Entry e{Word(text, 0), Word(text, 8), label_id, kNoTail};
      if (text.size() > 16) {
        // Names may be longer than an address: the tail of one over 255 bytes past the prefix is
        // cut, and ties of cut tails are broken by the texts themselves.
        e.tail = static_cast<uint32_t>(tails.size());
        const absl::string_view rest = text.substr(16, 255);
        tails.push_back(static_cast<char>(rest.size()));
        tails.append(rest.data(), rest.size());
      }
      entries.push_back(e);
    };
    for (uint32_t id = 0; id < interned_rank_.size(); ++id) {
      if (interned_rank_[id] != kUnranked) {
        add(id);
      }
    }
    for (uint32_t ip = 0; ip < ip_rank_.size(); ++ip) {
      if (ip_rank_[ip] != kUnranked) {
        add(Labeler::IpLabel(ip));
      }
    }
    auto tail = [&](const Entry& e) {
      return e.tail == kNoTail
                 ? absl::string_view()
                 : absl::string_view(tails).substr(e.tail + 1, static_cast<uint8_t>(tails[e.tail]));
    };
    // -1, 0, 1 as a's text sorts before, equal to or after b's. Called from two threads at once
    // (ParallelSort): its buffers are its own.
    auto compare = [&](const Entry& a, const Entry& b) {
      if (a.high != b.high) {
        return a.high < b.high ? -1 : 1;
      }
      if (a.low != b.low) {
        return a.low < b.low ? -1 : 1;
      }
      const absl::string_view ta = tail(a), tb = tail(b);
      if (const int c = ta.compare(tb); c != 0 || ta.size() < 255) {
        return c;
      }
      // Equal cut tails: compare the texts.
      Labeler::TextBuffer a_buffer, b_buffer;
      return labeler.Text(a.label_id, a_buffer).compare(labeler.Text(b.label_id, b_buffer));
    };
    ParallelSort(entries.begin(), entries.end(),
                 [&](const Entry& a, const Entry& b) { return compare(a, b) < 0; });
    uint32_t rank = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i > 0 && compare(entries[i - 1], entries[i]) != 0) {
        ++rank;
      }
      Slot(entries[i].label_id) = rank;
    }
  }

  uint32_t operator()(uint32_t label_id) const {
    return Labeler::IsIpLabel(label_id) ? ip_rank_[Labeler::IpOf(label_id)]
                                        : interned_rank_[label_id];
  }

 private:
  static constexpr uint32_t kNoTail = 0xffffffffu;
  struct Entry {
    uint64_t high;  // Bytes 0-7 of the text, big-endian, zero-padded: most comparisons end here.
    uint64_t low;   // Bytes 8-15.
    uint32_t label_id;
    uint32_t tail;  // Offset of the text past 16 bytes in the tails buffer, or kNoTail.
  };
  static uint64_t Word(absl::string_view text, size_t from) {
    uint64_t word = 0;
    for (size_t i = from; i < from + 8; ++i) {
      word = (word << 8) | (i < text.size() ? static_cast<uint8_t>(text[i]) : 0u);
    }
    return word;
  }
  uint32_t& Slot(uint32_t label_id) {
    return Labeler::IsIpLabel(label_id) ? ip_rank_[Labeler::IpOf(label_id)]
                                        : interned_rank_[label_id];
  }
  void Use(uint32_t label_id) {
    uint32_t& slot = Slot(label_id);
    if (slot == kUnranked) {
      slot = 0;
      ++used_;
    }
  }

  std::vector<uint32_t> ip_rank_;
  std::vector<uint32_t> interned_rank_;
  size_t used_ = 0;
};

// Ranks of a few names (sites, sensors) in text order, by id.
template <typename Id>
absl::flat_hash_map<Id, uint32_t> RankNames(std::vector<std::pair<const std::string*, Id>> names) {
  std::sort(names.begin(), names.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  absl::flat_hash_map<Id, uint32_t> ranks;
  uint32_t rank = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0 && *names[i].first != *names[i - 1].first) {
      ++rank;
    }
    ranks[names[i].second] = rank;
  }
  return ranks;
}

}  // namespace

std::vector<const SummaryGroup*> SortGroups(
    const std::vector<SummaryGroup>& groups, CountKind count, RowOrder order, size_t top_n,
    const Labeler& labeler, absl::FunctionRef<const std::string&(uint32_t sensor)> sensor_name) {
  static const std::string kNone;
  // Rows compare integer ranks of their names (site, client, server, service, sensor) in text
  // order, looked up once per row: no string is compared or kept while sorting.
  const LabelRanks label_rank(groups, labeler);
  absl::flat_hash_map<uint32_t, const std::string*> site_names;
  absl::flat_hash_map<uint32_t, const std::string*> sensor_names;
  for (const SummaryGroup& g : groups) {
    site_names.try_emplace(g.site, &labeler.SiteName(g.site));
    if (auto [it, inserted] = sensor_names.try_emplace(g.sensor, &kNone);
        inserted && g.sensor != kNoSensor) {
      it->second = &sensor_name(g.sensor);
    }
  }
  auto ranks_of = [](const absl::flat_hash_map<uint32_t, const std::string*>& names) {
    std::vector<std::pair<const std::string*, uint32_t>> list;
    for (const auto& [id, name] : names) {
      list.emplace_back(name, id);
    }
    return RankNames(std::move(list));
  };
  const absl::flat_hash_map<uint32_t, uint32_t> site_rank = ranks_of(site_names);
  const absl::flat_hash_map<uint32_t, uint32_t> sensor_rank = ranks_of(sensor_names);
  const bool one_site = site_rank.size() <= 1;
  const bool one_sensor = sensor_rank.size() <= 1;

  struct SortRow {
    uint64_t count;
    uint32_t site;
    uint32_t client;
    uint32_t server;
    uint32_t service;
    uint32_t sensor;
    uint32_t group;  // Index into `groups`.
  };
  std::vector<SortRow> sorted;
  sorted.reserve(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    const SummaryGroup& g = groups[i];
    sorted.push_back(SortRow{g.Count(count), one_site ? 0 : site_rank.at(g.site),
                             label_rank(g.client), label_rank(g.server), label_rank(g.service),
                             one_sensor ? 0 : sensor_rank.at(g.sensor), static_cast<uint32_t>(i)});
  }
  auto names = [](const SortRow& r) {
    return std::tie(r.site, r.client, r.server, r.service, r.sensor);
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
    ParallelSort(sorted.begin(), sorted.end(), less);
  }
  std::vector<const SummaryGroup*> rows;
  rows.reserve(sorted.size());
  for (const SortRow& r : sorted) {
    rows.push_back(&groups[r.group]);
  }
  return rows;
}

}  // namespace synmap::common
