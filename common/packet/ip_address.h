#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace synmap::common {

// An IPv4 or IPv6 address held by value (network byte order). IPv4 uses bytes[0..3] and
// leaves the rest zero, so equality, ordering and hashing are plain byte comparisons.
// A default-constructed address is "none" (length 0). Plain data, copyable.
struct IpAddress {
  uint8_t length = 0;  // 0 (none), 4 or 16 bytes.
  std::array<uint8_t, 16> bytes{};

  static IpAddress V4(const uint8_t* four_bytes) {
    IpAddress a;
    a.length = 4;
    std::memcpy(a.bytes.data(), four_bytes, 4);
    return a;
  }
  static IpAddress V6(const uint8_t* sixteen_bytes) {
    IpAddress a;
    a.length = 16;
    std::memcpy(a.bytes.data(), sixteen_bytes, 16);
    return a;
  }
  // From 4 or 16 raw bytes; InvalidArgument for any other length.
  static absl::StatusOr<IpAddress> FromBytes(absl::string_view raw);
  // Parses dotted IPv4 or any textual IPv6 form; InvalidArgument names the text.
  static absl::StatusOr<IpAddress> Parse(absl::string_view text);

  bool is_v4() const { return length == 4; }
  bool is_v6() const { return length == 16; }
  // Room for the longest text (INET6_ADDRSTRLEN).
  using TextBuffer = std::array<char, 46>;
  // Dotted quad or RFC 5952 IPv6 ("2001:db8::1", lowercase, longest zero run compressed), as
  // glibc's inet_ntop writes them; "-" for none. Written into `buffer` (no allocation): the view
  // lives until `buffer` is reused.
  absl::string_view Text(TextBuffer& buffer) const;
  // Text(), as a string.
  std::string ToString() const;
  // The raw 4 or 16 bytes.
  absl::string_view Raw() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes.data()), length);
  }

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const IpAddress& a) {
    return H::combine(std::move(h), a.length, a.bytes);
  }
};

}  // namespace synmap::common
