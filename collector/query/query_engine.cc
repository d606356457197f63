#include "collector/query/query_engine.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/query/internal/filter_names.h"
#include "collector/query/internal/query_naming.h"
#include "collector/query/internal/row_scan.h"
#include "common/batch/batch_codec.h"
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

absl::Status ValidateRange(const synmap::v1::TimeRange& range, bool since_required) {
  if (range.since_unix_ns() < 0 || range.until_unix_ns() < 0) {
    return absl::InvalidArgumentError("time range bounds must not be negative");
  }
  if (since_required && range.since_unix_ns() == 0) {
    return absl::InvalidArgumentError("a since time is required for this query");
  }
  if (range.since_unix_ns() != 0 && range.until_unix_ns() != 0 &&
      range.until_unix_ns() <= range.since_unix_ns()) {
    return absl::InvalidArgumentError("until must be later than since");
  }
  return absl::OkStatus();
}

// top_n 0 asks for every row.
size_t TopN(uint32_t requested) {
  return requested == 0 ? std::numeric_limits<size_t>::max() : requested;
}

std::string WindowText(const synmap::v1::TimeRange& range) {
  auto text = [](int64_t ns, const char* open) {
    return ns == 0 ? std::string(open)
                   : absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", absl::FromUnixNanos(ns),
                                      absl::UTCTimeZone());
  };
  return absl::StrCat("between ", text(range.since_unix_ns(), "the oldest data"), " and ",
                      text(range.until_unix_ns(), "now"));
}

// new and gone compare a window with what came before it: without a sensor reporting in the
// window, "new" and "silent" mean nothing, so the answer is refused rather than made up.
absl::Status RequireCoverage(const synmap::v1::Coverage& coverage,
                             const synmap::v1::TimeRange& range, const synmap::v1::Filters& f,
                             absl::string_view what) {
  if (coverage.sensors_size() > 0) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "no sensor", f.sensor().empty() ? "" : absl::StrCat(" named '", f.sensor(), "'"),
      f.site().empty() ? "" : absl::StrCat(" of site '", f.site(), "'"), " reported ",
      WindowText(range), ", so which services are ", what,
      " cannot be told; choose a window in which sensors reported (see synmap sensors)"));
}

// Keeps the `n` first of `rows` by `less`, sorted.
template <typename T, typename Less>
void SortTop(std::vector<T>& rows, size_t n, Less less) {
  if (rows.size() > n) {
    std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n), rows.end(),
                      less);
    rows.resize(n);
  } else {
    std::sort(rows.begin(), rows.end(), less);
  }
}

// (site, server label, service label) history for NewServices / GoneServices.
struct Sighting {
  uint32_t site = 0;
  uint32_t server_label = 0;
  uint32_t service_label = 0;
  GroupTotals all;      // Every row.
  GroupTotals counted;  // Rows in the span that counts (window for new, before it for gone).
  bool inside = false;  // Any row overlapping the window.
  bool before = false;  // Any row entirely before the window.
  absl::flat_hash_set<uint32_t> clients;
};

void FillSighting(const Sighting& s, const QueryNaming& naming, synmap::v1::ServiceSighting* out) {
  out->set_site(naming.SiteName(s.site));
  out->set_server(naming.Label(s.server_label));
  out->set_service(naming.Label(s.service_label));
  out->set_server_port(s.all.port >= 0 ? static_cast<uint32_t>(s.all.port) : 0);
  if (s.all.server_ip >= 0) {
    out->set_server_ip(naming.Ip(static_cast<uint32_t>(s.all.server_ip)).ToString());
  }
  out->set_first_seen_unix_ns(s.all.first_ns);
  out->set_last_seen_unix_ns(s.all.last_ns);
  out->set_connections(s.counted.connections);
  out->set_packets(s.counted.packets);
  out->set_clients(s.clients.size());
}

// Which rows of a sighting count toward its connections and clients.
enum class Counted { kInside, kBefore };

