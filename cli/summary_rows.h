#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "cli/table_format.h"
#include "common/aggregate/record.h"
#include "common/naming/name_table.h"

namespace synmap::cli {

enum class CountKind { kConnections, kPackets };
enum class SortOrder { kCount, kName };

// One output row: records whose labels are equal after naming, summed.
struct SummaryRow {
  std::string client;
  std::string server;
  std::string service;
  int32_t server_port = -1;  // -1 when the merged records had different ports.
  uint64_t packets = 0;
  uint64_t connections = 0;
  int64_t first_seen_ns = 0;
  int64_t last_seen_ns = 0;

  friend bool operator==(const SummaryRow&, const SummaryRow&) = default;
};

// Names every record (client and server via HostLabel, port via ServiceLabel) and sums the
// records that become equal. Order of the result is unspecified.
std::vector<SummaryRow> NameRecords(absl::Span<const common::Record> records,
                                    const common::NameTable& names, bool show_remote);

// kCount: by the chosen count descending, then client, server, service ascending.
// kName: by client, server, service ascending, then count descending.
void SortRows(CountKind count, SortOrder order, std::vector<SummaryRow>* rows);

// The table of `rows`: text/tsv/csv columns count, client, server, service (recipe layout);
// json adds server_port, packets, connections, first_seen, last_seen (RFC 3339).
Table RowsToTable(absl::Span<const SummaryRow> rows, CountKind count);

// RFC 3339 in UTC with only the fractional digits needed: "2026-11-27T09:10:29Z",
// "2026-11-27T09:10:29.123Z" (as FormatMachineTime, but 0 is the epoch, not empty).
std::string FormatRfc3339Nanos(int64_t unix_ns);

}  // namespace synmap::cli
