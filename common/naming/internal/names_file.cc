#include "common/naming/internal/names_file.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <exception>
#include <istream>
#include <streambuf>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace synmap::common::internal {
namespace {

// What a YAML node is, as error messages name it.
enum class Kind { kNull, kScalar, kList, kMap };

const char* KindText(Kind kind) {
  switch (kind) {
    case Kind::kMap:
      return "a map";
    case Kind::kList:
      return "a list";
    case Kind::kScalar:
      return "a scalar";
    case Kind::kNull:
      break;
  }
  return "empty";
}

// A mistake in the file: thrown by a check and caught in the same event handler call
// (NamesFileChecker::Guard), never across the parser.
struct NamesFileError {
  absl::Status status;
};

// Checks the names file's events as yaml-cpp's parser delivers them and fills a NamesFile.
// Every node is either taken (a scalar where a value is expected, a list or map opening a
// level) or refused at once, so no part of the document is ever held.
class NamesFileChecker final : public YAML::EventHandler {
 public:
  explicit NamesFileChecker(absl::string_view filename) : filename_(filename) {}

  // The file's content, or its first mistake.
  absl::StatusOr<NamesFile> Take() && {
    if (!error_.ok()) {
      return error_;
    }
    return std::move(out_);
  }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Node(Kind::kNull, mark, ""); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    Guard([&] {
      Fail(mark, "", "aliases (*name) are not supported in a names file; write the value out");
    });
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    Node(Kind::kScalar, mark, value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Node(Kind::kList, mark, "");
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Node(Kind::kMap, mark, "");
  }
  void OnMapEnd() override { Close(); }

 private:
  // The list or map being read, and where in it.
  enum class Where { kRoot, kLocalNetworks, kHosts, kHostAddresses, kServices, kSites, kSite };
  struct Level {
    Where where = Where::kRoot;
    bool want_key = true;  // Maps: the next node is a key (else its value).
    size_t index = 0;      // Lists: the next item's index.
    std::string key;       // Maps: the key whose value comes next.
    YAML::Mark key_mark;   // And where it was.
    uint32_t host = 0;     // kHostAddresses: the host's index in out_.hosts.
    uint16_t port = 0;     // kServices: the port of the value that comes next.
  };

  [[noreturn]] void Fail(const YAML::Mark& mark, absl::string_view where,
                         absl::string_view what) const {
    // "<file>:<line>: <where>: <what>"; yaml-cpp lines are 0-based.
    const std::string location =
        mark.is_null() ? std::string(filename_) : absl::StrCat(filename_, ":", mark.line + 1);
    throw NamesFileError{absl::InvalidArgumentError(
        where.empty() ? absl::StrCat(location, ": ", what)
                      : absl::StrCat(location, ": ", where, ": ", what))};
  }

  // Host and service names end up in whitespace-separated text output: keep them one token.
  void CheckName(Kind kind, const YAML::Mark& mark, const std::string& name,
                 absl::string_view where) const {
    if (kind != Kind::kScalar) {
      Fail(mark, where, absl::StrCat("a name must be a string, got ", KindText(kind)));
    }
    const bool bad_char = std::any_of(name.begin(), name.end(), [](char c) {
      return absl::ascii_isspace(static_cast<unsigned char>(c)) ||
             absl::ascii_iscntrl(static_cast<unsigned char>(c));
    });
    if (name.empty() || bad_char) {
      Fail(mark, where, absl::StrCat("'", name, "' is not a valid name (empty or has whitespace)"));
    }
  }

  // Opens a level for a list or map node (`host`: the host whose addresses a kHostAddresses
  // list holds).
  void Open(Where where, uint32_t host = 0) {
    Level level;
    level.where = where;
    level.host = host;
    levels_.push_back(std::move(level));
  }

  // Runs `check` unless a mistake was found already; the first mistake is kept and every later
  // event ignored, while the parser reads on (a syntax error further on is reported instead,
  // as it would be by a parser that reads the whole document first).
  template <typename F>
  void Guard(F check) {
    if (!error_.ok()) {
      return;
    }
    try {
      check();
    } catch (const NamesFileError& e) {
      error_ = e.status;
    }
  }

  void Close() {
    if (error_.ok()) {
      if (levels_.back().where == Where::kSite) {
        site_ = nullptr;
        prefix_.clear();
      }
      levels_.pop_back();
    }
  }

