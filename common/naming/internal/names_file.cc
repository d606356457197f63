#include "common/naming/internal/names_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace synmap::common::internal {
namespace {

// Builds "<file>:<line>: <where>: <what>" errors; yaml-cpp lines are 0-based.
class ErrorReporter {
 public:
  explicit ErrorReporter(absl::string_view filename) : filename_(filename) {}

  absl::Status At(const YAML::Mark& mark, absl::string_view where, absl::string_view what) const {
    const std::string location =
        mark.is_null() ? std::string(filename_) : absl::StrCat(filename_, ":", mark.line + 1);
    return absl::InvalidArgumentError(where.empty()
                                          ? absl::StrCat(location, ": ", what)
                                          : absl::StrCat(location, ": ", where, ": ", what));
  }

 private:
  absl::string_view filename_;
};

const char* NodeKind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "empty";
  }
}

// Host and service names end up in whitespace-separated text output: keep them one token.
absl::Status CheckName(const ErrorReporter& errors, const YAML::Node& node,
                       absl::string_view where) {
  if (!node.IsScalar()) {
    return errors.At(node.Mark(), where,
                     absl::StrCat("a name must be a string, got ", NodeKind(node)));
  }
  const std::string& name = node.Scalar();
  const bool bad_char = std::any_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isspace(static_cast<unsigned char>(c)) ||
           absl::ascii_iscntrl(static_cast<unsigned char>(c));
  });
  if (name.empty() || bad_char) {
    return errors.At(node.Mark(), where,
                     absl::StrCat("'", name, "' is not a valid name (empty or has whitespace)"));
  }
  return absl::OkStatus();
}

// A null node (key present, nothing after it) counts as an empty list.
absl::Status ParseLocalNetworks(const ErrorReporter& errors, const YAML::Node& node,
                                NamesFile& out) {
  if (node.IsNull()) {
    return absl::OkStatus();
  }
  if (!node.IsSequence()) {
    return errors.At(node.Mark(), "local_networks",
                     absl::StrCat("expected a list of CIDRs, got ", NodeKind(node)));
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const std::string where = absl::StrCat("local_networks[", i, "]");
    if (!item.IsScalar()) {
      return errors.At(item.Mark(), where, absl::StrCat("expected a CIDR, got ", NodeKind(item)));
    }
    absl::StatusOr<Cidr> cidr = Cidr::Parse(item.Scalar());
    if (!cidr.ok()) {
      return errors.At(item.Mark(), where, cidr.status().message());
    }
    out.local_networks.push_back(*cidr);
  }
  return absl::OkStatus();
}

struct NamedAt {
  std::string name;
  int line = 0;  // 1-based.
};

absl::Status ParseHostAddresses(const ErrorReporter& errors, const std::string& name,
                                const YAML::Node& value, NamesFile& out,
                                absl::flat_hash_map<IpAddress, NamedAt>& seen) {
  // One address may be written without the list brackets.
  const bool single = value.IsScalar();
  if (!single && !value.IsSequence()) {
    return errors.At(value.Mark(), absl::StrCat("hosts.", name),
                     absl::StrCat("expected a list of IP addresses, got ", NodeKind(value)));
  }
  const size_t count = single ? 1 : value.size();
  for (size_t i = 0; i < count; ++i) {
    const YAML::Node item = single ? value : value[i];
    const std::string where =
        single ? absl::StrCat("hosts.", name) : absl::StrCat("hosts.", name, "[", i, "]");
    if (!item.IsScalar()) {
      return errors.At(item.Mark(), where,
                       absl::StrCat("expected an IP address, got ", NodeKind(item)));
    }
    absl::StatusOr<IpAddress> ip = IpAddress::Parse(item.Scalar());
    if (!ip.ok()) {
      return errors.At(item.Mark(), where,
                       absl::StrCat("'", item.Scalar(), "' is not an IP address"));
    }
    auto [it, inserted] = seen.try_emplace(*ip, NamedAt{name, item.Mark().line + 1});
    if (!inserted && it->second.name != name) {
      return errors.At(item.Mark(), where,
                       absl::StrCat(ip->ToString(), " is already named '", it->second.name,
                                    "' (line ", it->second.line, "); an IP takes one name"));
    }
    out.host_names[*ip] = name;
  }
  return absl::OkStatus();
}