// Groups every stored key by site and named (server, service), with its all-time history and
// whether it had rows inside the window and before it (the window needs since > 0).
absl::flat_hash_map<std::pair<uint32_t, uint64_t>, Sighting> CollectSightings(
    const StoreSnapshot& snapshot, QueryNaming& naming, RowFilter& filter,
    const synmap::v1::TimeRange& range, Counted which) {
  // Whole buckets: "before" ends where the answered (bucket-widened) window starts.
  const int64_t since = snapshot.answered_since_ns;
  const std::vector<KeyTotals> all = SumByKey(snapshot, 0, 0);
  const std::vector<KeyTotals> inside = SumByKey(snapshot, since, range.until_unix_ns());
  const std::vector<KeyTotals> before =
      since == 0 ? std::vector<KeyTotals>(all.size()) : SumByKey(snapshot, 0, since);
  const std::vector<KeyTotals>& counted = which == Counted::kInside ? inside : before;
  absl::flat_hash_map<std::pair<uint32_t, uint64_t>, Sighting> groups;
  ForEachKey(snapshot, all, filter, naming,
             [&](uint32_t id, const AggregateKey& k, const KeyTotals& t, uint32_t site) {
               const uint32_t server = naming.HostLabelId(k.server, site);
               const uint32_t service = naming.ServiceLabelId(k.port);
               Sighting& s = groups[{site, (uint64_t{server} << 32) | service}];
               s.site = site;
               s.server_label = server;
               s.service_label = service;
               s.all.Add(k.client, k.server, k.port, t);
               s.inside = s.inside || inside[id].first_ns != 0;
               s.before = s.before || before[id].first_ns != 0;
               if (counted[id].first_ns != 0) {
                 s.counted.Add(k.client, k.server, k.port, counted[id]);
                 s.clients.insert(k.client);
               }
             });
  return groups;
}

}  // namespace

