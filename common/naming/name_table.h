#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/naming/cidr.h"
#include "common/naming/service_table.h"
#include "common/packet/ip_address.h"

namespace synmap::common {

// Turns addresses and ports into the recipe's labels: a local host shows as its name, or its
// IP when it has none; a non-local host as "_" (or its IP with show_remote); a port as the
// names file's override, else the system's TCP service name, else "up:PORT". A host named in
// the names file shows its name even when outside local_networks (naming it is explicit).
// With no local_networks (no names file, key absent or empty list) every address is local,
// so the default output shows IPs rather than a useless column of "_".
// Immutable after construction: thread-safe to share, copyable.
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

  // True if `ip` is in a local network (longest prefix match), or no network is configured.
  bool IsLocal(const IpAddress& ip) const;
  // The most specific configured local network holding `ip`, or nullopt (also when none is
  // configured).
  std::optional<Cidr> LocalNetworkOf(const IpAddress& ip) const;
  // The name given to `ip` by the names file, or nullptr; lives as long as this table.
  const std::string* HostName(const IpAddress& ip) const;

  // The name, else the IP if local or `show_remote`, else "_".
  std::string HostLabel(const IpAddress& ip, bool show_remote) const;
  // The override, else the system TCP name, else "up:PORT".
  std::string ServiceLabel(uint16_t port) const;

  bool has_local_networks() const { return !local_networks_.empty(); }

 private:
  PrefixSet local_networks_;
  absl::flat_hash_map<IpAddress, std::string> host_names_;
  absl::flat_hash_map<uint16_t, std::string> service_overrides_;
  ServiceTable system_services_;
};

}  // namespace synmap::common
