#include "common/naming/labeler.h"

#include <utility>

namespace synmap::common {

Labeler::Labeler(const NameTable& names, const std::vector<IpAddress>& ips, bool show_remote)
    : names_(names),
      ips_(ips),
      show_remote_(show_remote),
      host_label_(ips.size(), kUnknown),
      local_(ips.size(), -1),
      service_label_(65536, kUnknown) {}

uint32_t Labeler::SiteId(absl::string_view site) {
  if (site.empty()) {
    return 0;
  }
  auto [it, inserted] = site_ids_.try_emplace(site, static_cast<uint32_t>(sites_.size()));
  if (inserted) {
    sites_.emplace_back(site);
    scope_of_.push_back(names_.ScopeOf(site));
  }
  return it->second;
}

Labeler::ScopeCache& Labeler::ScopedCache(uint32_t scope) {
  auto [it, inserted] = scoped_.try_emplace(scope);
  if (inserted) {
    it->second.host_label.assign(ips_.size(), kUnknown);
    it->second.local.assign(ips_.size(), -1);
  }
  return it->second;
}

void Labeler::ForgetAddressCaches() {
  host_label_ = std::vector<uint32_t>();  // `= {}` or clear() would keep the memory.
  local_ = std::vector<int8_t>();
  scoped_.clear();
}

int8_t& Labeler::ScopedLocal(uint32_t ip, uint32_t scope) {
  ScopeCache& cache = ScopedCache(scope);
  Cover(ip, cache.host_label, cache.local);
  return cache.local[ip];
}

uint32_t Labeler::ScopedHostLabelId(uint32_t ip, uint32_t scope) {
  ScopeCache& cache = ScopedCache(scope);
  Cover(ip, cache.host_label, cache.local);
  uint32_t& id = cache.host_label[ip];
  if (id == kUnknown) {
    id = ComputeHostLabel(ip, scope);
  }
  return id;
}

uint32_t Labeler::ComputeHostLabel(uint32_t ip, uint32_t scope) {
  if (const std::string* name = names_.HostName(ips_[ip], scope)) {
    return Intern(*name);
  }
  const bool local = scope == 0 ? IsLocal(ip) : names_.IsLocal(ips_[ip], scope);
  if (show_remote_ || local) {
    // No name is an address's text or "_" (the names file refuses both), so an IP label never
    // has the text of an interned one.
    return IpLabel(ip);
  }
  return Intern("_");
}

const std::string& Labeler::Label(uint32_t label_id) const {
  if ((label_id & kIpLabel) == 0) {
    return labels_[label_id];
  }
  const uint32_t ip = label_id & ~kIpLabel;
  auto [it, inserted] = ip_texts_.try_emplace(ip);
  if (inserted) {
    TextBuffer buffer;
    it->second = std::string(ips_[ip].Text(buffer));
  }
  return it->second;
}

absl::string_view Labeler::Text(uint32_t label_id, TextBuffer& buffer) const {
  if (!IsIpLabel(label_id)) {
    return labels_[label_id];
  }
  return ips_[IpOf(label_id)].Text(buffer);
}

uint32_t Labeler::Intern(std::string label) {
  auto [it, inserted] = label_ids_.try_emplace(label, static_cast<uint32_t>(labels_.size()));
  if (inserted) {
    labels_.push_back(std::move(label));
  }
  return it->second;
}

}  // namespace synmap::common
