#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/query/internal/query_naming.h"
#include "collector/store/snapshot.h"
#include "synmap/v1/query.pb.h"

namespace synmap::collector::internal {

// The sums of one key's rows inside a time range. first_ns == 0 means the key had no row
// there (stored timestamps are > 0).
struct KeyTotals {
  uint64_t packets = 0;
  uint64_t connections = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
};

// Sums, saturating at UINT64_MAX, every row of `snapshot`'s buckets that overlap
// [since_ns, until_ns) (0 = open) into its key's slot; indexed by key id. Buckets count whole,
// so the range is in effect widened to bucket edges (StoreSnapshot::answered_*). One
// sequential pass with one dense-array write per row: the cheap half of every query.
std::vector<KeyTotals> SumByKey(const StoreSnapshot& snapshot, int64_t since_ns, int64_t until_ns);

// a + b, or UINT64_MAX when that would wrap.
inline uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  uint64_t sum;
  return __builtin_add_overflow(a, b, &sum) ? std::numeric_limits<uint64_t>::max() : sum;
}

// Sums over keys, plus whether they share one port / client / server address.
struct Accumulator {
  static constexpr int64_t kUnset = -1;
  static constexpr int64_t kSeveral = -2;
  uint64_t packets = 0;
  uint64_t connections = 0;
  int64_t first_ns = std::numeric_limits<int64_t>::max();
  int64_t last_ns = std::numeric_limits<int64_t>::min();
  int64_t port = kUnset;       // The one port, or kSeveral.
  int64_t client_ip = kUnset;  // The one client address id, or kSeveral.
  int64_t server_ip = kUnset;  // The one server address id, or kSeveral.

  void Add(const AggregateKey& k, const KeyTotals& t) {
    packets = SaturatingAdd(packets, t.packets);
    connections = SaturatingAdd(connections, t.connections);
    first_ns = std::min(first_ns, t.first_ns);
    last_ns = std::max(last_ns, t.last_ns);
    Single(port, k.port);
    Single(client_ip, k.client);
    Single(server_ip, k.server);
  }
  // Sets server_port, server_ip, client_ip, packets, connections, first/last seen of `row`.
  void FillFacts(const QueryNaming& naming, synmap::v1::SummaryRow* row) const;

 private:
  static void Single(int64_t& slot, int64_t value) {
    if (slot == kUnset) {
      slot = value;
    } else if (slot != value) {
      slot = kSeveral;
    }
  }
};

// The row filters of a request, bound to one snapshot. Default: matches everything.
// Thread-compatible (one query).
class RowFilter {
 public:
  // InvalidArgument for a bad host or service filter (see HostFilter, ServiceFilter); an
  // unknown sensor name matches no row.
  static absl::StatusOr<RowFilter> Make(const synmap::v1::Filters& filters,
                                        const StoreSnapshot& snapshot);

  bool SensorOk(uint32_t sensor) const { return !sensor_filter_ || sensors_[sensor]; }

  HostFilter server;
  HostFilter client;
  ServiceFilter service;

 private:
  bool sensor_filter_ = false;
  std::vector<bool> sensors_;  // Per sensor id, when sensor_filter_.
};

// Fills `out` from the snapshot's coverage of `range`, restricted to the sensors `filter`
// lets through (defined in query_engine.cc).
void FillCoverage(const StoreSnapshot& snapshot, const synmap::v1::TimeRange& range,
                  const RowFilter& filter, synmap::v1::Coverage* out);

// The snapshot's address dictionary (empty when it has none).
inline const std::vector<common::IpAddress>& Ips(const StoreSnapshot& snapshot) {
  static const std::vector<common::IpAddress> kEmpty;
  return snapshot.ips != nullptr ? *snapshot.ips : kEmpty;
}

// Calls fn(key_id, key, totals) for each key with rows in `totals` (SumByKey of `snapshot`) that
// passes `filter`. Filters depend on the key only, so they run once per key, not per row.
template <typename Fn>
void ForEachKey(const StoreSnapshot& snapshot, const std::vector<KeyTotals>& totals,
                RowFilter& filter, QueryNaming& naming, Fn&& fn) {
  const std::vector<AggregateKey>& keys = *snapshot.keys;
  for (size_t id = 0; id < totals.size(); ++id) {
    const KeyTotals& t = totals[id];
    if (t.first_ns == 0) {
      continue;
    }
    const AggregateKey& k = keys[id];
    if (!filter.SensorOk(k.sensor) ||
        (!filter.service.empty() && !filter.service.Matches(k.port, naming.names())) ||
        (!filter.server.empty() && !filter.server.Matches(k.server, naming)) ||
        (!filter.client.empty() && !filter.client.Matches(k.client, naming))) {
      continue;
    }
    fn(static_cast<uint32_t>(id), k, t);
  }
}

}  // namespace synmap::collector::internal
