#include "common/naming/cidr.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace synmap::common {
namespace {

absl::Status NotCidr(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a CIDR (", why, ")"));
}

}  // namespace

IpAddress MaskAddress(const IpAddress& ip, int prefix_length) {
  IpAddress masked = ip;
  const int bits = ip.length * 8;
  prefix_length = std::clamp(prefix_length, 0, bits);
  for (int byte = prefix_length / 8; byte < ip.length; ++byte) {
    // Leading bits of this byte to keep: 0..7 in the first byte, 0 in the ones after it.
    const int keep = std::max(0, prefix_length - byte * 8);
    masked.bytes[byte] &= static_cast<uint8_t>(~(0xff >> keep));
  }
  return masked;
}

absl::StatusOr<Cidr> Cidr::Parse(absl::string_view text) {
  const size_t slash = text.find('/');
  const absl::string_view address_text = text.substr(0, slash);
  absl::StatusOr<IpAddress> address = IpAddress::Parse(address_text);
  if (!address.ok()) {
    return NotCidr(text, absl::StrCat("'", address_text, "' is not an IP address"));
  }
  const int max_length = address->length * 8;
  int prefix_length = max_length;
  if (slash != absl::string_view::npos) {
    const absl::string_view length_text = text.substr(slash + 1);
    const bool digits = !length_text.empty() && length_text.size() <= 3 &&
                        std::all_of(length_text.begin(), length_text.end(),
                                    [](char c) { return absl::ascii_isdigit(c); });
    if (!digits || !absl::SimpleAtoi(length_text, &prefix_length)) {
      return NotCidr(text, absl::StrCat("prefix length '", length_text, "' is not a number"));
    }
    if (prefix_length > max_length) {
      return NotCidr(text, absl::StrCat("prefix length ", prefix_length, " > ", max_length));
    }
  }
  Cidr cidr{MaskAddress(*address, prefix_length), prefix_length};
  if (cidr.network != *address) {
    return NotCidr(text, absl::StrCat("host bits set; the network is ", cidr.ToString()));
  }
  return cidr;
}

bool Cidr::Contains(const IpAddress& ip) const {
  return ip.length == network.length && MaskAddress(ip, prefix_length) == network;
}

std::string Cidr::ToString() const { return absl::StrCat(network.ToString(), "/", prefix_length); }

void PrefixSet::InsertInto(std::vector<Level>& levels, const Cidr& cidr) {
  auto it = std::find_if(levels.begin(), levels.end(), [&](const Level& level) {
    return level.prefix_length <= cidr.prefix_length;
  });
  if (it == levels.end() || it->prefix_length != cidr.prefix_length) {
    it = levels.insert(it, Level{cidr.prefix_length, {}});
  }
  it->networks.insert(cidr.network);
}

void PrefixSet::Insert(const Cidr& cidr) { InsertInto(cidr.network.is_v4() ? v4_ : v6_, cidr); }

std::optional<Cidr> PrefixSet::LongestMatch(const IpAddress& ip) const {
  const std::vector<Level>* levels = ip.is_v4() ? &v4_ : ip.is_v6() ? &v6_ : nullptr;
  if (levels == nullptr) {
    return std::nullopt;
  }
  for (const Level& level : *levels) {
    const IpAddress masked = MaskAddress(ip, level.prefix_length);
    if (level.networks.contains(masked)) {
      return Cidr{masked, level.prefix_length};
    }
  }
  return std::nullopt;
}

}  // namespace synmap::common
