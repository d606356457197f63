#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

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
// port / client / server address (ids into the Labeler's address dictionary).
struct GroupTotals {
  static constexpr int64_t kUnset = -1;
  static constexpr int64_t kSeveral = -2;
  uint64_t packets = 0;
  uint64_t connections = 0;
  int64_t first_ns = std::numeric_limits<int64_t>::max();
  int64_t last_ns = std::numeric_limits<int64_t>::min();
  int64_t port = kUnset;       // The one port, or kSeveral.
  int64_t client_ip = kUnset;  // The one client address id, or kSeveral.
  int64_t server_ip = kUnset;  // The one server address id, or kSeveral.

  void Add(uint32_t client, uint32_t server, uint16_t key_port, const KeyTotals& t) {
    packets = SaturatingAdd(packets, t.packets);
    connections = SaturatingAdd(connections, t.connections);
    first_ns = std::min(first_ns, t.first_ns);
    last_ns = std::max(last_ns, t.last_ns);
    Single(port, key_port);
    Single(client_ip, client);
    Single(server_ip, server);
  }

 private:
  static void Single(int64_t& slot, int64_t value) {
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
struct SummaryGroup {
  uint32_t client = 0;
  uint32_t server = 0;
  uint32_t service = 0;
  uint32_t sensor = kNoSensor;  // The sensor id when rows are kept apart by sensor.
  uint32_t site = 0;            // The Labeler's site id (0 = no site).
  GroupTotals totals;

  uint64_t Count(CountKind kind) const {
    return kind == CountKind::kPackets ? totals.packets : totals.connections;
  }
};

// The grouping rule of every summary, offline and from the collector: keys whose site, client,
// server and service labels (and sensor, when kept apart) are equal are one row, summed. Keys
// of different sites are never one row: the same address at two sites is two hosts.
// Usage: Add every key that passes the filters, then Sum once. Thread-compatible.
class SummaryGrouper {
 public:
  explicit SummaryGrouper(Labeler& labeler) : labeler_(labeler) {}

  // Room for `keys` calls of Add: one allocation instead of a doubling vector.
  void Reserve(size_t keys) { members_.reserve(keys); }

  // Notes key `ref` (the caller's index of the key, handed back to Sum) with its address ids,
  // port, sensor (kNoSensor unless rows are kept apart by sensor) and site (Labeler::SiteId;
  // its names label the addresses).
  void Add(uint32_t ref, uint32_t client_ip, uint32_t server_ip, uint16_t port, uint32_t sensor,
           uint32_t site = 0) {
    const uint32_t client = labeler_.HostLabelId(client_ip, site);
    const uint32_t server = labeler_.HostLabelId(server_ip, site);
    const uint32_t service = labeler_.ServiceLabelId(port);
    // A sensor belongs to one site, so with sensors kept apart the sensor id also tells the
    // site; without, the site takes the sensor's slot (as ~site, far above any sensor id): the
    // group key stays two words.
    const uint32_t slot = sensor != kNoSensor ? sensor : ~site;
    members_.push_back(
        Member{{(uint64_t{client} << 32) | server, (uint64_t{service} << 32) | slot}, site, ref});
  }

  // The rows, in no particular order. `add(ref, totals)` adds key `ref` to its row's totals
  // (GroupTotals::Add with the key's address ids, port and KeyTotals). Empties the grouper.
  // Groups by sorting the members (24 bytes each); the rows are allocated once, at their count.
  std::vector<SummaryGroup> Sum(absl::FunctionRef<void(uint32_t ref, GroupTotals&)> add);

 private:
  struct Member {
    // (client << 32 | server, service << 32 | (sensor, or ~site without sensors)).
    std::pair<uint64_t, uint64_t> group;
    uint32_t site;  // In what was padding: a member stays 24 bytes.
    uint32_t ref;
  };
  Labeler& labeler_;
  std::vector<Member> members_;
};

// The first `top_n` rows of `groups` in `order` by `count`, as pointers into `groups`. Ties in
// kCount order go by site, client, server, service, then sensor name (so rows without a site
// come first); in kName order by count descending. `sensor_name(id)` is called only for ids other
// than kNoSensor. Names compare by their rank in text order, made once per used label (each IP
// label's text is formatted once into a temporary buffer): ~20 bytes a row while sorting.
std::vector<const SummaryGroup*> SortGroups(
    const std::vector<SummaryGroup>& groups, CountKind count, RowOrder order, size_t top_n,
    const Labeler& labeler, absl::FunctionRef<const std::string&(uint32_t sensor)> sensor_name);

}  // namespace synmap::common
