#pragma once

#include "absl/status/status.h"
#include "collector/store/snapshot.h"
#include "common/naming/name_table.h"
#include "synmap/v1/query.pb.h"

namespace synmap::collector::internal {

// Refuses filters that name something the collector does not know, so a typo is an error
// rather than an empty answer. A sensor must be a known sensor name, a site the site of a
// known sensor; a server or client that
// is not "_", an IP address or a CIDR must be the name of a stored host; a service that is not
// a decimal port or "up:PORT" must be the label of a stored port. Returns InvalidArgument
// "unknown sensor 'nosuch'; known: router-a, router-b" (at most 20 choices listed, sorted),
// OK otherwise. Reads the snapshot's sensors, address and key dictionaries only.
[[nodiscard]] absl::Status CheckFilterNames(const synmap::v1::Filters& filters,
                                            const StoreSnapshot& snapshot,
                                            const common::NameTable& names);

}  // namespace synmap::collector::internal
