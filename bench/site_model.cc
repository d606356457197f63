#include "bench/site_model.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"

namespace synmap::bench {
namespace {

// Client names in the spirit of the 2007 recipe's sample output.
constexpr const char* kNames[] = {
    "mickey",  "minnie",  "pluto", "goofy",  "donald",   "daisy", "dumbo", "bambi",
    "thumper", "simba",   "nala",  "timon",  "pumbaa",   "ariel", "belle", "mulan",
    "aladdin", "jasmine", "genie", "stitch", "elsa",     "anna",  "olaf",  "moana",
    "tarzan",  "wendy",   "tink",  "baloo",  "bagheera", "chip",  "dale",  "scrooge"};

// Well-known services, most popular first; site-specific high ports are appended.
constexpr uint16_t kWellKnownPorts[] = {443, 80,  22,   53,   25,   8443, 993, 3306,
                                        587, 873, 3389, 5432, 8080, 143,  445, 110,
                                        389, 636, 465,  5222, 1883, 6443};

// Named server roles: name, ports offered, reachable from outside.
struct Role {
  const char* name;
  std::vector<uint16_t> ports;
  bool is_public;
};

// Remote hosts live in 203.0.113.0/24 and 2001:db8:ff00::/40; a site with more than
// kSmallRemoteHosts of them takes its IPv4 ones from 100.64.0.0/10 instead.
constexpr int kSmallRemoteHosts = 254;
constexpr int kMaxRemoteHosts = 4'000'000;

Cidr RemoteV4() {
  Cidr cidr;
  cidr.prefix.length = 4;
  cidr.prefix.bytes = {203, 0, 113};
  cidr.bits = 24;
  return cidr;
}
Cidr LargeRemoteV4() {
  Cidr cidr;
  cidr.prefix.length = 4;
  cidr.prefix.bytes = {100, 64};
  cidr.bits = 10;
  return cidr;
}
Cidr RemoteV6() {
  Cidr cidr;
  cidr.prefix.length = 16;
  cidr.prefix.bytes = {0x20, 0x01, 0x0d, 0xb8, 0xff};
  cidr.bits = 40;
  return cidr;
}

// 0..n-1 in a random order (Fisher-Yates).
std::vector<size_t> Shuffled(size_t n, Rng& rng) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) {
    order[i] = i;
  }
  for (size_t i = n; i > 1; --i) {
    std::swap(order[i - 1], order[rng.Below(i)]);
  }
  return order;
}

bool Overlap(const Cidr& a, const Cidr& b) {
  return a.prefix.length == b.prefix.length && (a.Contains(b.prefix) || b.Contains(a.prefix));
}

}  // namespace

absl::StatusOr<Cidr> Cidr::Parse(absl::string_view text) {
  const size_t slash = text.find('/');
  int bits = 0;
  if (slash == absl::string_view::npos || !absl::SimpleAtoi(text.substr(slash + 1), &bits)) {
    return absl::InvalidArgumentError(absl::StrCat("not a prefix (ADDRESS/BITS): '", text, "'"));
  }
  absl::StatusOr<common::IpAddress> address = common::IpAddress::Parse(text.substr(0, slash));
  if (!address.ok() || bits < 0 || bits > address->length * 8) {
    return absl::InvalidArgumentError(absl::StrCat("not a prefix (ADDRESS/BITS): '", text, "'"));
  }
  Cidr cidr;
  cidr.prefix = *address;
  cidr.bits = bits;
  for (int i = bits; i < cidr.prefix.length * 8; ++i) {
    cidr.prefix.bytes[i / 8] &= static_cast<uint8_t>(~(0x80 >> (i % 8)));
  }
  return cidr;
}

bool Cidr::Contains(const common::IpAddress& address) const {
  if (address.length != prefix.length) {
    return false;
  }
  for (int i = 0; i < bits; ++i) {
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (i % 8));
    if ((address.bytes[i / 8] & mask) != (prefix.bytes[i / 8] & mask)) {
      return false;
    }
  }
  return true;
}

std::string Cidr::ToString() const { return absl::StrCat(FormatIp(prefix), "/", bits); }

common::IpAddress Cidr::At(uint32_t offset) const {
  common::IpAddress a = prefix;
  const int last = a.length - 1;
  uint64_t carry = offset;
  for (int i = last; i >= last - 3 && carry != 0; --i) {
    carry += a.bytes[i];
    a.bytes[i] = static_cast<uint8_t>(carry);
    carry >>= 8;
  }
  return a;
}

std::string FormatIp(const common::IpAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(address.is_v4() ? AF_INET : AF_INET6, address.bytes.data(), text, sizeof(text));
  return text;
}