  // The lists the current place fills: the open site's, else the global ones.
  std::vector<Cidr>& Networks() { return site_ ? site_->local_networks : out_.local_networks; }
  absl::flat_hash_map<IpAddress, NamedIp>& HostOf() {
    return site_ ? site_->host_of : out_.host_of;
  }

  void Node(Kind kind, const YAML::Mark& mark, const std::string& value) {
    Guard([&] { Check(kind, mark, value); });
  }

  void Check(Kind kind, const YAML::Mark& mark, const std::string& value) {
    if (levels_.empty()) {
      Root(kind, mark);
      return;
    }
    Level& level = levels_.back();
    switch (level.where) {
      case Where::kRoot:
        level.want_key ? RootKey(level, kind, mark, value) : ListValue(level, kind, mark);
        return;
      case Where::kSites:
        level.want_key ? SiteName(level, kind, mark, value) : SiteValue(level, kind, mark);
        return;
      case Where::kSite:
        level.want_key ? SiteKey(level, kind, mark, value) : ListValue(level, kind, mark);
        return;
      case Where::kLocalNetworks:
        LocalNetwork(level, kind, mark, value);
        return;
      case Where::kHosts:
        level.want_key ? HostName(level, kind, mark, value) : HostValue(level, kind, mark, value);
        return;
      case Where::kHostAddresses:
        HostAddress(level.host, static_cast<int64_t>(level.index++), kind, mark, value);
        return;
      case Where::kServices:
        level.want_key ? ServicePort(level, kind, mark, value)
                       : ServiceName(level, kind, mark, value);
        return;
    }
  }

  void Root(Kind kind, const YAML::Mark& mark) {
    if (kind == Kind::kNull) {
      return;  // An empty document: an empty file.
    }
    if (kind != Kind::kMap) {
      Fail(mark, "",
           absl::StrCat("expected a map with local_networks, hosts, services, sites; got ",
                        KindText(kind)));
    }
    Open(Where::kRoot);
  }

  void RootKey(Level& level, Kind kind, const YAML::Mark& mark, const std::string& value) {
    const std::string name = kind == Kind::kScalar ? value : std::string(KindText(kind));
    if (name != "local_networks" && name != "hosts" && name != "services" && name != "sites") {
      Fail(mark, "",
           absl::StrCat("unknown key '", name,
                        "' (expected local_networks, hosts, services or sites)"));
    }
    out_.has_keys = true;
    auto [seen, inserted] = root_keys_.try_emplace(name, mark.line + 1);
    if (!inserted) {
      Fail(mark, "",
           absl::StrCat("key '", name, "' appears twice (first on line ", seen->second, ")"));
    }
    level.key = name;
    level.want_key = false;
  }

  // The value of a top-level or site key. A null value (key present, nothing after it) counts
  // as empty (a site's `local_networks:` with nothing still replaces the global list).
  void ListValue(Level& level, Kind kind, const YAML::Mark& mark) {
    level.want_key = true;
    if (level.key == "local_networks" && site_ != nullptr) {
      site_->has_local_networks = true;
    }
    if (kind == Kind::kNull) {
      return;
    }
    if (level.key == "local_networks") {
      if (kind != Kind::kList) {
        Fail(mark, absl::StrCat(prefix_, "local_networks"),
             absl::StrCat("expected a list of CIDRs, got ", KindText(kind)));
      }
      Open(Where::kLocalNetworks);
    } else if (level.key == "hosts") {
      if (kind != Kind::kMap) {
        Fail(mark, absl::StrCat(prefix_, "hosts"),
             absl::StrCat("expected a map of name: [IP, ...], got ", KindText(kind)));
      }
      host_index_.clear();  // A host name is listed once per list: globally, or in one site.
      Open(Where::kHosts);
    } else if (level.key == "sites") {
      if (kind != Kind::kMap) {
        Fail(mark, "sites",
             absl::StrCat("expected a map of site: {local_networks, hosts}, got ", KindText(kind)));
      }
      Open(Where::kSites);
    } else {
      if (kind != Kind::kMap) {
        Fail(mark, "services", absl::StrCat("expected a map of port: name, got ", KindText(kind)));
      }
      Open(Where::kServices);
    }
  }

