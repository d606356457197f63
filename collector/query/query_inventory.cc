// QueryEngine's inventory queries: Hosts, Services, Export.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "collector/query/internal/filter_names.h"
#include "collector/query/internal/query_naming.h"
#include "collector/query/internal/row_scan.h"
#include "collector/query/query_engine.h"
#include "common/status/status_macros.h"

namespace synmap::collector {
namespace {

using common::GroupTotals;
using internal::ForEachKey;
using internal::Ips;
using internal::KeyTotals;
using internal::QueryNaming;
using internal::RowFilter;
using internal::SumByKey;

absl::Status CheckRequest(const synmap::v1::TimeRange& range) {
  if (range.since_unix_ns() < 0 || range.until_unix_ns() < 0) {
    return absl::InvalidArgumentError("time range bounds must not be negative");
  }
  if (range.since_unix_ns() != 0 && range.until_unix_ns() != 0 &&
      range.until_unix_ns() <= range.since_unix_ns()) {
    return absl::InvalidArgumentError("until must be later than since");
  }
  return absl::OkStatus();
}

// top_n 0 asks for every row.
size_t Limit(uint32_t top_n) {
  return top_n == 0 ? std::numeric_limits<size_t>::max() : size_t{top_n};
}

}  // namespace

absl::StatusOr<synmap::v1::HostsResponse> QueryEngine::Hosts(
    const synmap::v1::HostsRequest& request) const {
  SYNMAP_RETURN_IF_ERROR(CheckRequest(request.range()));
  const std::shared_ptr<const common::NameTable> names = names_.Get();
  const int64_t since = request.range().since_unix_ns();
  const int64_t until = request.range().until_unix_ns();
  const auto snapshot = store_.Snapshot(since, until, SnapshotBuckets::kWindow);
  // The host filters apply to the host itself, not to the row's server / client.
  synmap::v1::Filters row_filters = request.filters();
  row_filters.clear_server();
  row_filters.clear_client();
  SYNMAP_RETURN_IF_ERROR(internal::CheckFilterNames(request.filters(), *snapshot, *names));
  SYNMAP_ASSIGN_OR_RETURN(RowFilter filter, RowFilter::Make(row_filters, *snapshot));
  SYNMAP_ASSIGN_OR_RETURN(RowFilter host_filter, RowFilter::Make(request.filters(), *snapshot));
  QueryNaming naming(*names, Ips(*snapshot), /*show_remote=*/false);

  struct Host {
    uint64_t as_server = 0;
    uint64_t as_client = 0;
    int64_t first_ns = std::numeric_limits<int64_t>::max();
    int64_t last_ns = std::numeric_limits<int64_t>::min();
    absl::btree_set<std::string> services;
  };
  // By (site << 32 | address): the same address at two sites is two hosts.
  absl::flat_hash_map<uint64_t, Host> hosts;
  auto touch = [&](Host& h, const KeyTotals& t) {
    h.first_ns = std::min(h.first_ns, t.first_ns);
    h.last_ns = std::max(h.last_ns, t.last_ns);
  };
  // Merged over sensors (a handshake several saw counts once) unless one sensor is asked for.
  const std::vector<KeyTotals> totals =
      SumByKey(*snapshot, since, until, request.filters().sensor().empty());
  ForEachKey(*snapshot, totals, filter, naming,
             [&](uint32_t, const AggregateKey& k, const KeyTotals& t, uint32_t site) {
               if (naming.IsLocal(k.server, site)) {
                 Host& h = hosts[(uint64_t{site} << 32) | k.server];
                 h.as_server += t.connections;
                 h.services.insert(naming.Label(naming.ServiceLabelId(k.port)));
                 touch(h, t);
               }
               if (naming.IsLocal(k.client, site)) {
                 Host& h = hosts[(uint64_t{site} << 32) | k.client];
                 h.as_client += t.connections;
                 touch(h, t);
               }
             });
  struct Row {
    uint32_t site;
    uint32_t ip;
    const Host* host;
    std::string name;
  };
  std::vector<Row> rows;
  for (const auto& [site_ip, host] : hosts) {
    const uint32_t site = static_cast<uint32_t>(site_ip >> 32);
    const uint32_t ip = static_cast<uint32_t>(site_ip);
    if ((!host_filter.server.empty() && !host_filter.server.Matches(ip, naming, site)) ||
        (!host_filter.client.empty() && !host_filter.client.Matches(ip, naming, site))) {
      continue;
    }
    rows.push_back(Row{site, ip, &host, naming.Label(naming.HostLabelId(ip, site))});
  }
  std::sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    const uint64_t ta = a.host->as_server + a.host->as_client;
    const uint64_t tb = b.host->as_server + b.host->as_client;
    if (ta != tb) {
      return ta > tb;
    }
    return std::tie(naming.SiteName(a.site), a.name, naming.Ip(a.ip)) <
           std::tie(naming.SiteName(b.site), b.name, naming.Ip(b.ip));
  });
  synmap::v1::HostsResponse response;
  response.set_total_rows(rows.size());
  rows.resize(std::min(rows.size(), Limit(request.top_n())));
  for (const Row& row : rows) {
    synmap::v1::HostRow* out = response.add_rows();
    out->set_ip(naming.Ip(row.ip).ToString());
    out->set_name(row.name);
    out->set_site(naming.SiteName(row.site));
    for (const std::string& service : row.host->services) {
      out->add_services(service);
    }
    out->set_connections_as_server(row.host->as_server);
    out->set_connections_as_client(row.host->as_client);
    out->set_first_seen_unix_ns(row.host->first_ns);
    out->set_last_seen_unix_ns(row.host->last_ns);
  }
  internal::FillCoverage(*snapshot, request.range(), filter, response.mutable_coverage());
  return response;
}

