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

// The validated content of a names file (see DESIGN.md, "Naming").
struct NamesFile {
  std::vector<Cidr> local_networks;                        // In file order.
  absl::flat_hash_map<IpAddress, std::string> host_names;  // Each IP under one name.
  absl::flat_hash_map<uint16_t, std::string> services;     // Port overrides.
  // True when the file has at least one top-level key (even `local_networks: []`); false for
  // an empty or comment-only file.
  bool has_keys = false;
};

// Parses and validates names-file YAML. Any mistake is InvalidArgument
// "<filename>:<line>: <where>: <what>", e.g.
// "names.yaml:4: local_networks[1]: '10.0.0.0/33' is not a CIDR (prefix length 33 > 32)".
// Checked: YAML syntax, top level a map, unknown keys, types, CIDRs, IPs, host and service
// names (non-empty, no whitespace or control characters, host name not "_"), an IP under two
// names, a name or port listed twice, ports outside 1-65535. Empty text is an empty file.
absl::StatusOr<NamesFile> ParseNamesFile(absl::string_view text, absl::string_view filename);

}  // namespace synmap::common::internal
