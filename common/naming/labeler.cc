#include "common/naming/labeler.h"

#include <utility>

namespace synmap::common {
namespace {

char* AppendDecimal(unsigned v, char* out) {  // v < 256.
  if (v >= 100) {
    *out++ = static_cast<char>('0' + v / 100);
    v %= 100;
    *out++ = static_cast<char>('0' + v / 10);
  } else if (v >= 10) {
    *out++ = static_cast<char>('0' + v / 10);
  }
  *out++ = static_cast<char>('0' + v % 10);
  return out;
}

char* AppendV4(const uint8_t* bytes, char* out) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      *out++ = '.';
    }
    out = AppendDecimal(bytes[i], out);
  }
  return out;
}

// glibc's inet_ntop6 (RFC 5952: lowercase hex without leading zeros, the first longest run of
// two or more zero words as "::", IPv4-compatible and -mapped addresses with a dotted tail),
// without its sprintf per word.
char* AppendV6(const uint8_t* bytes, char* out) {
  uint16_t words[8];
  for (int i = 0; i < 8; ++i) {
    words[i] = static_cast<uint16_t>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
  }
  int best_base = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (words[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && words[j] == 0) {
      ++j;
    }
    if (j - i > best_len) {
      best_base = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) {
    best_base = -1;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 8; ++i) {
    if (best_base != -1 && i >= best_base && i < best_base + best_len) {
      if (i == best_base) {
        *out++ = ':';
      }
      continue;
    }
    if (i != 0) {
      *out++ = ':';
    }
    if (i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
      return AppendV4(bytes + 12, out);
    }
    bool digits = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned nibble = (words[i] >> shift) & 0xf;
      if (nibble != 0 || digits || shift == 0) {
        *out++ = kHex[nibble];
        digits = true;
      }
    }
  }
  if (best_base != -1 && best_base + best_len == 8) {
    *out++ = ':';
  }
  return out;
}

// `ip`'s text as IpAddress::ToString writes it (inet_ntop), into `buffer`, without glibc's
// sprintf per byte or word (formatting a million addresses was a fifth of a big summary).
absl::string_view IpText(const IpAddress& ip, Labeler::TextBuffer& buffer) {
  char* const begin = buffer.data();
  if (ip.is_v4()) {
    return absl::string_view(begin, static_cast<size_t>(AppendV4(ip.bytes.data(), begin) - begin));
  }
  if (ip.is_v6()) {
    return absl::string_view(begin, static_cast<size_t>(AppendV6(ip.bytes.data(), begin) - begin));
  }
  return "-";  // As ToString.
}

}  // namespace

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
    it->second = std::string(IpText(ips_[ip], buffer));
  }
  return it->second;
}

absl::string_view Labeler::Text(uint32_t label_id, TextBuffer& buffer) const {
  if (!IsIpLabel(label_id)) {
    return labels_[label_id];
  }
  return IpText(ips_[IpOf(label_id)], buffer);
}

uint32_t Labeler::Intern(std::string label) {
  auto [it, inserted] = label_ids_.try_emplace(label, static_cast<uint32_t>(labels_.size()));
  if (inserted) {
    labels_.push_back(std::move(label));
  }
  return it->second;
}

}  // namespace synmap::common
