#include "common/naming/summary_groups.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "common/aggregate/parallel_sort.h"
#include "common/log/log.h"

namespace synmap::common {

SummaryGrouper::SummaryGrouper(Labeler& labeler)
    : labeler_(labeler), index_(0, RowHash{&rows_}, RowEq{&rows_}) {}

void SummaryGrouper::Reserve(size_t keys) {
  rows_.reserve(keys);
  index_.reserve(keys);
}

SummaryGrouper::GroupKey SummaryGrouper::KeyOf(const SummaryGroup& row) {
  // A sensor belongs to one site, so with sensors kept apart the sensor id also tells the site;
  // without, the site takes the sensor's slot (as ~site, far above any sensor id).
  const uint32_t slot = row.sensor != kNoSensor ? row.sensor : ~row.site;
  return GroupKey{(uint64_t{row.client} << 32) | row.server, (uint64_t{row.service} << 32) | slot};
}

size_t SummaryGrouper::RowHash::operator()(const GroupKey& key) const {
  return absl::HashOf(key.labels, key.service_slot);
}

void SummaryGrouper::Add(uint32_t client_ip, uint32_t server_ip, uint16_t port, uint32_t sensor,
                         uint32_t site, const KeyTotals& totals) {
  const SummaryGroup row{.client = labeler_.HostLabelId(client_ip, site),
                         .server = labeler_.HostLabelId(server_ip, site),
                         .service = labeler_.ServiceLabelId(port),
                         .sensor = sensor,
                         .site = site,
                         .totals = {}};
  const uint32_t i = *index_.lazy_emplace(KeyOf(row), [&](const auto& make) {
    SYNMAP_CHECK(rows_.size() < std::numeric_limits<uint32_t>::max()) << "more than 2^32 rows";
    rows_.push_back(row);
    make(static_cast<uint32_t>(rows_.size() - 1));
  });
  rows_[i].totals.Add(client_ip, server_ip, port, totals);
}

std::vector<SummaryGroup> SummaryGrouper::Sum() {
  index_ = decltype(index_)(0, RowHash{&rows_}, RowEq{&rows_});  // Freed (clear() keeps it).
  std::vector<SummaryGroup> rows = std::move(rows_);
  rows_.clear();  // A moved-from vector is valid but unspecified.
  return rows;
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

// What a row is sorted by (its count and the text ranks of its names) and its index in the
// rows. Rows of one site and one sensor leave those two out: 24 bytes a row instead of 32.
struct NarrowSortRow {
  uint64_t count;
  uint32_t client;
  uint32_t server;
  uint32_t service;
  uint32_t group;  // Index into the rows.
  auto names() const { return std::tie(client, server, service); }
};
struct WideSortRow {
  uint64_t count;
  uint32_t site;
  uint32_t client;
  uint32_t server;
  uint32_t service;
  uint32_t sensor;
  uint32_t group;
  auto names() const { return std::tie(site, client, server, service, sensor); }
};

// SortGroups' ordering by rows `make(row, index)`: the sort rows are sorted, then the first
// `top_n` rows are copied out (a few of many) or all rows are moved into that order in place.
template <typename SortRow>
void OrderGroups(std::vector<SummaryGroup>& groups, RowOrder order, size_t top_n,
                 absl::FunctionRef<SortRow(const SummaryGroup&, uint32_t)> make) {
  std::vector<SortRow> sorted;
  sorted.reserve(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    sorted.push_back(make(groups[i], static_cast<uint32_t>(i)));
  }
  auto less = [order](const SortRow& a, const SortRow& b) {
    if (order == RowOrder::kCount) {
      if (a.count != b.count) {
        return a.count > b.count;
      }
      return a.names() < b.names();
    }
    if (const auto na = a.names(), nb = b.names(); na != nb) {
      return na < nb;
    }
    return a.count > b.count;
  };
  if (sorted.size() > top_n) {
    std::partial_sort(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(top_n),
                      sorted.end(), less);
    std::vector<SummaryGroup> top;
    top.reserve(top_n);
    for (size_t i = 0; i < top_n; ++i) {
      top.push_back(groups[sorted[i].group]);
    }
    groups.swap(top);
    return;
  }
  ParallelSort(sorted.begin(), sorted.end(), less);
  // Every row moves to its place in `groups` itself (no second copy of the rows): position i
  // takes row sorted[i].group, cycle by cycle, each cycle's first row held aside.
  constexpr uint32_t kPlaced = std::numeric_limits<uint32_t>::max();
  for (size_t start = 0; start < sorted.size(); ++start) {
    if (sorted[start].group == kPlaced) {
      continue;
    }
    const SummaryGroup first = groups[start];
    size_t to = start;
    while (true) {
      const uint32_t from = sorted[to].group;
      sorted[to].group = kPlaced;
      if (from == start) {
        groups[to] = first;
        break;
      }
      groups[to] = groups[from];
      to = from;
    }
  }
}

}  // namespace

void SortGroups(std::vector<SummaryGroup>& groups, CountKind count, RowOrder order, size_t top_n,
                const Labeler& labeler,
                absl::FunctionRef<const std::string&(uint32_t sensor)> sensor_name) {
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

  if (one_site && one_sensor) {
    OrderGroups<NarrowSortRow>(groups, order, top_n, [&](const SummaryGroup& g, uint32_t i) {
      return NarrowSortRow{g.Count(count), label_rank(g.client), label_rank(g.server),
                           label_rank(g.service), i};
    });
  } else {
    OrderGroups<WideSortRow>(groups, order, top_n, [&](const SummaryGroup& g, uint32_t i) {
      return WideSortRow{g.Count(count),
                         one_site ? 0 : site_rank.at(g.site),
                         label_rank(g.client),
                         label_rank(g.server),
                         label_rank(g.service),
                         one_sensor ? 0 : sensor_rank.at(g.sensor),
                         i};
    });
  }
}

}  // namespace synmap::common
