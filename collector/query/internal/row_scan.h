#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/query/internal/query_naming.h"
#include "collector/store/snapshot.h"
#include "common/naming/summary_groups.h"
#include "synmap/v1/query.pb.h"

namespace synmap::collector::internal {

using common::GroupTotals;
using common::KeyTotals;

// Sums, saturating at UINT64_MAX, every row of `snapshot`'s buckets that overlap
// [since_ns, until_ns) (0 = open) into its key's slot; indexed by key id. Buckets count whole,
// so the range is in effect widened to bucket edges (StoreSnapshot::answered_*). One
// sequential pass with one dense-array write per row: the cheap half of every query. With
// `merged`, a row's connections exclude its duplicates (handshakes another sensor saw first),
// so summing over sensors counts each handshake once.
std::vector<KeyTotals> SumByKey(const StoreSnapshot& snapshot, int64_t since_ns, int64_t until_ns,
                                bool merged = false);

// Sets server_port, server_ip, client_ip, packets, connections, first/last seen of `row`.
void FillFacts(const GroupTotals& totals, const QueryNaming& naming, synmap::v1::SummaryRow* row);

// The row filters of a request, bound to one snapshot. Default: matches everything.
// Thread-compatible (one query).
class RowFilter {
 public:
  // InvalidArgument for a bad host or service filter (see HostFilter, ServiceFilter); an
  // unknown sensor or site name matches no row. A site filter keeps the sensors of that site.
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

// The Labeler site id of each sensor's site (index = sensor id).
std::vector<uint32_t> SensorSites(const StoreSnapshot& snapshot, QueryNaming& naming);

// Calls fn(key_id, key, totals, site) for each key with rows in `totals` (SumByKey of
// `snapshot`) that passes `filter`; `site` is the Labeler site id of the key's sensor, whose
// names label the key's addresses. Filters depend on the key only, so they run once per key,
// not per row.
template <typename Fn>
void ForEachKey(const StoreSnapshot& snapshot, const std::vector<KeyTotals>& totals,
                RowFilter& filter, QueryNaming& naming, Fn&& fn) {
  const std::vector<AggregateKey>& keys = *snapshot.keys;
  const std::vector<uint32_t> sites = SensorSites(snapshot, naming);
  for (size_t id = 0; id < totals.size(); ++id) {
    const KeyTotals& t = totals[id];
    if (t.first_ns == 0) {
      continue;
    }
    const AggregateKey& k = keys[id];
    const uint32_t site = sites[k.sensor];
    if (!filter.SensorOk(k.sensor) ||
        (!filter.service.empty() && !filter.service.Matches(k.port, naming.names())) ||
        (!filter.server.empty() && !filter.server.Matches(k.server, naming, site)) ||
        (!filter.client.empty() && !filter.client.Matches(k.client, naming, site))) {
      continue;
    }
    fn(static_cast<uint32_t>(id), k, t, site);
  }
}

}  // namespace synmap::collector::internal
