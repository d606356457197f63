#pragma once

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/export_rules.h"
#include "cli/query_command.h"
#include "cli/table_format.h"
#include "synmap/v1/query.grpc.pb.h"

namespace synmap::cli {

// What the query commands ask and make of an answer, for their own output and for `synmap web`,
// which shows the same tables. Each is defined next to its command (cmd_sensors.cc,
// cmd_new_gone.cc, cmd_export.cc).

// The sensors' health as `synmap sensors` prints it; in text form the first row is the header.
// `now` dates the "ago" figures of text.
Table SensorsTable(const synmap::v1::SensorsResponse& resp, OutputFormat format,
                   absl::TimeZone zone, absl::Time now);

// The services of `synmap new` (gone = false: first seen inside the window) or `synmap gone`
// (gone = true: seen before and silent inside it).
Table SightingsTable(const google::protobuf::RepeatedPtrField<synmap::v1::ServiceSighting>& rows,
                     uint64_t total_rows, bool gone, OutputFormat format, absl::TimeZone zone);

// The answer of `synmap new` or `synmap gone`.
struct SightingsAnswer {
  google::protobuf::RepeatedPtrField<synmap::v1::ServiceSighting> rows;
  synmap::v1::Coverage coverage;
  uint64_t total_rows = 0;
};

// Asks for the services first seen in `range` (gone = false) or seen before it and silent in
// it (gone = true), as `synmap new`/`gone` do, into `answer`. `context` carries the deadline.
grpc::Status AskSightings(synmap::v1::Query::Stub& stub, grpc::ClientContext* context, bool gone,
                          const synmap::v1::TimeRange& range, const FilterFlags& filters,
                          bool show_remote, uint32_t top_n, SightingsAnswer* answer);

// The windows `synmap new` and `synmap gone` read without --since.
inline constexpr char kNewDefaultSince[] = "24h";
inline constexpr char kGoneDefaultSince[] = "30d";

// The text of `synmap export --format FORMAT` (nftables, iptables, ip6tables, csv or expect)
// for `resp`, counting in `omitted` the rows of an address family the format cannot hold.
// FailedPrecondition, saying why, when no sensor reported or no rule would be written (an
// empty allow-list blocks everything) unless `allow_empty`.
[[nodiscard]] absl::StatusOr<std::string> ExportText(const synmap::v1::ExportResponse& resp,
                                                     const std::string& format,
                                                     const NftTable& nft_table,
                                                     uint64_t min_connections, bool allow_empty,
                                                     size_t* omitted);

}  // namespace synmap::cli
