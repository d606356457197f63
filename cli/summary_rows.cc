#include "cli/summary_rows.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "cli/summary_table.h"
#include "common/naming/labeler.h"

namespace synmap::cli {

void SummarizeRecordsTo(std::vector<common::Record> records, const common::NameTable& names,
                        bool show_remote, common::CountKind count, common::RowOrder order,
                        OutputFormat format, absl::TimeZone zone,
                        absl::FunctionRef<void(std::vector<std::string> cells)> row,
                        absl::string_view site) {
  // The address dictionary the Labeler names by id, as the collector's store keeps one.
  std::vector<common::IpAddress> ips;
  absl::flat_hash_map<common::IpAddress, uint32_t> ip_ids;
  auto ip_id = [&](const common::IpAddress& ip) {
    auto [it, inserted] = ip_ids.try_emplace(ip, static_cast<uint32_t>(ips.size()));
    if (inserted) {
      ips.push_back(ip);
    }
    return it->second;
  };
  struct Ids {
    uint32_t client, server;
  };
  std::vector<Ids> ids;
  ids.reserve(records.size());
  for (const common::Record& r : records) {
    ids.push_back({ip_id(r.key.client), ip_id(r.key.server)});
  }
  ip_ids = {};

  common::Labeler labeler(names, ips, show_remote);
  common::SummaryGrouper grouper(labeler);
  const uint32_t site_id = labeler.SiteId(site);
  for (uint32_t i = 0; i < records.size(); ++i) {
    grouper.Add(i, ids[i].client, ids[i].server, records[i].key.server_port, common::kNoSensor,
                site_id);
  }
  const std::vector<common::SummaryGroup> groups =
      grouper.Sum([&](uint32_t i, common::GroupTotals& totals) {
        const common::Record& r = records[i];
        totals.Add(ids[i].client, ids[i].server, r.key.server_port,
                   {r.packets, r.connections, r.first_seen_ns, r.last_seen_ns});
      });
  records = {};  // Summed into the groups: free them before sorting and output.
  ids = {};
  static const std::string kNoName;
  const std::vector<const common::SummaryGroup*> rows =
      common::SortGroups(groups, count, order, std::numeric_limits<size_t>::max(), labeler,
                         [](uint32_t) -> const std::string& { return kNoName; });

  const bool json = format == OutputFormat::kJson;  // The only format with the addresses.
  for (const common::SummaryGroup* g : rows) {
    const common::GroupTotals& t = g->totals;
    auto ip_text = [&](int64_t id) {
      return json && id >= 0 ? labeler.Ip(static_cast<uint32_t>(id)).ToString() : std::string();
    };
    row(SummaryCells({.count = g->Count(count),
                      .site = std::string(site),
                      .client = labeler.Label(g->client),
                      .server = labeler.Label(g->server),
                      .service = labeler.Label(g->service),
                      .sensor = "",
                      .server_port = t.port >= 0 ? static_cast<uint32_t>(t.port) : 0,
                      .server_ip = ip_text(t.server_ip),
                      .client_ip = ip_text(t.client_ip),
                      .packets = t.packets,
                      .connections = t.connections,
                      .first_seen_ns = t.first_ns,
                      .last_seen_ns = t.last_ns},
                     /*by_sensor=*/false, format, zone, /*with_site=*/!site.empty()));
  }
}

Table SummarizeRecords(std::vector<common::Record> records, const common::NameTable& names,
                       bool show_remote, common::CountKind count, common::RowOrder order,
                       OutputFormat format, absl::TimeZone zone, absl::string_view site) {
  Table table;
  table.columns = SummaryTableColumns(/*by_sensor=*/false, /*with_site=*/!site.empty());
  SummarizeRecordsTo(
      std::move(records), names, show_remote, count, order, format, zone,
      [&](std::vector<std::string> cells) { table.rows.push_back(std::move(cells)); }, site);
  return table;
}

}  // namespace synmap::cli