absl::Status ParseHosts(const ErrorReporter& errors, const YAML::Node& node, NamesFile& out) {
  if (node.IsNull()) {
    return absl::OkStatus();
  }
  if (!node.IsMap()) {
    return errors.At(node.Mark(), "hosts",
                     absl::StrCat("expected a map of name: [IP, ...], got ", NodeKind(node)));
  }
  absl::flat_hash_map<IpAddress, NamedAt> seen_ips;
  absl::flat_hash_map<std::string, int> seen_names;
  for (const auto& entry : node) {
    SYNMAP_RETURN_IF_ERROR(CheckName(errors, entry.first, "hosts"));
    const std::string& name = entry.first.Scalar();
    if (name == "_") {
      return errors.At(entry.first.Mark(), "hosts", "'_' is reserved for remote hosts");
    }
    if (IpAddress::Parse(name).ok()) {
      // An unnamed host is shown as its address: a name that is one would merge with it.
      return errors.At(entry.first.Mark(), "hosts",
                       absl::StrCat("'", name,
                                    "' is an IP address, which is how unnamed hosts are shown; "
                                    "choose a name"));
    }
    auto [seen, inserted] = seen_names.try_emplace(name, entry.first.Mark().line + 1);
    if (!inserted) {
      return errors.At(
          entry.first.Mark(), "hosts",
          absl::StrCat("'", name, "' is listed twice (first on line ", seen->second, ")"));
    }
    SYNMAP_RETURN_IF_ERROR(ParseHostAddresses(errors, name, entry.second, out, seen_ips));
  }
  return absl::OkStatus();
}

absl::Status ParseServices(const ErrorReporter& errors, const YAML::Node& node, NamesFile& out) {
  if (node.IsNull()) {
    return absl::OkStatus();
  }
  if (!node.IsMap()) {
    return errors.At(node.Mark(), "services",
                     absl::StrCat("expected a map of port: name, got ", NodeKind(node)));
  }
  for (const auto& entry : node) {
    const YAML::Node& key = entry.first;
    const std::string key_text = key.IsScalar() ? key.Scalar() : std::string(NodeKind(key));
    uint32_t port = 0;
    const bool digits = key.IsScalar() && !key_text.empty() && key_text.size() <= 5 &&
                        std::all_of(key_text.begin(), key_text.end(),
                                    [](char c) { return absl::ascii_isdigit(c); });
    if (!digits || !absl::SimpleAtoi(key_text, &port) || port == 0 || port > 65535) {
      return errors.At(key.Mark(), "services",
                       absl::StrCat("'", key_text, "' is not a port (1-65535)"));
    }
    const std::string where = absl::StrCat("services.", port);
    SYNMAP_RETURN_IF_ERROR(CheckName(errors, entry.second, where));
    if (!out.services.try_emplace(static_cast<uint16_t>(port), entry.second.Scalar()).second) {
      return errors.At(key.Mark(), "services", absl::StrCat("port ", port, " is listed twice"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<NamesFile> ParseRoot(const ErrorReporter& errors, const YAML::Node& root) {
  NamesFile out;
  if (root.IsNull()) {
    return out;
  }
  if (!root.IsMap()) {
    return errors.At(
        root.Mark(), "",
        absl::StrCat("expected a map with local_networks, hosts, services; got ", NodeKind(root)));
  }
  absl::flat_hash_map<std::string, int> seen_keys;
  for (const auto& entry : root) {
    const YAML::Node& key = entry.first;
    const std::string name = key.IsScalar() ? key.Scalar() : std::string(NodeKind(key));
    if (name != "local_networks" && name != "hosts" && name != "services") {
      return errors.At(
          key.Mark(), "",
          absl::StrCat("unknown key '", name, "' (expected local_networks, hosts or services)"));
    }
    out.has_keys = true;
    auto [seen, inserted] = seen_keys.try_emplace(name, key.Mark().line + 1);
    if (!inserted) {
      return errors.At(
          key.Mark(), "",
          absl::StrCat("key '", name, "' appears twice (first on line ", seen->second, ")"));
    }
    if (name == "local_networks") {
      SYNMAP_RETURN_IF_ERROR(ParseLocalNetworks(errors, entry.second, out));
    } else if (name == "hosts") {
      SYNMAP_RETURN_IF_ERROR(ParseHosts(errors, entry.second, out));
    } else {
      SYNMAP_RETURN_IF_ERROR(ParseServices(errors, entry.second, out));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<NamesFile> ParseNamesFile(absl::string_view text, absl::string_view filename) {
  const ErrorReporter errors(filename);
  // yaml-cpp reports syntax errors, and a few representation errors, by throwing; this is
  // the boundary where they become a Status.
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    return ParseRoot(errors, root);
  } catch (const YAML::Exception& e) {
    return errors.At(e.mark, "", absl::StrCat("invalid YAML: ", e.msg));
  } catch (const std::exception& e) {
    return errors.At(YAML::Mark::null_mark(), "", absl::StrCat("invalid YAML: ", e.what()));
  }
}

}  // namespace synmap::common::internal
