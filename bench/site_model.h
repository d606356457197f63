#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/frame_builder.h"
#include "bench/rng.h"
#include "common/packet/ip_address.h"

namespace synmap::bench {

// An address prefix such as 198.51.100.0/24 or 2001:db8:10::/48. Plain data.
struct Cidr {
  common::IpAddress prefix;  // Host bits are zero.
  int bits = 0;

  // Parses "ADDRESS/BITS"; InvalidArgument names the text.
  static absl::StatusOr<Cidr> Parse(absl::string_view text);
  bool Contains(const common::IpAddress& address) const;
  std::string ToString() const;
  // The address at `offset` inside the prefix (offset added to the low 32 bits).
  common::IpAddress At(uint32_t offset) const;
};

// Text form of an address (dotted quad, RFC 5952 IPv6), by inet_ntop.
std::string FormatIp(const common::IpAddress& address);

// Describes the modelled site. Plain data.
struct SiteOptions {
  uint64_t site_seed = 1;   // Seeds host names, roles, VLANs and site-specific ports.
  int internal_hosts = 40;  // Hosts in the local networks, 4..1000.
  // Hosts outside, 1..4,000,000: IPv4 in 203.0.113.0/24 up to 254 of them, else in
  // 100.64.0.0/10; IPv6 in 2001:db8:ff00::/40.
  int remote_hosts = 200;
  // Popularity of remote hosts (as clients and as servers): Zipf weights 1 / rank^exponent,
  // 0..4; lower spreads connections over more of them.
  double remote_exponent = 1.0;
  // Local networks; at least one IPv4 prefix (/8../28), IPv6 prefixes /16../96.
  std::vector<std::string> local_networks = {"198.51.100.0/24", "2001:db8:10::/48"};

  [[nodiscard]] absl::Status Validate() const;
};

// One internal host: its addresses, name ("" = unnamed), segment and the services it offers.
struct Host {
  common::IpAddress v4;
  common::IpAddress v6;  // Length 0 when the site has no IPv6 network.
  std::string name;
  MacAddress mac{};
  uint16_t vlan = 0;            // 802.1Q id of its segment (used when a frame is tagged).
  std::vector<uint16_t> ports;  // Services offered, most popular first; empty = client only.
  bool public_server = false;   // Reachable from outside (inbound connections).
};

// The modelled site: internal hosts in the local networks (some offering services, named as
// in a names file), remote hosts in documentation ranges (203.0.113.0/24, 2001:db8:ff00::/40;
// 100.64.0.0/10 for more than 254 of them),
// and Zipf-like popularity of ports, servers and clients. Immutable once built.
class SiteModel {
 public:
  // InvalidArgument for bad options (bad or overlapping prefixes, counts out of range).
  static absl::StatusOr<SiteModel> Build(const SiteOptions& options);

  const std::vector<Host>& hosts() const { return hosts_; }
  const std::vector<Cidr>& local_networks() const { return local_networks_; }
  bool has_ipv6() const { return !hosts_.empty() && hosts_[0].v6.length == 16; }
  // Services whose names the names file overrides (port, name).
  const std::vector<std::pair<uint16_t, std::string>>& service_names() const {
    return service_names_;
  }

  const Host& PickInternalClient(Rng& rng) const;
  // A host offering services (any if `public_only` is false); nullptr if there is none.
  const Host* PickServer(Rng& rng, bool public_only) const;
  uint16_t PickServicePort(const Host& server, Rng& rng) const;
  // A port of an outside service, by global popularity.
  uint16_t PickOutboundPort(Rng& rng) const;
  // Index of a remote client, or of a remote server of `port` (popular ones differ by port).
  size_t PickRemoteClient(Rng& rng) const;
  size_t PickRemoteServer(uint16_t port, Rng& rng) const;
  common::IpAddress RemoteAddress(size_t index, bool v6) const;
  // The default router: its IPv4 address (first host of the first IPv4 network) and MAC,
  // which is also the MAC of every remote address.
  const common::IpAddress& router_v4() const { return router_v4_; }
  const MacAddress& router_mac() const { return router_mac_; }

  // Writes the names file (YAML: local_networks, hosts, services) for this site.
  // NotFound/PermissionDenied (from errno) when the file cannot be written.
  [[nodiscard]] absl::Status WriteNamesFile(const std::string& path) const;

 private:
  SiteModel() = default;
  // Sets ports_ and service_names_; returns the site-specific high ports.
  std::vector<uint16_t> ChoosePorts(Rng& rng);
  // Names hosts and gives servers their services.
  void AssignRoles(Rng& rng);
  void BuildChoices();

  std::vector<Cidr> local_networks_;
  std::vector<Host> hosts_;
  std::vector<size_t> servers_;         // Indexes into hosts_.
  std::vector<size_t> public_servers_;  // Indexes into hosts_.
  std::vector<uint16_t> ports_;         // By popularity.
  std::vector<std::pair<uint16_t, std::string>> service_names_;
  size_t remote_hosts_ = 0;
  double remote_exponent_ = 1.0;
  WeightedChoice client_choice_{{1.0}};
  WeightedChoice server_choice_{{1.0}};
  WeightedChoice public_server_choice_{{1.0}};
  WeightedChoice port_choice_{{1.0}};
  WeightedChoice remote_choice_{{1.0}};
  WeightedChoice service_choice_{{1.0}};
  common::IpAddress router_v4_;
  MacAddress router_mac_{0x02, 0, 0, 0, 0xff, 0xfe};
};

}  // namespace synmap::bench