absl::Status SiteOptions::Validate() const {
  if (internal_hosts < 10 || internal_hosts > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("internal hosts must be in 10..1000, got ", internal_hosts));
  }
  if (remote_hosts < 1 || remote_hosts > kMaxRemoteHosts) {
    return absl::InvalidArgumentError(
        absl::StrCat("remote hosts must be in 1..", kMaxRemoteHosts, ", got ", remote_hosts));
  }
  if (!(remote_exponent >= 0.0 && remote_exponent <= 4.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("remote exponent must be in 0..4, got ", remote_exponent));
  }
  return absl::OkStatus();
}

absl::StatusOr<SiteModel> SiteModel::Build(const SiteOptions& options) {
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  SiteModel model;
  std::vector<Cidr> v4;
  std::vector<Cidr> v6;
  for (const std::string& text : options.local_networks) {
    SYNMAP_ASSIGN_OR_RETURN(Cidr cidr, Cidr::Parse(text));
    const Cidr remote_v4 = options.remote_hosts > kSmallRemoteHosts ? LargeRemoteV4() : RemoteV4();
    if (Overlap(cidr, remote_v4) || Overlap(cidr, RemoteV6())) {
      return absl::InvalidArgumentError(absl::StrCat("local network ", text,
                                                     " overlaps the remote ranges ",
                                                     remote_v4.ToString(), ", 2001:db8:ff00::/40"));
    }
    (cidr.prefix.is_v4() ? v4 : v6).push_back(cidr);
    model.local_networks_.push_back(cidr);
  }
  if (v4.empty()) {
    return absl::InvalidArgumentError("local networks need at least one IPv4 prefix");
  }
  const uint32_t per_v4 = static_cast<uint32_t>(options.internal_hosts) / v4.size() + 1;
  for (const Cidr& cidr : v4) {
    if (cidr.bits > 28 || (uint64_t{1} << (32 - cidr.bits)) < per_v4 + 12) {
      return absl::InvalidArgumentError(
          absl::StrCat("local network ", cidr.ToString(), " is too small for its hosts"));
    }
  }
  for (const Cidr& cidr : v6) {
    if (cidr.bits < 16 || cidr.bits > 96) {
      return absl::InvalidArgumentError(
          absl::StrCat("IPv6 local network ", cidr.ToString(), " must be /16../96"));
    }
  }
  model.router_v4_ = v4[0].At(1);
  for (int i = 0; i < options.internal_hosts; ++i) {
    Host host;
    const uint32_t n = static_cast<uint32_t>(i);
    host.v4 = v4[n % v4.size()].At(10 + n / static_cast<uint32_t>(v4.size()));
    if (!v6.empty()) {
      host.v6 = v6[n % v6.size()].At(0x100 + n / static_cast<uint32_t>(v6.size()));
    }
    host.mac = {0x02, 0, 0, 0, static_cast<uint8_t>((n + 1) >> 8), static_cast<uint8_t>(n + 1)};
    host.vlan = static_cast<uint16_t>(10 + n % 4);
    model.hosts_.push_back(std::move(host));
  }
  model.remote_hosts_ = static_cast<size_t>(options.remote_hosts);
  model.remote_exponent_ = options.remote_exponent;
  Rng rng(options.site_seed ^ 0x5173e5eedULL);
  model.AssignRoles(rng);
  model.BuildChoices();
  return model;
}

std::vector<uint16_t> SiteModel::ChoosePorts(Rng& rng) {
  ports_.assign(std::begin(kWellKnownPorts), std::end(kWellKnownPorts));
  std::vector<uint16_t> high_ports;
  for (int i = 0; i < 4; ++i) {
    high_ports.push_back(static_cast<uint16_t>(rng.Between(10000, 60999)));
    ports_.push_back(high_ports.back());
  }
  service_names_ = {{873, "rsync"}, {8443, "https-alt"}, {high_ports[0], "telemetry"}};
  return high_ports;
}

void SiteModel::AssignRoles(Rng& rng) {
  const std::vector<uint16_t> high_ports = ChoosePorts(rng);
  const std::vector<Role> roles = {{"www", {443, 80}, true},
                                   {"www", {443, 80}, true},
                                   {"mail", {25, 587, 993}, true},
                                   {"ns", {53}, true},
                                   {"vpn", {8443, 22}, true},
                                   {"git", {22, 443}, true},
                                   {"db", {3306, 5432}, false},
                                   {"files", {873, 22, 445}, false},
                                   {"metrics", {high_ports[0], 443}, false}};
  // Hosts take roles in a site-specific order, so sites differ in who serves what.
  const std::vector<size_t> order = Shuffled(hosts_.size(), rng);
  const WeightedChoice extra_ports = WeightedChoice::Zipf(ports_.size(), 0.8);
  const size_t first_name = rng.Below(std::size(kNames));
  size_t named = 0;
  for (size_t rank = 0; rank < order.size(); ++rank) {
    Host& host = hosts_[order[rank]];
    if (rank < roles.size()) {
      host.name = roles[rank].name;
      host.ports = roles[rank].ports;
      host.public_server = roles[rank].is_public;
    } else {
      const size_t k = (first_name + named) % std::size(kNames);
      const size_t round = named++ / std::size(kNames);
      host.name = round == 0 ? kNames[k] : absl::StrCat(kNames[k], round + 1);
      if (rng.Chance(0.15)) {
        host.name.clear();  // Unnamed: shows as its address.
      }
      if (rng.Chance(0.12)) {  // A workstation running a service or two ("pluto ssh").
        host.ports.push_back(ports_[extra_ports.Pick(rng)]);
        if (rng.Chance(0.4)) {
          host.ports.push_back(high_ports[1 + rng.Below(3)]);
        }
      }
    }
    if (!host.ports.empty()) {
      servers_.push_back(order[rank]);
      host.vlan = 20;
      if (host.public_server) {
        public_servers_.push_back(order[rank]);
      }
    }
  }
}

