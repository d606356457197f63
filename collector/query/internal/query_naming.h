#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/naming/cidr.h"
#include "common/naming/labeler.h"
#include "common/naming/name_table.h"
#include "common/packet/ip_address.h"

namespace synmap::collector::internal {

// Naming is common::Labeler, the rule shared with offline summaries.
using QueryNaming = common::Labeler;

// A server/client filter: empty matches all; else a host label (as shown with or without
// show_remote, so "_" matches any non-local host), an IP address or a CIDR network.
// Results are cached per address id. Thread-compatible.
class HostFilter {
 public:
  // InvalidArgument for an unparsable CIDR ("10.0.0.0/33") or text over 256 bytes.
  static absl::StatusOr<HostFilter> Parse(absl::string_view text);

  bool empty() const { return text_.empty(); }
  // Whether address `ip` of a key of site `site` (QueryNaming::SiteId) matches, labelled with
  // that site's names.
  bool Matches(uint32_t ip, const QueryNaming& naming, uint32_t site = 0);

 private:
  std::string text_;
  std::optional<common::Cidr> cidr_;
  std::vector<int8_t> cache_;  // Per ip id; -1 = not computed yet (the global names).
  absl::flat_hash_map<uint32_t, std::vector<int8_t>> scoped_cache_;  // Other names scopes.
};

// A service filter: empty matches all; else a service label or a decimal port.
class ServiceFilter {
 public:
  // InvalidArgument for text over 256 bytes.
  static absl::StatusOr<ServiceFilter> Parse(absl::string_view text);

  bool empty() const { return text_.empty(); }
  bool Matches(uint16_t port, const common::NameTable& names);

 private:
  std::string text_;
  std::optional<uint32_t> port_;
  std::vector<int8_t> cache_;  // Per port; -1 = not computed yet.
};

}  // namespace synmap::collector::internal
