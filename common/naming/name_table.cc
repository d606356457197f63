#include "common/naming/name_table.h"

#include <algorithm>
#include <utility>
#include <vector>

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
  table.hosts_ = std::move(file.hosts);
  table.host_of_ = std::move(file.host_of);
  std::vector<bool> has_address(table.hosts_.size());
  for (const auto& [ip, named] : table.host_of_) {
    has_address[named.host] = true;
  }
  table.service_overrides_ = std::move(file.services);
  table.declares_keys_ = file.has_keys;
  size_t site_networks = 0;
  for (internal::SiteNames& site : file.sites) {
    SiteScope& scope = table.sites_.emplace_back();
    scope.name = std::move(site.name);
    scope.own_local_networks = site.has_local_networks;
    for (const Cidr& cidr : site.local_networks) {
      scope.local_networks.Insert(cidr);
    }
    site_networks += site.local_networks.size();
    for (const auto& [ip, named] : site.host_of) {
      has_address[named.host] = true;
    }
    scope.host_of = std::move(site.host_of);
  }
  table.counts_ = NameCounts{
      .local_networks = file.local_networks.size(),
      .hosts = static_cast<size_t>(std::count(has_address.begin(), has_address.end(), true)),
      .host_addresses = table.host_of_.size(),
      .services = table.service_overrides_.size(),
      .sites = table.sites_.size()};
  table.counts_.local_networks += site_networks;
  for (const SiteScope& site : table.sites_) {
    table.counts_.host_addresses += site.host_of.size();
  }
  return table;
}

uint32_t NameTable::ScopeOf(absl::string_view site) const {
  if (site.empty()) {
    return 0;
  }
  for (size_t i = 0; i < sites_.size(); ++i) {
    if (sites_[i].name == site) {
      return static_cast<uint32_t>(i + 1);
    }
  }
  return 0;
}

std::vector<std::string> NameTable::site_names() const {
  std::vector<std::string> names;
  for (const SiteScope& site : sites_) {
    names.push_back(site.name);
  }
  return names;
}

NameCounts NameTable::counts() const { return counts_; }

absl::Status CheckNamesReload(const NameTable& current, const NameTable& next,
                              absl::string_view path) {
  if (!next.counts().empty() || next.declares_keys() || current.counts().empty()) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "names file ", path, " is empty or only comments: it would remove every local network, ",
      "host name and service name (", DescribeNameCounts(current.counts()),
      " now); write `local_networks: []` in it to mean that"));
}

std::string DescribeNameCounts(const NameCounts& counts) {
  return absl::StrCat("local_networks=", counts.local_networks, " hosts=", counts.hosts,
                      " host_addresses=", counts.host_addresses, " services=", counts.services,
                      counts.sites > 0 ? absl::StrCat(" sites=", counts.sites) : "");
}

bool NameTable::IsLocal(const IpAddress& ip, uint32_t scope) const {
  const PrefixSet& networks = scope > 0 && sites_[scope - 1].own_local_networks
                                  ? sites_[scope - 1].local_networks
                                  : local_networks_;
  return networks.empty() || networks.LongestMatch(ip).has_value();
}

std::optional<Cidr> NameTable::LocalNetworkOf(const IpAddress& ip) const {
  return local_networks_.LongestMatch(ip);
}

const std::string* NameTable::HostName(const IpAddress& ip, uint32_t scope) const {
  if (scope > 0) {
    const auto& site = sites_[scope - 1].host_of;
    if (auto it = site.find(ip); it != site.end()) {
      return &hosts_[it->second.host];
    }
  }
  auto it = host_of_.find(ip);
  return it == host_of_.end() ? nullptr : &hosts_[it->second.host];
}

std::string NameTable::HostLabel(const IpAddress& ip, bool show_remote, uint32_t scope) const {
  if (const std::string* name = HostName(ip, scope)) {
    return *name;
  }
  if (show_remote || IsLocal(ip, scope)) {
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
