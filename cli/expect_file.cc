#include "cli/expect_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "cli/table_format.h"

namespace synmap::cli {
namespace {

absl::Status At(absl::string_view filename, const YAML::Node& node, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(filename, ":", node.Mark().line + 1, ": ", what));
}

}  // namespace

absl::StatusOr<std::vector<ExpectedService>> ParseExpectFile(absl::string_view text,
                                                             absl::string_view filename) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(filename, ": not YAML: ", e.what()));
  }
  if (!root.IsMap() || !root["services"]) {
    return absl::InvalidArgumentError(
        absl::StrCat(filename, ": expected a map with a 'services' list"));
  }
  for (const auto& entry : root) {
    if (entry.first.Scalar() != "services") {
      return At(filename, entry.first,
                absl::StrCat("unknown key '", entry.first.Scalar(), "' (only 'services')"));
    }
  }
  const YAML::Node list = root["services"];
  std::vector<ExpectedService> out;
  if (list.IsNull()) {
    return out;
  }
  if (!list.IsSequence()) {
    return At(filename, list, "'services' must be a list");
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (const YAML::Node& item : list) {
    if (!item.IsMap()) {
      return At(filename, item, "each service is a map with 'server' and 'service'");
    }
    ExpectedService s;
    for (const auto& kv : item) {
      const std::string key = kv.first.Scalar();
      if (key == "server" && kv.second.IsScalar()) {
        s.server = kv.second.Scalar();
      } else if (key == "service" && kv.second.IsScalar()) {
        s.service = kv.second.Scalar();
      } else if (key == "clients" && (kv.second.IsSequence() || kv.second.IsNull())) {
        s.clients_listed = true;
        for (const YAML::Node& c : kv.second) {
          if (!c.IsScalar()) {
            return At(filename, c, "a client is a host label");
          }
          s.clients.insert(c.Scalar());
        }
      } else {
        return At(filename, kv.first,
                  absl::StrCat("unexpected '", key,
                               "' (a service has server, service and an optional clients list)"));
      }
    }
    if (s.server.empty() || s.service.empty()) {
      return At(filename, item, "a service needs both 'server' and 'service'");
    }
    if (!seen.emplace(s.server, s.service).second) {
      return At(filename, item,
                absl::StrCat("server '", s.server, "' service '", s.service, "' is listed twice"));
    }
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<std::vector<ExpectedService>> LoadExpectFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read '", path, "'"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseExpectFile(text.str(), path);
}

std::string RenderExpectFile(const std::vector<ExpectedService>& services,
                             const std::vector<std::string>& comment) {
  std::vector<const ExpectedService*> sorted;
  for (const ExpectedService& s : services) {
    sorted.push_back(&s);
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return std::tie(a->server, a->service) < std::tie(b->server, b->service);
  });
  std::string out;
  for (const std::string& line : comment) {
    absl::StrAppend(&out, "# ", line, "\n");
  }
  out += sorted.empty() ? "services: []\n" : "services:\n";
  for (const ExpectedService* s : sorted) {
    absl::StrAppend(&out, "  - server: ", DoubleQuoted(s->server),
                    "\n    service: ", DoubleQuoted(s->service), "\n");
    if (s->clients_listed) {
      out += "    clients: [";
      bool first = true;
      for (const std::string& c : s->clients) {
        absl::StrAppend(&out, first ? "" : ", ", DoubleQuoted(c));
        first = false;
      }
      out += "]\n";
    }
  }
  return out;
}

std::vector<CheckFinding> CheckServices(const std::vector<ExpectedService>& expected,
                                        const SeenServices& seen) {
  std::vector<CheckFinding> out;
  std::map<std::pair<std::string, std::string>, const ExpectedService*> wanted;
  for (const ExpectedService& e : expected) {
    wanted[{e.server, e.service}] = &e;
  }
  for (const auto& [key, s] : seen) {
    auto it = wanted.find(key);
    if (it == wanted.end()) {
      out.push_back({CheckFinding::kUnexpected, key.first, key.second, "", s.connections});
      continue;
    }
    if (it->second->clients_listed) {
      for (const auto& [client, connections] : s.clients) {
        if (it->second->clients.count(client) == 0) {
          out.push_back(
              {CheckFinding::kUnexpectedClient, key.first, key.second, client, connections});
        }
      }
    }
  }
  for (const auto& [key, e] : wanted) {
    if (seen.count(key) == 0) {
      out.push_back({CheckFinding::kSilent, key.first, key.second, "", 0});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const CheckFinding& a, const CheckFinding& b) {
    return std::tie(a.kind, a.server, a.service, a.client) <
           std::tie(b.kind, b.server, b.service, b.client);
  });
  return out;
}

const char* FindingKindName(CheckFinding::Kind kind) {
  switch (kind) {
    case CheckFinding::kUnexpected:
      return "unexpected";
    case CheckFinding::kSilent:
      return "silent";
    case CheckFinding::kUnexpectedClient:
      return "unexpected_client";
  }
  return "unexpected";
}

}  // namespace synmap::cli