  void SiteName(Level& level, Kind kind, const YAML::Mark& mark, const std::string& name) {
    CheckName(kind, mark, name, "sites");
    auto [seen, inserted] = site_lines_.try_emplace(name, mark.line + 1);
    if (!inserted) {
      Fail(mark, "sites",
           absl::StrCat("site '", name, "' is listed twice (first on line ", seen->second, ")"));
    }
    out_.sites.emplace_back().name = name;
    level.want_key = false;
  }

  // A site's map; a null value is a site with nothing of its own.
  void SiteValue(Level& level, Kind kind, const YAML::Mark& mark) {
    level.want_key = true;
    if (kind == Kind::kNull) {
      return;
    }
    const std::string& name = out_.sites.back().name;
    if (kind != Kind::kMap) {
      Fail(mark, absl::StrCat("sites.", name),
           absl::StrCat("expected a map with local_networks, hosts; got ", KindText(kind)));
    }
    Open(Where::kSite);
    site_ = &out_.sites.back();
    prefix_ = absl::StrCat("sites.", name, ".");
    site_keys_.clear();
  }

  void SiteKey(Level& level, Kind kind, const YAML::Mark& mark, const std::string& value) {
    const std::string name = kind == Kind::kScalar ? value : std::string(KindText(kind));
    const std::string where = absl::StrCat("sites.", site_->name);
    if (name != "local_networks" && name != "hosts") {
      Fail(mark, where,
           absl::StrCat("unknown key '", name,
                        "' (a site has local_networks and hosts; services are global)"));
    }
    auto [seen, inserted] = site_keys_.try_emplace(name, mark.line + 1);
    if (!inserted) {
      Fail(mark, where,
           absl::StrCat("key '", name, "' appears twice (first on line ", seen->second, ")"));
    }
    level.key = name;
    level.want_key = false;
  }

  void LocalNetwork(Level& level, Kind kind, const YAML::Mark& mark, const std::string& value) {
    const std::string where = absl::StrCat(prefix_, "local_networks[", level.index++, "]");
    if (kind != Kind::kScalar) {
      Fail(mark, where, absl::StrCat("expected a CIDR, got ", KindText(kind)));
    }
    absl::StatusOr<Cidr> cidr = Cidr::Parse(value);
    if (!cidr.ok()) {
      Fail(mark, where, cidr.status().message());
    }
    Networks().push_back(*cidr);
  }

  void HostName(Level& level, Kind kind, const YAML::Mark& mark, const std::string& name) {
    const std::string where = absl::StrCat(prefix_, "hosts");
    CheckName(kind, mark, name, where);
    if (name == "_") {
      Fail(mark, where, "'_' is reserved for remote hosts");
    }
    if (IpAddress::Parse(name).ok()) {
      // An unnamed host is shown as its address: a name that is one would merge with it.
      Fail(mark, where,
           absl::StrCat("'", name,
                        "' is an IP address, which is how unnamed hosts are shown; choose a name"));
    }
    if (auto seen = host_index_.find(absl::string_view(name)); seen != host_index_.end()) {
      Fail(mark, where,
           absl::StrCat("'", name, "' is listed twice (first on line ", host_lines_[*seen], ")"));
    }
    out_.hosts.push_back(name);
    host_lines_.push_back(mark.line + 1);
    host_index_.insert(static_cast<uint32_t>(out_.hosts.size() - 1));
    level.key_mark = mark;
    level.want_key = false;
  }

  // One address may be written without the list brackets.
  void HostValue(Level& level, Kind kind, const YAML::Mark& mark, const std::string& value) {
    level.want_key = true;
    const uint32_t host = static_cast<uint32_t>(out_.hosts.size() - 1);
    if (kind == Kind::kScalar) {
      HostAddress(host, /*index=*/-1, kind, mark, value);
      return;
    }
    if (kind != Kind::kList) {
      Fail(mark, absl::StrCat(prefix_, "hosts.", out_.hosts[host]),
           absl::StrCat("expected a list of IP addresses, got ", KindText(kind)));
    }
    Open(Where::kHostAddresses, host);
  }

