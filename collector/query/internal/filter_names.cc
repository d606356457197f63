#include "collector/query/internal/filter_names.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/naming/cidr.h"

namespace synmap::collector::internal {
namespace {

constexpr size_t kMaxChoicesListed = 20;

absl::Status Unknown(absl::string_view what, absl::string_view text,
                     const absl::btree_set<std::string>& known) {
  if (known.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown ", what, " '", text, "'; none is stored yet"));
  }
  std::vector<absl::string_view> listed;
  for (const std::string& k : known) {
    if (listed.size() == kMaxChoicesListed) {
      break;
    }
    listed.push_back(k);
  }
  std::string more;
  if (known.size() > listed.size()) {
    more = absl::StrCat(", ... (", known.size() - listed.size(), " more)");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown ", what, " '", text, "'; known: ", absl::StrJoin(listed, ", "), more));
}

absl::Status CheckSensor(absl::string_view text, const StoreSnapshot& snapshot) {
  absl::btree_set<std::string> known;
  for (const SensorState& s : snapshot.sensors) {
    if (s.name == text) {
      return absl::OkStatus();
    }
    known.insert(s.name);
  }
  return Unknown("sensor", text, known);
}

absl::Status CheckSite(absl::string_view text, const StoreSnapshot& snapshot) {
  absl::btree_set<std::string> known;
  for (const SensorState& s : snapshot.sensors) {
    if (s.site == text) {
      return absl::OkStatus();
    }
    if (!s.site.empty()) {
      known.insert(s.site);
    }
  }
  return Unknown("site", text, known);
}

// "_", an address or a network is never a typo of a name; anything else must name a host (in
// the global names or in a site's).
absl::Status CheckHost(absl::string_view text, const StoreSnapshot& snapshot,
                       const common::NameTable& names) {
  if (text == "_" || common::Cidr::Parse(text).ok()) {
    return absl::OkStatus();
  }
  absl::btree_set<std::string> known;
  const uint32_t scopes = static_cast<uint32_t>(names.site_names().size()) + 1;
  if (snapshot.ips != nullptr) {
    for (const common::IpAddress& ip : *snapshot.ips) {
      for (uint32_t scope = 0; scope < scopes; ++scope) {
        if (const std::string* name = names.HostName(ip, scope); name != nullptr) {
          if (*name == text) {
            return absl::OkStatus();
          }
          known.insert(*name);
        }
      }
    }
  }
  return Unknown("host", text, known);
}

absl::Status CheckService(absl::string_view text, const StoreSnapshot& snapshot,
                          const common::NameTable& names) {
  uint32_t port = 0;
  absl::string_view digits = text;
  absl::ConsumePrefix(&digits, "up:");
  if (absl::SimpleAtoi(digits, &port) && port <= 65535) {
    return absl::OkStatus();
  }
  absl::flat_hash_set<uint16_t> ports;
  if (snapshot.keys != nullptr) {
    for (const AggregateKey& k : *snapshot.keys) {
      ports.insert(k.port);
    }
  }
  absl::btree_set<std::string> known;
  for (const uint16_t p : ports) {
    std::string label = names.ServiceLabel(p);
    if (label == text) {
      return absl::OkStatus();
    }
    known.insert(std::move(label));
  }
  return Unknown("service", text, known);
}

}  // namespace

absl::Status CheckFilterNames(const synmap::v1::Filters& filters, const StoreSnapshot& snapshot,
                              const common::NameTable& names) {
  if (!filters.sensor().empty()) {
    if (absl::Status s = CheckSensor(filters.sensor(), snapshot); !s.ok()) {
      return s;
    }
  }
  if (!filters.site().empty()) {
    if (absl::Status s = CheckSite(filters.site(), snapshot); !s.ok()) {
      return s;
    }
  }
  for (const std::string* host : {&filters.server(), &filters.client()}) {
    if (!host->empty()) {
      if (absl::Status s = CheckHost(*host, snapshot, names); !s.ok()) {
        return s;
      }
    }
  }
  if (!filters.service().empty()) {
    return CheckService(filters.service(), snapshot, names);
  }
  return absl::OkStatus();
}

}  // namespace synmap::collector::internal
