#include "common/naming/name_table.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/naming/internal/names_file.h"
#include "common/naming/internal/read_file.h"
#include "common/status/status_macros.h"

namespace synmap::common {

NameTable::NameTable(ServiceTable system_services) : system_services_(std::move(system_services)) {}

absl::StatusOr<NameTable> NameTable::LoadFile(absl::string_view names_path,
                                              absl::string_view services_path) {
  absl::StatusOr<ServiceTable> services = ServiceTable::LoadFile(services_path);
  if (absl::IsNotFound(services.status())) {
    // Minimal containers ship without /etc/services: names still work, ports show up:PORT.
    SYNMAP_LOG(WARNING) << "services_file_missing path=" << services_path;
    services = ServiceTable();
  }
  SYNMAP_RETURN_IF_ERROR(services.status());
  if (names_path.empty()) {
    return NameTable(*std::move(services));
  }
  SYNMAP_ASSIGN_OR_RETURN(const std::string text, internal::ReadFile(names_path, "names file"));
  return FromYaml(text, names_path, *std::move(services));
}

absl::StatusOr<NameTable> NameTable::FromYaml(absl::string_view yaml_text,
                                              absl::string_view filename,
                                              ServiceTable system_services) {
  SYNMAP_ASSIGN_OR_RETURN(internal::NamesFile file, internal::ParseNamesFile(yaml_text, filename));
  NameTable table(std::move(system_services));
  for (const Cidr& cidr : file.local_networks) {
    table.local_networks_.Insert(cidr);
  }
  table.host_names_ = std::move(file.host_names);
  table.service_overrides_ = std::move(file.services);
  return table;
}

bool NameTable::IsLocal(const IpAddress& ip) const {
  return local_networks_.empty() || local_networks_.LongestMatch(ip).has_value();
}

std::optional<Cidr> NameTable::LocalNetworkOf(const IpAddress& ip) const {
  return local_networks_.LongestMatch(ip);
}

const std::string* NameTable::HostName(const IpAddress& ip) const {
  auto it = host_names_.find(ip);
  return it == host_names_.end() ? nullptr : &it->second;
}

std::string NameTable::HostLabel(const IpAddress& ip, bool show_remote) const {
  if (const std::string* name = HostName(ip)) {
    return *name;
  }
  if (show_remote || IsLocal(ip)) {
    return ip.ToString();
  }
  return "_";
}

std::string NameTable::ServiceLabel(uint16_t port) const {
  if (auto it = service_overrides_.find(port); it != service_overrides_.end()) {
    return it->second;
  }
  if (const std::string* name = system_services_.Find(port)) {
    return *name;
  }
  return absl::StrCat("up:", port);
}

}  // namespace synmap::common
