#include "cli/summary_rows.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace synmap::cli {

std::vector<SummaryRow> NameRecords(absl::Span<const common::Record> records,
                                    const common::NameTable& names, bool show_remote) {
  std::vector<SummaryRow> rows;
  // Labels repeat a lot (one server, many clients): name each address once.
  absl::flat_hash_map<common::IpAddress, std::string> host_labels;
  // Returns a copy: a reference into the map would dangle when the next lookup rehashes it.
  auto host = [&](const common::IpAddress& ip) -> std::string {
    auto it = host_labels.find(ip);
    if (it == host_labels.end()) {
      it = host_labels.emplace(ip, names.HostLabel(ip, show_remote)).first;
    }
    return it->second;
  };
  absl::flat_hash_map<std::tuple<std::string, std::string, std::string>, size_t> index;
  for (const common::Record& r : records) {
    std::tuple<std::string, std::string, std::string> key(host(r.key.client), host(r.key.server),
                                                          names.ServiceLabel(r.key.server_port));
    auto [it, inserted] = index.emplace(std::move(key), rows.size());
    if (inserted) {
      SummaryRow row;
      row.client = std::get<0>(it->first);
      row.server = std::get<1>(it->first);
      row.service = std::get<2>(it->first);
      row.server_port = r.key.server_port;
      row.packets = r.packets;
      row.connections = r.connections;
      row.first_seen_ns = r.first_seen_ns;
      row.last_seen_ns = r.last_seen_ns;
      rows.push_back(std::move(row));
      continue;
    }
    SummaryRow& row = rows[it->second];
    if (row.server_port != r.key.server_port) {
      row.server_port = -1;
    }
    row.packets += r.packets;
    row.connections += r.connections;
    row.first_seen_ns = std::min(row.first_seen_ns, r.first_seen_ns);
    row.last_seen_ns = std::max(row.last_seen_ns, r.last_seen_ns);
  }
  return rows;
}

void SortRows(CountKind count, SortOrder order, std::vector<SummaryRow>* rows) {
  auto value = [count](const SummaryRow& r) {
    return count == CountKind::kPackets ? r.packets : r.connections;
  };
  std::sort(rows->begin(), rows->end(), [&](const SummaryRow& a, const SummaryRow& b) {
    const auto names_a = std::tie(a.client, a.server, a.service);
    const auto names_b = std::tie(b.client, b.server, b.service);
    if (order == SortOrder::kCount) {
      if (value(a) != value(b)) {
        return value(a) > value(b);
      }
      return names_a < names_b;
    }
    if (names_a != names_b) {
      return names_a < names_b;
    }
    return value(a) > value(b);
  });
}

std::string FormatRfc3339Nanos(int64_t unix_ns) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", absl::FromUnixNanos(unix_ns),
                          absl::UTCTimeZone());
}

Table RowsToTable(absl::Span<const SummaryRow> rows, CountKind count) {
  Table table;
  // Minimum widths reproduce the recipe's layout: "     62 _               minnie   ...".
  table.columns = {
      {.name = "count", .numeric = true, .right_align = true, .min_width = 7},
      {.name = "client", .min_width = 15},
      {.name = "server", .min_width = 21},
      {.name = "service", .right_align = true},
      {.name = "server_port", .numeric = true, .in_text = false},
      {.name = "packets", .numeric = true, .in_text = false},
      {.name = "connections", .numeric = true, .in_text = false},
      {.name = "first_seen", .in_text = false},
      {.name = "last_seen", .in_text = false},
  };
  table.rows.reserve(rows.size());
  for (const SummaryRow& r : rows) {
    table.rows.push_back({
        absl::StrCat(count == CountKind::kPackets ? r.packets : r.connections),
        r.client,
        r.server,
        r.service,
        r.server_port < 0 ? std::string("null") : absl::StrCat(r.server_port),
        absl::StrCat(r.packets),
        absl::StrCat(r.connections),
        FormatRfc3339Nanos(r.first_seen_ns),
        FormatRfc3339Nanos(r.last_seen_ns),
    });
  }
  return table;
}

}  // namespace synmap::cli