void SiteModel::BuildChoices() {
  client_choice_ = WeightedChoice::Zipf(hosts_.size(), 0.9);
  server_choice_ = WeightedChoice::Zipf(servers_.size(), 1.0);
  public_server_choice_ = WeightedChoice::Zipf(public_servers_.size(), 0.8);
  port_choice_ = WeightedChoice::Zipf(ports_.size(), 1.1);
  remote_choice_ = WeightedChoice::Zipf(remote_hosts_, remote_exponent_);
  service_choice_ = WeightedChoice::Zipf(4, 1.5);
}

const Host& SiteModel::PickInternalClient(Rng& rng) const {
  return hosts_[client_choice_.Pick(rng)];
}

const Host* SiteModel::PickServer(Rng& rng, bool public_only) const {
  if (public_only) {
    return public_servers_.empty() ? nullptr
                                   : &hosts_[public_servers_[public_server_choice_.Pick(rng)]];
  }
  return servers_.empty() ? nullptr : &hosts_[servers_[server_choice_.Pick(rng)]];
}

uint16_t SiteModel::PickServicePort(const Host& server, Rng& rng) const {
  const size_t i = service_choice_.Pick(rng) % server.ports.size();
  return server.ports[i];
}

uint16_t SiteModel::PickOutboundPort(Rng& rng) const { return ports_[port_choice_.Pick(rng)]; }

size_t SiteModel::PickRemoteClient(Rng& rng) const { return remote_choice_.Pick(rng); }

size_t SiteModel::PickRemoteServer(uint16_t port, Rng& rng) const {
  return (remote_choice_.Pick(rng) + size_t{port} * 7919) % remote_hosts_;
}

common::IpAddress SiteModel::RemoteAddress(size_t index, bool v6) const {
  if (!v6) {
    return (remote_hosts_ > kSmallRemoteHosts ? LargeRemoteV4() : RemoteV4())
        .At(static_cast<uint32_t>(1 + index));
  }
  common::IpAddress a = RemoteV6().prefix;
  a.bytes[5] = static_cast<uint8_t>((index + 1) >> 16);
  a.bytes[6] = static_cast<uint8_t>((index + 1) >> 8);
  a.bytes[7] = static_cast<uint8_t>(index + 1);
  a.bytes[15] = 1;
  return a;
}

absl::Status SiteModel::WriteNamesFile(const std::string& path) const {
  std::vector<std::pair<std::string, std::vector<std::string>>> named;
  for (const Host& host : hosts_) {
    if (host.name.empty()) {
      continue;
    }
    auto it = std::find_if(named.begin(), named.end(),
                           [&](const auto& entry) { return entry.first == host.name; });
    if (it == named.end()) {
      named.emplace_back(host.name, std::vector<std::string>{});
      it = named.end() - 1;
    }
    it->second.push_back(absl::StrCat("\"", FormatIp(host.v4), "\""));
    if (host.v6.length == 16) {
      it->second.push_back(absl::StrCat("\"", FormatIp(host.v6), "\""));
    }
  }
  std::string text = "# Site model written by synmap-gen-capture.\nlocal_networks: [";
  for (size_t i = 0; i < local_networks_.size(); ++i) {
    absl::StrAppend(&text, i == 0 ? "" : ", ", "\"", local_networks_[i].ToString(), "\"");
  }
  absl::StrAppend(&text, "]\nhosts:\n");
  for (const auto& [name, ips] : named) {
    absl::StrAppend(&text, "  ", name, ": [", absl::StrJoin(ips, ", "), "]\n");
  }
  absl::StrAppend(&text, "services:\n");
  for (const auto& [port, name] : service_names_) {
    absl::StrAppend(&text, "  ", port, ": ", name, "\n");
  }
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "w"), &std::fclose);
  if (file == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open names file ", path));
  }
  if (std::fwrite(text.data(), 1, text.size(), file.get()) != text.size() ||
      std::fclose(file.release()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("write names file ", path));
  }
  return absl::OkStatus();
}

}  // namespace synmap::bench
