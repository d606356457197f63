#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/naming/cidr.h"
#include "common/packet/ip_address.h"

namespace synmap::common::internal {

// The name of one address: its index in NamesFile::hosts, and the 1-based line it was named on.
struct NamedIp {
  uint32_t host = 0;
  int line = 0;
};

// The local networks and host names one site of a names file gives itself (`sites: NAME:`),
// looked at before the file's global ones.
struct SiteNames {
  std::string name;
  bool has_local_networks = false;   // The site has its own local_networks (replacing the global).
  std::vector<Cidr> local_networks;  // In file order.
  absl::flat_hash_map<IpAddress, NamedIp> host_of;  // Host indexes into NamesFile::hosts.
};

// The validated content of a names file (docs/names.md).
struct NamesFile {
  std::vector<Cidr> local_networks;  // In file order.
  std::vector<std::string> hosts;    // Host names, in file order (names without addresses too).
  // Each named IP and its name (an IP takes one name).
  absl::flat_hash_map<IpAddress, NamedIp> host_of;
  absl::flat_hash_map<uint16_t, std::string> services;  // Port overrides.
  std::vector<SiteNames> sites;                         // In file order.
  // True when the file has at least one top-level key (even `local_networks: []`); false for
  // an empty or comment-only file.
  bool has_keys = false;
};

// Parses and validates names-file YAML, streaming: yaml-cpp's parser events are checked as
// they come, with no document tree (a 100,000-host file costs its result, not a node tree).
// Any mistake is InvalidArgument "<filename>:<line>: <where>: <what>", e.g.
// "names.yaml:4: local_networks[1]: '10.0.0.0/33' is not a CIDR (prefix length 33 > 32)".
// Checked: YAML syntax, top level a map, unknown keys, types, CIDRs, IPs, host, service and
// site names (non-empty, no whitespace or control characters, host name not "_" nor an IP), an
// IP under two names or a host name listed twice (in the global lists, or in one site's), a
// port or site listed twice, ports outside 1-65535, a site with keys other than
// local_networks and hosts; aliases (*name) are refused. Empty text is an empty file. Errors in
// a site name their place as "sites.NAME.hosts.www[0]".
absl::StatusOr<NamesFile> ParseNamesFile(absl::string_view text, absl::string_view filename);

}  // namespace synmap::common::internal
