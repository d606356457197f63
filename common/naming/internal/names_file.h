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

// The validated content of a names file (see DESIGN.md, "Naming").
struct NamesFile {
  std::vector<Cidr> local_networks;  // In file order.
  std::vector<std::string> hosts;    // Host names, in file order (names without addresses too).
  // Each named IP and its name (an IP takes one name).
  absl::flat_hash_map<IpAddress, NamedIp> host_of;
  absl::flat_hash_map<uint16_t, std::string> services;  // Port overrides.
  // True when the file has at least one top-level key (even `local_networks: []`); false for
  // an empty or comment-only file.
  bool has_keys = false;
};

// Parses and validates names-file YAML, streaming: yaml-cpp's parser events are checked as
// they come, with no document tree (a 100,000-host file costs its result, not a node tree).
// Any mistake is InvalidArgument "<filename>:<line>: <where>: <what>", e.g.
// "names.yaml:4: local_networks[1]: '10.0.0.0/33' is not a CIDR (prefix length 33 > 32)".
// Checked: YAML syntax, top level a map, unknown keys, types, CIDRs, IPs, host and service
// names (non-empty, no whitespace or control characters, host name not "_" nor an IP), an IP
// under two names, a name or port listed twice, ports outside 1-65535; aliases (*name) are
// refused. Empty text is an empty file.
absl::StatusOr<NamesFile> ParseNamesFile(absl::string_view text, absl::string_view filename);

}  // namespace synmap::common::internal