absl::StatusOr<synmap::v1::ServicesResponse> QueryEngine::Services(
    const synmap::v1::ServicesRequest& request) const {
  SYNMAP_RETURN_IF_ERROR(CheckRequest(request.range()));
  const std::shared_ptr<const common::NameTable> names = names_.Get();
  const int64_t since = request.range().since_unix_ns();
  const int64_t until = request.range().until_unix_ns();
  const auto snapshot = store_.Snapshot(since, until, SnapshotBuckets::kWindow);
  SYNMAP_RETURN_IF_ERROR(internal::CheckFilterNames(request.filters(), *snapshot, *names));
  SYNMAP_ASSIGN_OR_RETURN(RowFilter filter, RowFilter::Make(request.filters(), *snapshot));
  QueryNaming naming(*names, Ips(*snapshot), /*show_remote=*/false);

  struct Service {
    uint32_t label = 0;
    GroupTotals acc;
    absl::flat_hash_set<uint64_t> servers;  // (site << 32 | address).
    absl::flat_hash_set<uint64_t> clients;
  };
  absl::flat_hash_map<uint32_t, Service> services;
  // Merged over sensors (a handshake several saw counts once) unless one sensor is asked for.
  const std::vector<KeyTotals> totals =
      SumByKey(*snapshot, since, until, request.filters().sensor().empty());
  ForEachKey(*snapshot, totals, filter, naming,
             [&](uint32_t, const AggregateKey& k, const KeyTotals& t, uint32_t site) {
               if (request.local_servers_only() && !naming.IsLocal(k.server, site)) {
                 return;
               }
               const uint32_t label = naming.ServiceLabelId(k.port);
               Service& s = services[label];
               s.label = label;
               s.acc.Add(k.client, k.server, k.port, t);
               s.servers.insert((uint64_t{site} << 32) | k.server);
               s.clients.insert((uint64_t{site} << 32) | k.client);
             });
  std::vector<const Service*> rows;
  for (const auto& [label, s] : services) {
    rows.push_back(&s);
  }
  std::sort(rows.begin(), rows.end(), [&](const Service* a, const Service* b) {
    if (a->acc.connections != b->acc.connections) {
      return a->acc.connections > b->acc.connections;
    }
    return naming.Label(a->label) < naming.Label(b->label);
  });
  synmap::v1::ServicesResponse response;
  response.set_total_rows(rows.size());
  rows.resize(std::min(rows.size(), Limit(request.top_n())));
  for (const Service* s : rows) {
    synmap::v1::ServiceRow* out = response.add_rows();
    out->set_service(naming.Label(s->label));
    out->set_port(s->acc.port >= 0 ? static_cast<uint32_t>(s->acc.port) : 0);
    out->set_servers(s->servers.size());
    out->set_clients(s->clients.size());
    out->set_connections(s->acc.connections);
    out->set_packets(s->acc.packets);
    out->set_first_seen_unix_ns(s->acc.first_ns);
    out->set_last_seen_unix_ns(s->acc.last_ns);
  }
  internal::FillCoverage(*snapshot, request.range(), filter, response.mutable_coverage());
  return response;
}