  // Address number `index` of `host`'s list, or its only address written bare (index -1).
  void HostAddress(uint32_t host, int64_t index, Kind kind, const YAML::Mark& mark,
                   const std::string& value) {
    // Named only for an error: this runs once per address of the file.
    auto where = [&] {
      return index < 0 ? absl::StrCat(prefix_, "hosts.", out_.hosts[host])
                       : absl::StrCat(prefix_, "hosts.", out_.hosts[host], "[", index, "]");
    };
    if (kind != Kind::kScalar) {
      Fail(mark, where(), absl::StrCat("expected an IP address, got ", KindText(kind)));
    }
    absl::StatusOr<IpAddress> ip = IpAddress::Parse(value);
    if (!ip.ok()) {
      Fail(mark, where(), absl::StrCat("'", value, "' is not an IP address"));
    }
    auto [it, inserted] = HostOf().try_emplace(*ip, NamedIp{.host = host, .line = mark.line + 1});
    if (!inserted && it->second.host != host) {
      Fail(mark, where(),
           absl::StrCat(ip->ToString(), " is already named '", out_.hosts[it->second.host],
                        "' (line ", it->second.line, "); an IP takes one name"));
    }
  }

  void ServicePort(Level& level, Kind kind, const YAML::Mark& mark, const std::string& value) {
    const std::string key_text = kind == Kind::kScalar ? value : std::string(KindText(kind));
    uint32_t port = 0;
    const bool digits = kind == Kind::kScalar && !key_text.empty() && key_text.size() <= 5 &&
                        std::all_of(key_text.begin(), key_text.end(),
                                    [](char c) { return absl::ascii_isdigit(c); });
    if (!digits || !absl::SimpleAtoi(key_text, &port) || port == 0 || port > 65535) {
      Fail(mark, "services", absl::StrCat("'", key_text, "' is not a port (1-65535)"));
    }
    level.port = static_cast<uint16_t>(port);
    level.key_mark = mark;
    level.want_key = false;
  }

  void ServiceName(Level& level, Kind kind, const YAML::Mark& mark, const std::string& name) {
    level.want_key = true;
    CheckName(kind, mark, name, absl::StrCat("services.", level.port));
    if (!out_.services.try_emplace(level.port, name).second) {
      Fail(level.key_mark, "services", absl::StrCat("port ", level.port, " is listed twice"));
    }
  }

  absl::string_view filename_;
  absl::Status error_;  // The first mistake.
  NamesFile out_;
  std::vector<Level> levels_;
  absl::flat_hash_map<std::string, int> root_keys_;   // Key -> line.
  absl::flat_hash_map<std::string, int> site_lines_;  // Site name -> line.
  absl::flat_hash_map<std::string, int> site_keys_;   // The open site's keys -> line.
  SiteNames* site_ = nullptr;                         // The site being read, or none.
  std::string prefix_;                                // "sites.NAME." inside a site, else empty.
  // Host names seen, as indexes into out_.hosts looked up by the name (4 bytes a host).
  struct HostNameHash {
    using is_transparent = void;
    const std::vector<std::string>* hosts;
    size_t operator()(uint32_t i) const { return (*this)(absl::string_view((*hosts)[i])); }
    size_t operator()(absl::string_view name) const { return absl::HashOf(name); }
  };
  struct HostNameEq {
    using is_transparent = void;
    const std::vector<std::string>* hosts;
    absl::string_view Name(uint32_t i) const { return (*hosts)[i]; }
    absl::string_view Name(absl::string_view name) const { return name; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return Name(a) == Name(b);
    }
  };
  absl::flat_hash_set<uint32_t, HostNameHash, HostNameEq> host_index_{0, HostNameHash{&out_.hosts},
                                                                      HostNameEq{&out_.hosts}};
  std::vector<int> host_lines_;  // The line of each host name.
};

// An input stream buffer over text held elsewhere.
class TextBuffer final : public std::streambuf {
 public:
  explicit TextBuffer(absl::string_view text) {
    char* begin = const_cast<char*>(text.data());  // Only read: std::streambuf wants char*.
    setg(begin, begin, begin + text.size());
  }
};

}  // namespace

absl::StatusOr<NamesFile> ParseNamesFile(absl::string_view text, absl::string_view filename) {
  NamesFileChecker checker(filename);
  // yaml-cpp reports syntax errors by throwing; this is the boundary where they become a
  // Status.
  try {
    TextBuffer buffer(text);  // Read in place: no copy of a file that may be megabytes.
    std::istream stream(&buffer);
    YAML::Parser parser(stream);
    parser.HandleNextDocument(checker);  // Only the first document, as YAML::Load reads.
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        e.mark.is_null() ? std::string(filename) : absl::StrCat(filename, ":", e.mark.line + 1),
        ": invalid YAML: ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(filename, ": invalid YAML: ", e.what()));
  }
  return std::move(checker).Take();
}

}  // namespace synmap::common::internal
