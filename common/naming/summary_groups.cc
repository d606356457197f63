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
  const SummaryGroup row{.totals = {},
                         .client = labeler_.HostLabelId(client_ip, site),
                         .server = labeler_.HostLabelId(server_ip, site),
                         .service = labeler_.ServiceLabelId(port),
                         .sensor = sensor,
                         .site = site};
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
    // LabelOf()'s table (4 bytes a rank), made once the texts are freed.
    const size_t ranks = entries.empty() ? 0 : size_t{rank} + 1;
    entries = std::vector<Entry>();
    tails = std::string();
    label_of_rank_.resize(ranks);
    for (uint32_t id = 0; id < interned_rank_.size(); ++id) {
      if (interned_rank_[id] != kUnranked) {
        label_of_rank_[interned_rank_[id]] = id;
      }
    }
    for (uint32_t ip = 0; ip < ip_rank_.size(); ++ip) {
      if (ip_rank_[ip] != kUnranked) {
        label_of_rank_[ip_rank_[ip]] = Labeler::IpLabel(ip);
      }
    }
  }

  // A label of rank `rank`: the one label of that text (the Labeler gives equal texts equal
  // ids), or, if ever two had one text, one of them, which reads the same.
  uint32_t LabelOf(uint32_t rank) const { return label_of_rank_[rank]; }

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
  std::vector<uint32_t> label_of_rank_;
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

// SortGroups' ordering of `groups`, whose label ids are their text ranks by then: `names(row)`
// is the tuple of name ranks a row sorts by after (or before) its count.
template <typename Names>
void OrderByRanks(std::vector<SummaryGroup>& groups, CountKind count, RowOrder order, size_t top_n,
                  Names names) {
  auto less = [&](const SummaryGroup& a, const SummaryGroup& b) {
    const uint64_t ca = a.Count(count);
    const uint64_t cb = b.Count(count);
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
  if (groups.size() > top_n) {
    std::partial_sort(groups.begin(), groups.begin() + static_cast<std::ptrdiff_t>(top_n),
                      groups.end(), less);
    groups.resize(top_n);
  } else {
    ParallelSort(groups.begin(), groups.end(), less);
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

  // The rows are sorted in place with their label ids replaced by their ranks, and given their
  // ids back after: no memory per row beyond the rows.
  for (SummaryGroup& g : groups) {
    g.client = label_rank(g.client);
    g.server = label_rank(g.server);
    g.service = label_rank(g.service);
  }
  if (one_site && one_sensor) {
    OrderByRanks(groups, count, order, top_n, [](const SummaryGroup& g) {
      return std::make_tuple(g.client, g.server, g.service);
    });
  } else {
    // By id: a vector lookup in each comparison. Sensor ids are indices of the caller's sensors,
    // kNoSensor (~0u) at 0 as sensor + 1.
    auto by_id = [](const absl::flat_hash_map<uint32_t, uint32_t>& ranks, uint32_t shift) {
      uint32_t size = 0;
      for (const auto& [id, rank] : ranks) {
        size = std::max(size, id + shift + 1);
      }
      std::vector<uint32_t> out(size, 0);
      for (const auto& [id, rank] : ranks) {
        out[id + shift] = rank;
      }
      return out;
    };
    const std::vector<uint32_t> site_of = by_id(site_rank, 0);
    const std::vector<uint32_t> sensor_of = by_id(sensor_rank, 1);
    OrderByRanks(groups, count, order, top_n, [&](const SummaryGroup& g) {
      return std::make_tuple(site_of[g.site], g.client, g.server, g.service,
                             sensor_of[g.sensor + 1]);
    });
  }
  for (SummaryGroup& g : groups) {
    g.client = label_rank.LabelOf(g.client);
    g.server = label_rank.LabelOf(g.server);
    g.service = label_rank.LabelOf(g.service);
  }
}

}  // namespace synmap::common
