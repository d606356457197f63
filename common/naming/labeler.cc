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

uint32_t Labeler::ComputeHostLabel(uint32_t ip) {
  if (const std::string* name = names_.HostName(ips_[ip])) {
    return Intern(*name);
  }
  if (show_remote_ || IsLocal(ip)) {
    // No name is an address's text or "_" (the names file refuses both), so an IP label never
    // has the text of an interned one.
    return kIpLabel | ip;
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
    it->second = ips_[ip].ToString();
  }
  return it->second;
}

uint32_t Labeler::Intern(std::string label) {
  auto [it, inserted] = label_ids_.try_emplace(label, static_cast<uint32_t>(labels_.size()));
  if (inserted) {
    labels_.push_back(std::move(label));
  }
  return it->second;
}

}  // namespace synmap::common
