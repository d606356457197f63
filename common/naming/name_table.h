#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/naming/cidr.h"
#include "common/naming/internal/names_file.h"
#include "common/naming/service_table.h"
#include "common/packet/ip_address.h"

namespace synmap::common {

// How much a names table holds (logged on reload). Plain data.
struct NameCounts {
  size_t local_networks = 0;
  size_t hosts = 0;           // Distinct host names.
  size_t host_addresses = 0;  // Addresses given a name.
  size_t services = 0;        // Port overrides.
  size_t sites = 0;           // Entries of `sites:` (their networks and addresses counted above).

  bool empty() const {
    return local_networks == 0 && host_addresses == 0 && services == 0 && sites == 0;
  }
  bool operator==(const NameCounts&) const = default;
};

// Turns addresses and ports into the recipe's labels: a local host shows as its name, or its
// IP when it has none; a non-local host as "_" (or its IP with show_remote); a port as the
// names file's override, else the system's TCP service name, else "up:PORT". A host named in
// the names file shows its name even when outside local_networks (naming it is explicit).
// With no local_networks (no names file, key absent or empty list) every address is local,
// so the default output shows IPs rather than a useless column of "_".
// Sites: the file's `sites:` entries give a site its own local networks (replacing the global
// ones for that site) and host names (looked at before the global ones). Lookups take a scope:
// 0 = the global names, ScopeOf(site) for a site's keys (0 again for a site the file does not
// list). Immutable after construction: thread-safe to share, copyable.
class NameTable {
 public:
  // Loads the names file at `names_path` (empty = no names file) and the system's TCP
  // services from `services_path`. A missing services file leaves the system table empty
  // (logged as a warning); other read errors are returned. Errors: NotFound (names file
  // missing), InvalidArgument "<path>:<line>: <where>: <what>" for a bad names file.
  static absl::StatusOr<NameTable> LoadFile(absl::string_view names_path,
                                            absl::string_view services_path = kSystemServicesPath);

  // Builds a table from names-file YAML text; `filename` is used only in error messages.
  // InvalidArgument as for LoadFile.
  static absl::StatusOr<NameTable> FromYaml(absl::string_view yaml_text, absl::string_view filename,
                                            ServiceTable system_services = ServiceTable());

  // No names file: every address local, no host names, no overrides.
  NameTable() = default;
  explicit NameTable(ServiceTable system_services);

  // The scope of `site`'s keys: 1 + its index among the file's sites, or 0 (the global names)
  // when the file has no entry for it (or `site` is empty).
  uint32_t ScopeOf(absl::string_view site) const;
  // The names of the file's sites, in file order (scope i + 1 is site_names()[i]).
  std::vector<std::string> site_names() const;

  // True if `ip` is in a local network of `scope` (longest prefix match), or that scope has no
  // network configured.
  bool IsLocal(const IpAddress& ip, uint32_t scope = 0) const;
  // The most specific configured local network holding `ip`, or nullopt (also when none is
  // configured).
  std::optional<Cidr> LocalNetworkOf(const IpAddress& ip) const;
  // The name given to `ip` by the names file in `scope` (the site's, else the global one), or
  // nullptr; lives as long as this table.
  const std::string* HostName(const IpAddress& ip, uint32_t scope = 0) const;

  // The name, else the IP if local or `show_remote`, else "_" (in `scope`).
  std::string HostLabel(const IpAddress& ip, bool show_remote, uint32_t scope = 0) const;
  // The override, else the system TCP name, else "up:PORT".
  std::string ServiceLabel(uint16_t port) const;

  bool has_local_networks() const { return !local_networks_.empty(); }
  NameCounts counts() const;
  // True when the names file had at least one top-level key (`local_networks: []` counts):
  // an empty result was then asked for, not the accident of an empty or comment-only file.
  bool declares_keys() const { return declares_keys_; }

 private:
  PrefixSet local_networks_;
  std::vector<std::string> hosts_;                             // Host names.
  absl::flat_hash_map<IpAddress, internal::NamedIp> host_of_;  // Named IP -> its host.
  absl::flat_hash_map<uint16_t, std::string> service_overrides_;
  // One site's own names (scope = index + 1).
  struct SiteScope {
    std::string name;
    bool own_local_networks = false;  // Replaces local_networks_ for this site.
    PrefixSet local_networks;
    absl::flat_hash_map<IpAddress, internal::NamedIp> host_of;  // Into hosts_.
  };
  std::vector<SiteScope> sites_;
  ServiceTable system_services_;
  NameCounts counts_;
  bool declares_keys_ = false;
};

// Whether a SIGHUP reload may replace `current` by `next` (loaded from `path`).
// FailedPrecondition when `next` would remove every local network, host name and service
// override `current` has while its file declares no key (empty or comment-only, as a file
// truncated by a failed copy is): the caller keeps `current`. OK otherwise.
[[nodiscard]] absl::Status CheckNamesReload(const NameTable& current, const NameTable& next,
                                            absl::string_view path);

// "local_networks=N hosts=N host_addresses=N services=N", for the reload log line.
std::string DescribeNameCounts(const NameCounts& counts);

}  // namespace synmap::common
