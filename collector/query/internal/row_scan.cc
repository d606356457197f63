#include "collector/query/internal/row_scan.h"

#include <algorithm>
#include <utility>

#include "absl/strings/string_view.h"

namespace synmap::collector::internal {

std::vector<KeyTotals> SumByKey(const StoreSnapshot& snapshot, int64_t since_ns, int64_t until_ns,
                                bool merged) {
  std::vector<KeyTotals> totals(snapshot.keys != nullptr ? snapshot.keys->size() : 0);
  for (const auto& bucket : snapshot.buckets) {
    const AggregateBucket& b = *bucket;
    // Whole buckets only: a bucket overlapping the range counts entirely (the answered window
    // is the range widened to bucket edges), so adjacent ranges never share a row.
    if ((until_ns != 0 && b.start_ns >= until_ns) ||
        (since_ns != 0 && b.start_ns + b.width_ns <= since_ns)) {
      continue;
    }
    const size_t n = b.size();
    const bool dedup = merged && b.duplicates.size() == n;
    // Rows reach their keys in random order and `totals` is larger than the caches:
    // prefetching a few rows ahead overlaps the misses.
    constexpr size_t kPrefetchDistance = 16;
    for (size_t r = 0; r < n; ++r) {
      if (r + kPrefetchDistance < n) {
        __builtin_prefetch(&totals[b.key[r + kPrefetchDistance]], 1);
      }
      const int64_t first = b.first_seen_ns[r];
      KeyTotals& t = totals[b.key[r]];
      t.packets = common::SaturatingAdd(t.packets, b.packets[r]);
      t.connections = common::SaturatingAdd(
          t.connections, dedup ? b.connections[r] - b.duplicates[r] : b.connections[r]);
      if (t.first_ns == 0 || first < t.first_ns) {
        t.first_ns = first;
      }
      t.last_ns = std::max(t.last_ns, b.last_seen_ns[r]);
    }
  }
  return totals;
}

void FillFacts(const GroupTotals& totals, const QueryNaming& naming, synmap::v1::SummaryRow* row) {
  row->set_server_port(totals.port >= 0 ? static_cast<uint32_t>(totals.port) : 0);
  common::IpAddress::TextBuffer buffer;
  if (totals.server_ip >= 0) {
    const absl::string_view text = naming.Ip(static_cast<uint32_t>(totals.server_ip)).Text(buffer);
    row->set_server_ip(text.data(), text.size());
  }
  if (totals.client_ip >= 0) {
    const absl::string_view text = naming.Ip(static_cast<uint32_t>(totals.client_ip)).Text(buffer);
    row->set_client_ip(text.data(), text.size());
  }
  row->set_packets(totals.packets);
  row->set_connections(totals.connections);
  row->set_first_seen_unix_ns(totals.first_ns);
  row->set_last_seen_unix_ns(totals.last_ns);
}

std::vector<uint32_t> SensorSites(const StoreSnapshot& snapshot, QueryNaming& naming) {
  std::vector<uint32_t> sites(snapshot.sensors.size());
  for (size_t i = 0; i < sites.size(); ++i) {
    sites[i] = naming.SiteId(snapshot.sensors[i].site);
  }
  return sites;
}

absl::StatusOr<RowFilter> RowFilter::Make(const synmap::v1::Filters& filters,
                                          const StoreSnapshot& snapshot) {
  RowFilter out;
  absl::StatusOr<HostFilter> server = HostFilter::Parse(filters.server());
  if (!server.ok()) {
    return server.status();
  }
  absl::StatusOr<HostFilter> client = HostFilter::Parse(filters.client());
  if (!client.ok()) {
    return client.status();
  }
  absl::StatusOr<ServiceFilter> service = ServiceFilter::Parse(filters.service());
  if (!service.ok()) {
    return service.status();
  }
  if (filters.sensor().size() > 256 || filters.site().size() > 256) {
    return absl::InvalidArgumentError("sensor or site filter longer than 256 bytes");
  }
  out.server = *std::move(server);
  out.client = *std::move(client);
  out.service = *std::move(service);
  if (!filters.sensor().empty() || !filters.site().empty()) {
    out.sensor_filter_ = true;
    out.sensors_.assign(snapshot.sensors.size(), false);
    for (size_t i = 0; i < snapshot.sensors.size(); ++i) {
      const SensorState& s = snapshot.sensors[i];
      out.sensors_[i] = (filters.sensor().empty() || s.name == filters.sensor()) &&
                        (filters.site().empty() || s.site == filters.site());
    }
  }
  return out;
}

}  // namespace synmap::collector::internal
