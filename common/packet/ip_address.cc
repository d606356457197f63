#include "common/packet/ip_address.h"

#include <arpa/inet.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace synmap::common {

absl::StatusOr<IpAddress> IpAddress::FromBytes(absl::string_view raw) {
  if (raw.size() == 4) {
    return V4(reinterpret_cast<const uint8_t*>(raw.data()));
  }
  if (raw.size() == 16) {
    return V6(reinterpret_cast<const uint8_t*>(raw.data()));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("ip address must be 4 or 16 bytes, got ", raw.size()));
}

absl::StatusOr<IpAddress> IpAddress::Parse(absl::string_view text) {
  const std::string s(text);
  uint8_t buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    return V4(buf);
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    return V6(buf);
  }
  return absl::InvalidArgumentError(absl::StrCat("not an IP address: '", text, "'"));
}

std::string IpAddress::ToString() const {
  // inet_ntop follows RFC 5952 on glibc (lowercase, longest zero run, no single-field "::").
  char buf[INET6_ADDRSTRLEN];
  if (length == 4) {
    return inet_ntop(AF_INET, bytes.data(), buf, sizeof(buf)) ? std::string(buf) : "?";
  }
  if (length == 16) {
    return inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf)) ? std::string(buf) : "?";
  }
  return "-";
}

}  // namespace synmap::common
