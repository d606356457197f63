#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/packet/ip_address.h"

namespace synmap::common {

// An IPv4 or IPv6 network: `network` has every bit past `prefix_length` zero. Plain data.
struct Cidr {
  IpAddress network;
  int prefix_length = 0;  // 0..32 for IPv4, 0..128 for IPv6.

  // Parses "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128 host route).
  // InvalidArgument naming the text and the reason: not an address, prefix not a number,
  // prefix too long ("prefix length 33 > 32"), or host bits set (the message names the
  // network that was probably meant).
  static absl::StatusOr<Cidr> Parse(absl::string_view text);

  bool Contains(const IpAddress& ip) const;
  // "10.0.0.0/8"; IPv6 in RFC 5952 form.
  std::string ToString() const;

  friend bool operator==(const Cidr&, const Cidr&) = default;
};

// `ip` with every bit past `prefix_length` cleared (prefix_length clamped to the address size).
IpAddress MaskAddress(const IpAddress& ip, int prefix_length);

// A set of networks answering longest-prefix-match queries with one hash lookup per distinct
// prefix length present (typically a handful). Thread-compatible; immutable use is
// thread-safe.
class PrefixSet {
 public:
  // Adds `cidr`; adding a network twice is harmless.
  void Insert(const Cidr& cidr);
  // The most specific network holding `ip`, or nullopt.
  std::optional<Cidr> LongestMatch(const IpAddress& ip) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }

 private:
  struct Level {
    int prefix_length = 0;
    absl::flat_hash_set<IpAddress> networks;
  };
  // One level per prefix length present, longest first.
  static void InsertInto(std::vector<Level>& levels, const Cidr& cidr);

  std::vector<Level> v4_;
  std::vector<Level> v6_;
};

}  // namespace synmap::common
