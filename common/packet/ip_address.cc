#include "common/packet/ip_address.h"

#include <arpa/inet.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

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

}  // namespace

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

absl::string_view IpAddress::Text(TextBuffer& buffer) const {
  char* const begin = buffer.data();
  if (is_v4()) {
    return absl::string_view(begin, static_cast<size_t>(AppendV4(bytes.data(), begin) - begin));
  }
  if (is_v6()) {
    return absl::string_view(begin, static_cast<size_t>(AppendV6(bytes.data(), begin) - begin));
  }
  return "-";
}

std::string IpAddress::ToString() const {
  TextBuffer buffer;
  return std::string(Text(buffer));
}

}  // namespace synmap::common