absl::StatusOr<synmap::v1::ExportResponse> QueryEngine::Export(
    const synmap::v1::ExportRequest& request) const {
  SYNMAP_RETURN_IF_ERROR(CheckRequest(request.range()));
  const std::shared_ptr<const common::NameTable> names = names_.Get();
  const int64_t since = request.range().since_unix_ns();
  const int64_t until = request.range().until_unix_ns();
  const uint64_t min_connections = std::max<uint64_t>(1, request.min_connections());
  const auto snapshot = store_.Snapshot(since, until, SnapshotBuckets::kWindow);
  SYNMAP_RETURN_IF_ERROR(internal::CheckFilterNames(request.filters(), *snapshot, *names));
  SYNMAP_ASSIGN_OR_RETURN(RowFilter filter, RowFilter::Make(request.filters(), *snapshot));
  QueryNaming naming(*names, Ips(*snapshot), /*show_remote=*/false);

  struct Inbound {
    uint32_t site = 0;
    uint32_t server = 0;
    uint16_t port = 0;
    uint64_t connections = 0;
    absl::flat_hash_set<uint32_t> clients;
  };
  absl::flat_hash_map<std::pair<uint32_t, uint64_t>, Inbound> inbound;  // (site, server, port).
  // Merged over sensors (a handshake several saw counts once) unless one sensor is asked for.
  const std::vector<KeyTotals> totals =
      SumByKey(*snapshot, since, until, request.filters().sensor().empty());
  ForEachKey(*snapshot, totals, filter, naming,
             [&](uint32_t, const AggregateKey& k, const KeyTotals& t, uint32_t site) {
               if (!naming.IsLocal(k.server, site)) {
                 return;
               }
               Inbound& in = inbound[{site, (uint64_t{k.server} << 16) | k.port}];
               in.site = site;
               in.server = k.server;
               in.port = k.port;
               in.connections += t.connections;
               in.clients.insert(k.client);
             });
  std::vector<const Inbound*> rows;
  for (const auto& [key, in] : inbound) {
    if (in.connections >= min_connections) {
      rows.push_back(&in);
    }
  }
  std::sort(rows.begin(), rows.end(), [&](const Inbound* a, const Inbound* b) {
    return std::tie(naming.SiteName(a->site), naming.Ip(a->server), a->port) <
           std::tie(naming.SiteName(b->site), naming.Ip(b->server), b->port);
  });
  synmap::v1::ExportResponse response;
  for (const Inbound* in : rows) {
    synmap::v1::ExportRow* out = response.add_rows();
    out->set_server_ip(naming.Ip(in->server).ToString());
    out->set_port(in->port);
    out->set_protocol("tcp");
    out->set_connections(in->connections);
    out->set_clients(in->clients.size());
    out->set_server(naming.Label(naming.HostLabelId(in->server, in->site)));
    out->set_site(naming.SiteName(in->site));
    out->set_service(naming.Label(naming.ServiceLabelId(in->port)));
  }
  internal::FillCoverage(*snapshot, request.range(), filter, response.mutable_coverage());
  return response;
}

}  // namespace synmap::collector
