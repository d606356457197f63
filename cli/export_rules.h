#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "synmap/v1/query.pb.h"

namespace synmap::cli {

// Renders an Export answer as firewall rules: an allow-list of (server address, TCP port).

// Where the nftables fragment goes: the user's own table, e.g. "inet filter" (the default).
struct NftTable {
  std::string family = "inet";  // inet, ip or ip6.
  std::string name = "filter";
};

// Parses "FAMILY NAME" (family inet, ip or ip6; name of letters, digits, '_', '-', '.').
// InvalidArgument naming the bad part.
[[nodiscard]] absl::StatusOr<NftTable> ParseNftTable(absl::string_view text);

// The comment lines every output starts with: what it is, the window and the sensors that
// reported in it with their losses (the answer's coverage), the connection threshold and how
// many rules follow.
std::string ExportHeader(const synmap::v1::ExportResponse& resp, uint64_t min_connections,
                         size_t rules);

// An nftables fragment for `nft -f`: a regular chain "synmap_allow" and the sets
// "synmap_allow_v4"/"synmap_allow_v6" (address . port) inside `table`, which is created if
// missing; loading it again replaces their contents. The user jumps to the chain from a base
// chain of that table. Rows of an address family the table cannot hold (IPv6 in an "ip" table)
// are left out and counted in `omitted`.
std::string RenderNftables(const synmap::v1::ExportResponse& resp, const NftTable& table,
                           uint64_t min_connections, size_t* omitted);

// iptables-restore (v6 = false) or ip6tables-restore (v6 = true) input for --noflush: the chain
// SYNMAP_ALLOW in table filter, created or emptied, one ACCEPT rule per row of that family.
// Rows of the other family are counted in `omitted`.
std::string RenderIptables(const synmap::v1::ExportResponse& resp, bool v6,
                           uint64_t min_connections, size_t* omitted);

// Rows of `resp` that `format` ("nftables" into `table`, "iptables", "ip6tables", "csv",
// "expect") emits.
size_t RuleCount(const synmap::v1::ExportResponse& resp, absl::string_view format,
                 const NftTable& table);

}  // namespace synmap::cli
