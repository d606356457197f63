#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "common/aggregate/saturating.h"
#include "common/naming/labeler.h"

namespace synmap::common {

// The sums of one key's rows inside a time window. first_ns == 0 means the key had no row
// there (stored and captured timestamps are > 0).
struct KeyTotals {
  uint64_t packets = 0;
  uint64_t connections = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
};

// Sums over the keys of one answer row (saturating at UINT64_MAX), plus whether they share one
// port / client / server address (ids into the Labeler's address dictionary, below 2^31 as
// Labeler::IpLabel needs, so they fit the int32 fields beside the two markers).
struct GroupTotals {
  static constexpr int32_t kUnset = -1;
  static constexpr int32_t kSeveral = -2;
  uint64_t packets = 0;
  uint64_t connections = 0;
  int64_t first_ns = std::numeric_limits<int64_t>::max();
  int64_t last_ns = std::numeric_limits<int64_t>::min();
  int32_t port = kUnset;       // The one port, or kSeveral.
  int32_t client_ip = kUnset;  // The one client address id, or kSeveral.
  int32_t server_ip = kUnset;  // The one server address id, or kSeveral.

  void Add(uint32_t client, uint32_t server, uint16_t key_port, const KeyTotals& t) {
    packets = SaturatingAdd(packets, t.packets);
    connections = SaturatingAdd(connections, t.connections);
    first_ns = std::min(first_ns, t.first_ns);
    last_ns = std::max(last_ns, t.last_ns);
    Single(port, key_port);
    Single(client_ip, static_cast<int32_t>(client));
    Single(server_ip, static_cast<int32_t>(server));
  }

 private:
  static void Single(int32_t& slot, int32_t value) {
    if (slot == kUnset) {
      slot = value;
    } else if (slot != value) {
      slot = kSeveral;
    }
  }
};

// What an answer row counts: SYN/ACK-established connections, or SYN/ACK packets (the recipe's
// raw number, retransmissions included).
enum class CountKind { kConnections, kPackets };
// Row order: count descending then labels ascending, or labels ascending then count descending.
enum class RowOrder { kCount, kName };

inline constexpr uint32_t kNoSensor = std::numeric_limits<uint32_t>::max();

// One row of a summary before formatting: label ids (of a Labeler) and the sums of its keys.
// 64 bytes: the ids sit in the totals' tail padding (a potentially-overlapping member; the
// compiler never writes that padding when the totals are assigned), as an answer holds one per
// row.
struct SummaryGroup {
  [[no_unique_address]] GroupTotals totals;
  uint32_t client = 0;
  uint32_t server = 0;
  uint32_t service = 0;
  uint32_t sensor = kNoSensor;  // The sensor id when rows are kept apart by sensor.
  uint32_t site = 0;            // The Labeler's site id (0 = no site).

  uint64_t Count(CountKind kind) const {
    return kind == CountKind::kPackets ? totals.packets : totals.connections;
  }
};
static_assert(sizeof(SummaryGroup) == 64, "the ids must share the totals' tail padding");

// The grouping rule of every summary, offline and from the collector: keys whose site, client,
// server and service labels (and sensor, when kept apart) are equal are one row, summed. Keys
// of different sites are never one row: the same address at two sites is two hosts.
// Each key is summed into its row as it is added (a hash index of row numbers, 5-10 bytes a
// row), so the grouper holds only the rows (64 bytes each) and the caller need not keep its keys
// until the end. Usage: Add every key that passes the filters, then Sum once.
// Thread-compatible. Not copyable or movable (the index's functors point at the rows).
class SummaryGrouper {
 public:
  explicit SummaryGrouper(Labeler& labeler);
  SummaryGrouper(const SummaryGrouper&) = delete;
  SummaryGrouper& operator=(const SummaryGrouper&) = delete;

  // Room for `keys` calls of Add: no regrowth of the rows or the index while they are added.
  // The rows' room is only reserved: pages are used as rows are made (big reservations are
  // mapped, untouched, by the allocator).
  void Reserve(size_t keys);

  // Adds a key: its address ids, port, sensor (kNoSensor unless rows are kept apart by sensor),
  // site (Labeler::SiteId; its names label the addresses) and its totals.
  void Add(uint32_t client_ip, uint32_t server_ip, uint16_t port, uint32_t sensor, uint32_t site,
           const KeyTotals& totals);

  // The rows so far.
  size_t size() const { return rows_.size(); }

  // The rows, in the order of their first key. Empties the grouper.
  std::vector<SummaryGroup> Sum();

 private:
  // (client << 32 | server, service << 32 | (sensor, or ~site without sensors)).
  struct GroupKey {
    uint64_t labels;
    uint64_t service_slot;
    bool operator==(const GroupKey&) const = default;
  };
  static GroupKey KeyOf(const SummaryGroup& row);
  // Hash and equality of row numbers by their rows' group keys, so the index holds 4-byte row
  // numbers and finds one from a group key.
  struct RowHash {
    using is_transparent = void;
    const std::vector<SummaryGroup>* rows;
    size_t operator()(uint32_t row) const { return (*this)(KeyOf((*rows)[row])); }
    size_t operator()(const GroupKey& key) const;
  };
  struct RowEq {
    using is_transparent = void;
    const std::vector<SummaryGroup>* rows;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, const GroupKey& b) const { return KeyOf((*rows)[a]) == b; }
    bool operator()(const GroupKey& a, uint32_t b) const { return a == KeyOf((*rows)[b]); }
  };

  Labeler& labeler_;
  std::vector<SummaryGroup> rows_;
  absl::flat_hash_set<uint32_t, RowHash, RowEq> index_;
};

// Orders `groups` in place in `order` by `count` and keeps the first `top_n`. Ties in kCount
// order go by site, client, server, service, then sensor name (so rows without a site come
// first); in kName order by count descending. `sensor_name(id)` is called only for ids other
// than kNoSensor. Names compare by their rank in text order, made once per used label (each IP
// label's text is formatted once into a temporary buffer); the rows are sorted in place, with
// no memory per row beyond them.
void SortGroups(std::vector<SummaryGroup>& groups, CountKind count, RowOrder order, size_t top_n,
                const Labeler& labeler,
                absl::FunctionRef<const std::string&(uint32_t sensor)> sensor_name);

}  // namespace synmap::common