namespace internal {

void FillCoverage(const StoreSnapshot& snapshot, const synmap::v1::TimeRange& range,
                  const RowFilter& filter, synmap::v1::Coverage* out) {
  *out->mutable_requested() = range;
  out->mutable_answered()->set_since_unix_ns(snapshot.answered_since_ns);
  out->mutable_answered()->set_until_unix_ns(snapshot.answered_until_ns);
  out->set_bucket_ns(snapshot.resolution_ns);
  out->set_overlap_undeduplicated(snapshot.overlap_late);
  out->set_resolution_seconds((snapshot.resolution_ns + 999'999'999) / 1'000'000'000);
  synmap::v1::StoreStatus* store = out->mutable_store();
  store->set_backend(snapshot.store.backend);
  store->set_available(snapshot.store.available);
  store->set_unavailable_since_unix_ns(snapshot.store.unavailable_since_ns);
  store->set_problem(snapshot.store.problem);
  store->set_synced_unix_ns(snapshot.store.synced_ns);
  if (!snapshot.buckets.empty()) {
    const AggregateBucket& last = *snapshot.buckets.back();
    out->set_covered_since_unix_ns(snapshot.buckets.front()->start_ns);
    out->set_covered_until_unix_ns(last.start_ns + last.width_ns);
  }
  std::vector<const SensorWindowCoverage*> sensors;
  for (const SensorWindowCoverage& c : snapshot.coverage) {
    if (filter.SensorOk(c.sensor)) {
      sensors.push_back(&c);
    }
  }
  std::sort(sensors.begin(), sensors.end(), [&](const auto* a, const auto* b) {
    return snapshot.sensors[a->sensor].name < snapshot.sensors[b->sensor].name;
  });
  for (const SensorWindowCoverage* c : sensors) {
    synmap::v1::SensorCoverage* s = out->add_sensors();
    s->set_sensor(snapshot.sensors[c->sensor].name);
    s->set_batches(c->batches);
    s->set_last_batch_end_unix_ns(c->last_batch_end_ns);
    s->set_last_batch_seq(c->last_seq);
    s->set_last_commit_unix_ns(c->last_commit_ns);
    s->set_packets_received(c->stats.packets_received);
    s->set_synacks(c->stats.synacks);
    s->set_kernel_drops(c->stats.kernel_drops);
    s->set_interface_drops(c->stats.interface_drops);
    s->set_malformed(c->stats.malformed);
    s->set_handshakes_evicted(c->stats.handshakes_evicted);
    s->set_spool_batches_dropped(c->spool_batches_dropped);
    s->set_spool_records_dropped(c->spool_records_dropped);
    out->set_batches(out->batches() + c->batches);
    out->set_kernel_drops(out->kernel_drops() + c->stats.kernel_drops);
    out->set_interface_drops(out->interface_drops() + c->stats.interface_drops);
    out->set_malformed(out->malformed() + c->stats.malformed);
    out->set_handshakes_evicted(out->handshakes_evicted() + c->stats.handshakes_evicted);
    out->set_spool_batches_dropped(out->spool_batches_dropped() + c->spool_batches_dropped);
    out->set_spool_records_dropped(out->spool_records_dropped() + c->spool_records_dropped);
  }
}

}  // namespace internal

absl::StatusOr<synmap::v1::SummaryResponse> QueryEngine::Summary(
    const synmap::v1::SummaryRequest& request) const {
  synmap::v1::SummaryResponse response;
  SYNMAP_RETURN_IF_ERROR(Summary(request, &response));
  return response;
}

absl::Status QueryEngine::Summary(const synmap::v1::SummaryRequest& request,
                                  synmap::v1::SummaryResponse* response) const {
  SYNMAP_RETURN_IF_ERROR(ValidateRange(request.range(), false));
  const size_t top_n = TopN(request.top_n());
  const std::shared_ptr<const common::NameTable> names = names_.Get();
  const int64_t since = request.range().since_unix_ns();
  const int64_t until = request.range().until_unix_ns();
  const auto snapshot = store_.Snapshot(since, until, SnapshotBuckets::kWindow);
  SYNMAP_RETURN_IF_ERROR(internal::CheckFilterNames(request.filters(), *snapshot, *names));
  SYNMAP_ASSIGN_OR_RETURN(RowFilter filter, RowFilter::Make(request.filters(), *snapshot));
  QueryNaming naming(*names, Ips(*snapshot), request.show_remote());
  const bool packets = request.count() == synmap::v1::COUNT_KIND_PACKETS;

  // The grouping rule shared with offline summaries (common::SummaryGrouper).
  common::SummaryGrouper grouper(naming);
  // Merged answers count a handshake several sensors saw once; one sensor's view (by sensor,
  // or filtered to one) counts all it saw.
  const bool merged = !request.by_sensor() && request.filters().sensor().empty();
  const std::vector<KeyTotals> totals = SumByKey(*snapshot, since, until, merged);
  ForEachKey(*snapshot, totals, filter, naming,
             [&](uint32_t, const AggregateKey& k, const KeyTotals& t, uint32_t site) {
               grouper.Add(k.client, k.server, k.port,
                           request.by_sensor() ? k.sensor : common::kNoSensor, site, t);
             });
  std::vector<common::SummaryGroup> rows = grouper.Sum();
  const common::CountKind count =
      packets ? common::CountKind::kPackets : common::CountKind::kConnections;
  response->set_total_rows(rows.size());
  common::SortGroups(
      rows, count, common::RowOrder::kCount, top_n, naming,
      [&](uint32_t sensor) -> const std::string& { return snapshot->sensors[sensor].name; });
  // Text(), not Label(): an address's text is made for its row, not kept for the answer's life.
  QueryNaming::TextBuffer client_text, server_text, service_text;
  for (const common::SummaryGroup& g : rows) {
    synmap::v1::SummaryRow* row = response->add_rows();
    row->set_count(g.Count(count));
    const absl::string_view client = naming.Text(g.client, client_text);
    const absl::string_view server = naming.Text(g.server, server_text);
    const absl::string_view service = naming.Text(g.service, service_text);
    row->set_client(client.data(), client.size());
    row->set_server(server.data(), server.size());
    row->set_service(service.data(), service.size());
    if (const std::string& site = naming.SiteName(g.site); !site.empty()) {
      row->set_site(site);
    }
    if (g.sensor != common::kNoSensor) {
      row->set_sensor(snapshot->sensors[g.sensor].name);
    }
    internal::FillFacts(g.totals, naming, row);
  }
  internal::FillCoverage(*snapshot, request.range(), filter, response->mutable_coverage());
  return absl::OkStatus();
}

absl::StatusOr<synmap::v1::NewServicesResponse> QueryEngine::NewServices(
    const synmap::v1::NewServicesRequest& request) const {
  SYNMAP_RETURN_IF_ERROR(ValidateRange(request.range(), true));
  const size_t top_n = TopN(request.top_n());
  const std::shared_ptr<const common::NameTable> names = names_.Get();
  const int64_t since = request.range().since_unix_ns();
  const int64_t until = request.range().until_unix_ns();
  const auto snapshot = store_.Snapshot(since, until, SnapshotBuckets::kAll);
  synmap::v1::Filters filters = request.filters();
  filters.clear_client();
  SYNMAP_RETURN_IF_ERROR(internal::CheckFilterNames(filters, *snapshot, *names));
  SYNMAP_ASSIGN_OR_RETURN(RowFilter filter, RowFilter::Make(filters, *snapshot));
  QueryNaming naming(*names, Ips(*snapshot), request.show_remote());
  auto groups = CollectSightings(*snapshot, naming, filter, request.range(), Counted::kInside);
  std::vector<const Sighting*> rows;
  for (const auto& [key, s] : groups) {
    // Against the answered window: the first row lies in a bucket inside it.
    const int64_t from = snapshot->answered_since_ns;
    const int64_t to = snapshot->answered_until_ns;
    if (s.all.first_ns >= from && (to == 0 || s.all.first_ns < to)) {
      rows.push_back(&s);
    }
  }
  synmap::v1::NewServicesResponse response;
  internal::FillCoverage(*snapshot, request.range(), filter, response.mutable_coverage());
  SYNMAP_RETURN_IF_ERROR(
      RequireCoverage(response.coverage(), request.range(), request.filters(), "new"));
  response.set_total_rows(rows.size());
  SortTop(rows, top_n, [&](const Sighting* a, const Sighting* b) {
    return std::make_tuple(-a->all.first_ns, naming.SiteName(a->site),
                           naming.Label(a->server_label), naming.Label(a->service_label)) <
           std::make_tuple(-b->all.first_ns, naming.SiteName(b->site),
                           naming.Label(b->server_label), naming.Label(b->service_label));
  });
  for (const Sighting* s : rows) {
    FillSighting(*s, naming, response.add_rows());
  }
  return response;
}

absl::StatusOr<synmap::v1::GoneServicesResponse> QueryEngine::GoneServices(
    const synmap::v1::GoneServicesRequest& request) const {
  SYNMAP_RETURN_IF_ERROR(ValidateRange(request.range(), true));
  const size_t top_n = TopN(request.top_n());
  const std::shared_ptr<const common::NameTable> names = names_.Get();
  const auto snapshot = store_.Snapshot(request.range().since_unix_ns(),
                                        request.range().until_unix_ns(), SnapshotBuckets::kAll);
  synmap::v1::Filters filters = request.filters();
  filters.clear_client();
  SYNMAP_RETURN_IF_ERROR(internal::CheckFilterNames(filters, *snapshot, *names));
  SYNMAP_ASSIGN_OR_RETURN(RowFilter filter, RowFilter::Make(filters, *snapshot));
  QueryNaming naming(*names, Ips(*snapshot), request.show_remote());
  auto groups = CollectSightings(*snapshot, naming, filter, request.range(), Counted::kBefore);
  std::vector<const Sighting*> rows;
  for (const auto& [key, s] : groups) {
    if (s.before && !s.inside) {
      rows.push_back(&s);
    }
  }
  synmap::v1::GoneServicesResponse response;
  internal::FillCoverage(*snapshot, request.range(), filter, response.mutable_coverage());
  SYNMAP_RETURN_IF_ERROR(
      RequireCoverage(response.coverage(), request.range(), request.filters(), "gone"));
  response.set_total_rows(rows.size());
  SortTop(rows, top_n, [&](const Sighting* a, const Sighting* b) {
    return std::make_tuple(-a->all.last_ns, naming.SiteName(a->site), naming.Label(a->server_label),
                           naming.Label(a->service_label)) <
           std::make_tuple(-b->all.last_ns, naming.SiteName(b->site), naming.Label(b->server_label),
                           naming.Label(b->service_label));
  });
  for (const Sighting* s : rows) {
    FillSighting(*s, naming, response.add_rows());
  }
  return response;
}

namespace {

// The sensor `id`'s overlap peers, by peer name.
void FillOverlap(const StoreSnapshot& snapshot, size_t id, synmap::v1::SensorStatus* out) {
  if (id >= snapshot.overlap.size()) {
    return;
  }
  std::vector<const OverlapPeer*> peers;
  for (const OverlapPeer& p : snapshot.overlap[id]) {
    if (p.peer < snapshot.sensors.size()) {
      peers.push_back(&p);
    }
  }
  std::sort(peers.begin(), peers.end(), [&](const OverlapPeer* a, const OverlapPeer* b) {
    return snapshot.sensors[a->peer].name < snapshot.sensors[b->peer].name;
  });
  for (const OverlapPeer* p : peers) {
    synmap::v1::SensorOverlap* o = out->add_overlap();
    o->set_peer(snapshot.sensors[p->peer].name);
    o->set_matches(p->matches);
    o->set_median_offset_ns(p->median_offset_ns);
    o->set_max_abs_offset_ns(p->max_abs_offset_ns);
  }
}

}  // namespace

absl::StatusOr<synmap::v1::SensorsResponse> QueryEngine::Sensors(
    const synmap::v1::SensorsRequest& /*request*/) const {
  const auto snapshot = store_.Snapshot(0, 0, SnapshotBuckets::kNone);
  std::vector<const SensorState*> sensors;
  for (const SensorState& s : snapshot->sensors) {
    sensors.push_back(&s);
  }
  std::sort(sensors.begin(), sensors.end(),
            [](const SensorState* a, const SensorState* b) { return a->name < b->name; });
  synmap::v1::SensorsResponse response;
  for (const SensorState* s : sensors) {
    synmap::v1::SensorStatus* out = response.add_sensors();
    out->set_name(s->name);
    out->set_site(s->site);
    out->set_peer_address(s->peer_address);
    out->set_connected(s->connected);
    *out->mutable_hello() = common::SensorInfoToProto(s->hello);
    out->set_hello_unix_ns(s->hello_ns);
    out->set_last_batch_commit_unix_ns(s->last_commit_ns);
    out->set_last_batch_end_unix_ns(s->last_batch_end_ns);
    out->set_last_seq(s->last_seq);
    out->set_batches(s->batches);
    out->set_records(s->records);
    out->set_packets_received(s->totals.packets_received);
    out->set_synacks(s->totals.synacks);
    out->set_kernel_drops(s->totals.kernel_drops);
    out->set_interface_drops(s->totals.interface_drops);
    out->set_malformed(s->totals.malformed);
    out->set_handshakes_evicted(s->totals.handshakes_evicted);
    *out->mutable_health() = common::HealthToProto(s->health);
    // A batch carries the health taken when it was sent, which counts the batch itself as
    // unacked spool backlog; its commit is its ack, so it is backlog no longer (a sensor that
    // drained and exited has none left).
    if (s->last_commit_ns != 0 && s->last_commit_ns > s->last_heartbeat_ns &&
        s->last_commit_ns > s->hello_ns && s->health.spool_batches > 0) {
      out->mutable_health()->set_spool_batches(s->health.spool_batches - 1);
    }
    out->set_last_heartbeat_unix_ns(s->last_heartbeat_ns);
    FillOverlap(*snapshot, static_cast<size_t>(s - snapshot->sensors.data()), out);
  }
  response.set_overlap_dedup(snapshot->overlap_enabled);
  response.set_overlap_tolerance_ns(snapshot->overlap_tolerance_ns);
  internal::FillCoverage(*snapshot, synmap::v1::TimeRange(), RowFilter(),
                         response.mutable_coverage());
  return response;
}

}  // namespace synmap::collector
