#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "common/naming/name_table.h"
#include "common/packet/ip_address.h"

namespace synmap::common {

// The one naming rule of every answer (offline `summarize` and the collector's queries): labels
// are computed once per distinct address id / port and kept as small ids, so grouping millions
// of keys costs array lookups, not string work. A host label follows NameTable::HostLabel: the
// host's name, else its IP text when local or show_remote, else "_". IP-text labels are ids
// derived from the address id (their text is made only when asked for, i.e. for output rows),
// so unnamed hosts cost no string at all. Two label ids are equal exactly when their texts are.
// Borrows `names` and `ips` (the address dictionary: id -> address), which must outlive it.
// Thread-compatible (one answer).
class Labeler {
 public:
  Labeler(const NameTable& names, const std::vector<IpAddress>& ips, bool show_remote);
  Labeler(const Labeler&) = delete;
  Labeler& operator=(const Labeler&) = delete;

  uint32_t HostLabelId(uint32_t ip) {
    uint32_t& id = host_label_[ip];
    if (id == kUnknown) {
      id = ComputeHostLabel(ip);
    }
    return id;
  }
  uint32_t ServiceLabelId(uint16_t port) {
    uint32_t& id = service_label_[port];
    if (id == kUnknown) {
      id = Intern(names_.ServiceLabel(port));
    }
    return id;
  }
  bool IsLocal(uint32_t ip) {
    int8_t& local = local_[ip];
    if (local < 0) {
      local = names_.IsLocal(ips_[ip]) ? 1 : 0;
    }
    return local == 1;
  }
  // The text of a label id; the reference lives as long as this object.
  const std::string& Label(uint32_t label_id) const;
  const IpAddress& Ip(uint32_t ip) const { return ips_[ip]; }
  const NameTable& names() const { return names_; }

 private:
  static constexpr uint32_t kUnknown = 0xffffffffu;
  static constexpr uint32_t kIpLabel = 0x80000000u;  // Set in ids that stand for an IP text.

  uint32_t ComputeHostLabel(uint32_t ip);
  uint32_t Intern(std::string label);

  const NameTable& names_;
  const std::vector<IpAddress>& ips_;
  const bool show_remote_;
  std::vector<uint32_t> host_label_;     // Per ip id; kUnknown = not computed yet.
  std::vector<int8_t> local_;            // Per ip id; -1 = not computed yet.
  std::vector<uint32_t> service_label_;  // Per port.
  // Label() hands out references that must stay valid while more labels are made (a sort
  // comparator holds several): a deque and a node map never move their elements.
  std::deque<std::string> labels_;
  absl::flat_hash_map<std::string, uint32_t> label_ids_;
  mutable absl::node_hash_map<uint32_t, std::string> ip_texts_;  // Made on demand by Label().
};

}  // namespace synmap::common
