#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "common/naming/name_table.h"
#include "common/packet/ip_address.h"

namespace synmap::common {

// The one naming rule of every answer (offline `summarize` and the collector's queries): labels
// are computed once per distinct address id / port and kept as small ids, so grouping millions
// of keys costs array lookups, not string work. A host label follows NameTable::HostLabel: the
// host's name, else its IP text when local or show_remote, else "_". IP-text labels are ids
// derived from the address id (their text is made only when asked for, i.e. for output rows),
// so unnamed hosts cost no string at all. Two label ids are equal exactly when their texts are.
// Sites: a key's site (a small id from SiteId, 0 = no site) picks which names apply to its
// addresses (NameTable::ScopeOf: the site's own local networks and host names, else the global
// ones); the site itself is kept apart by the caller (SummaryGrouper groups by it).
// Borrows `names` and `ips` (the address dictionary: id -> address), which must outlive it;
// addresses may be appended to `ips` while it is used.
// Thread-compatible (one answer).
class Labeler {
 public:
  Labeler(const NameTable& names, const std::vector<IpAddress>& ips, bool show_remote);
  Labeler(const Labeler&) = delete;
  Labeler& operator=(const Labeler&) = delete;

  // The id of site `site` in this answer ("" = 0, no site; others 1, 2, ... in first-use order).
  uint32_t SiteId(absl::string_view site);
  // The name of a site id ("" for 0).
  const std::string& SiteName(uint32_t site) const { return sites_[site]; }
  // The names scope (NameTable::ScopeOf) of a site id.
  uint32_t Scope(uint32_t site) const { return scope_of_[site]; }

  uint32_t HostLabelId(uint32_t ip, uint32_t site = 0) {
    if (site != 0 && scope_of_[site] != 0) {
      return ScopedHostLabelId(ip, scope_of_[site]);
    }
    Cover(ip, host_label_, local_);
    uint32_t& id = host_label_[ip];
    if (id == kUnknown) {
      id = ComputeHostLabel(ip, 0);
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
  bool IsLocal(uint32_t ip, uint32_t site = 0) {
    const uint32_t scope = site == 0 ? 0 : scope_of_[site];
    if (scope == 0) {
      Cover(ip, host_label_, local_);
    }
    int8_t& local = scope == 0 ? local_[ip] : ScopedLocal(ip, scope);
    if (local < 0) {
      local = names_.IsLocal(ips_[ip], scope) ? 1 : 0;
    }
    return local == 1;
  }
  // Frees the per-address caches of host labels and locality (5 bytes an address, per names
  // scope used) once an answer's labels are made: only Text() and Label() are left to call.
  // Labels asked for later are made again.
  void ForgetAddressCaches();
  // The text of a label id; the reference lives as long as this object. An IP label's text is
  // kept once made (a hash-map node and a string): for a few rows; many rows use Text().
  const std::string& Label(uint32_t label_id) const;
  // Room for an address's text.
  using TextBuffer = IpAddress::TextBuffer;
  // The text of a label id without keeping it: an IP label's text is written into `buffer`. The
  // view lives until `buffer` is reused and as long as this object.
  absl::string_view Text(uint32_t label_id, TextBuffer& buffer) const;
  // Asks for the memory Text(label_id, ...) will read (an IP label's address), so a caller going
  // through many rows can overlap the cache misses of the rows ahead with the work on this one.
  void Prefetch(uint32_t label_id) const {
    if (IsIpLabel(label_id)) {
      __builtin_prefetch(&ips_[IpOf(label_id)]);
    }
  }
  // Whether a label id stands for an IP text (Ip(IpOf(id))), not an interned name.
  static bool IsIpLabel(uint32_t label_id) { return (label_id & kIpLabel) != 0; }
  static uint32_t IpOf(uint32_t label_id) { return label_id & ~kIpLabel; }
  static uint32_t IpLabel(uint32_t ip) { return kIpLabel | ip; }
  // Interned labels have ids 0 .. interned_count() - 1.
  uint32_t interned_count() const { return static_cast<uint32_t>(labels_.size()); }
  size_t ip_count() const { return ips_.size(); }
  const IpAddress& Ip(uint32_t ip) const { return ips_[ip]; }
  const NameTable& names() const { return names_; }

 private:
  static constexpr uint32_t kUnknown = 0xffffffffu;
  static constexpr uint32_t kIpLabel = 0x80000000u;  // Set in ids that stand for an IP text.

  // Per-address caches of one names scope other than the global one, made on first use.
  struct ScopeCache {
    std::vector<uint32_t> host_label;
    std::vector<int8_t> local;
  };
  ScopeCache& ScopedCache(uint32_t scope);
  int8_t& ScopedLocal(uint32_t ip, uint32_t scope);
  // Grows a scope's per-address caches (of one size) to the dictionary's when `ip` is past
  // them: addresses may be added to it while labels are made (an offline summary adds them as
  // it reads its records).
  void Cover(uint32_t ip, std::vector<uint32_t>& host_label, std::vector<int8_t>& local) const {
    if (ip >= host_label.size()) {
      host_label.resize(ips_.size(), kUnknown);
      local.resize(ips_.size(), -1);
    }
  }
  uint32_t ScopedHostLabelId(uint32_t ip, uint32_t scope);
  uint32_t ComputeHostLabel(uint32_t ip, uint32_t scope);
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
  std::vector<std::string> sites_{""};                           // Site id -> name.
  std::vector<uint32_t> scope_of_{0};  // Site id -> names scope (NameTable::ScopeOf).
  absl::flat_hash_map<std::string, uint32_t> site_ids_;
  absl::node_hash_map<uint32_t, ScopeCache> scoped_;  // Names scope -> its caches.
};

}  // namespace synmap::common
