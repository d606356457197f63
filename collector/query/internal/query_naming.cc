#include "collector/query/internal/query_naming.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace synmap::collector::internal {
namespace {

constexpr size_t kMaxFilterBytes = 256;

}  // namespace

absl::StatusOr<HostFilter> HostFilter::Parse(absl::string_view text) {
  if (text.size() > kMaxFilterBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("host filter longer than ", kMaxFilterBytes, " bytes"));
  }
  HostFilter filter;
  filter.text_ = std::string(text);
  if (absl::StrContains(text, '/')) {
    absl::StatusOr<common::Cidr> cidr = common::Cidr::Parse(text);
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("host filter: ", cidr.status().message()));
    }
    filter.cidr_ = *cidr;
  } else if (absl::StatusOr<common::IpAddress> ip = common::IpAddress::Parse(text); ip.ok()) {
    filter.cidr_ = common::Cidr{*ip, ip->is_v4() ? 32 : 128};
  }
  return filter;
}

bool HostFilter::Matches(uint32_t ip, const QueryNaming& naming, uint32_t site) {
  if (text_.empty()) {
    return true;
  }
  const uint32_t scope = naming.Scope(site);
  std::vector<int8_t>& cache = scope == 0 ? cache_ : scoped_cache_[scope];
  if (cache.size() <= ip) {
    cache.resize(ip + 1, -1);
  }
  int8_t& cached = cache[ip];
  if (cached < 0) {
    const common::IpAddress& address = naming.Ip(ip);
    const bool match = (cidr_.has_value() && cidr_->Contains(address)) ||
                       naming.names().HostLabel(address, false, scope) == text_ ||
                       naming.names().HostLabel(address, true, scope) == text_;
    cached = match ? 1 : 0;
  }
  return cached == 1;
}

absl::StatusOr<ServiceFilter> ServiceFilter::Parse(absl::string_view text) {
  if (text.size() > kMaxFilterBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("service filter longer than ", kMaxFilterBytes, " bytes"));
  }
  ServiceFilter filter;
  filter.text_ = std::string(text);
  uint32_t port = 0;
  if (absl::SimpleAtoi(text, &port)) {
    filter.port_ = port;
  }
  return filter;
}

bool ServiceFilter::Matches(uint16_t port, const common::NameTable& names) {
  if (text_.empty()) {
    return true;
  }
  if (cache_.empty()) {
    cache_.assign(65536, -1);
  }
  int8_t& cached = cache_[port];
  if (cached < 0) {
    const bool match = (port_.has_value() && *port_ == port) || names.ServiceLabel(port) == text_;
    cached = match ? 1 : 0;
  }
  return cached == 1;
}

}  // namespace synmap::collector::internal
