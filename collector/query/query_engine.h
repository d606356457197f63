#pragma once

#include "absl/status/statusor.h"
#include "collector/query/names_holder.h"
#include "collector/store/store.h"
#include "synmap/v1/query.pb.h"

namespace synmap::collector {

// Answers the Query rpcs (proto request -> proto response) over a consistent store snapshot,
// naming hosts and services at query time with the names table current when the query starts.
// Rows equal after naming are summed; every response carries its Coverage. Borrows `store` and
// `names`, which must outlive it. Thread-safe: queries run concurrently with each other and
// with commits (they hold only a snapshot).
//
// Every method returns InvalidArgument for a bad request (until <= since when both are set, a
// filter longer than 256 bytes or an unparsable CIDR, a filter naming an unknown sensor, host
// or service — the message lists the known ones —, a missing since where required). top_n 0
// means every row; responses cut by top_n say how many rows there were (total_rows).
// NewServices and GoneServices return FailedPrecondition when no sensor reported in the window.
class QueryEngine {
 public:
  QueryEngine(Store& store, const NamesHolder& names) : store_(store), names_(names) {}
  QueryEngine(const QueryEngine&) = delete;
  QueryEngine& operator=(const QueryEngine&) = delete;

  // Counts per (client, server, service[, sensor]), sorted by count desc then labels; top N.
  absl::StatusOr<synmap::v1::SummaryResponse> Summary(
      const synmap::v1::SummaryRequest& request) const;
  // Summary() written into `response` (empty; it may live in a protobuf arena, where a big
  // answer's rows are made without a malloc and a free per string).
  absl::Status Summary(const synmap::v1::SummaryRequest& request,
                       synmap::v1::SummaryResponse* response) const;
  // (server, service) whose first stored SYN/ACK lies in the window. Requires since > 0.
  absl::StatusOr<synmap::v1::NewServicesResponse> NewServices(
      const synmap::v1::NewServicesRequest& request) const;
  // (server, service) seen before the window and silent in it. Requires since > 0.
  absl::StatusOr<synmap::v1::GoneServicesResponse> GoneServices(
      const synmap::v1::GoneServicesRequest& request) const;
  // Health of every known sensor.
  absl::StatusOr<synmap::v1::SensorsResponse> Sensors(
      const synmap::v1::SensorsRequest& request) const;
  // Local hosts: services offered, connections as server and as client.
  absl::StatusOr<synmap::v1::HostsResponse> Hosts(const synmap::v1::HostsRequest& request) const;
  // Services: servers, clients, connections.
  absl::StatusOr<synmap::v1::ServicesResponse> Services(
      const synmap::v1::ServicesRequest& request) const;
  // Inbound services of local servers with at least min_connections.
  absl::StatusOr<synmap::v1::ExportResponse> Export(const synmap::v1::ExportRequest& request) const;

 private:
  Store& store_;
  const NamesHolder& names_;
};

}  // namespace synmap::collector
