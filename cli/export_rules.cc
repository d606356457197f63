#include "cli/export_rules.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/coverage_format.h"
#include "cli/table_format.h"
#include "cli/time_text.h"

namespace synmap::cli {
namespace {

namespace v1 = ::synmap::v1;

bool IsV6(const v1::ExportRow& r) { return r.server_ip().find(':') != std::string::npos; }

// A comment safe inside double quotes for nft and iptables-restore.
std::string RuleComment(const v1::ExportRow& r) {
  std::string s = absl::StrCat(r.server(), " ", r.service(), ": ", r.connections(),
                               " connections from ", r.clients(), " clients");
  for (char& ch : s) {
    if (ch == '"' || ch == '\\' || ch == '\n' || ch == '\'') {
      ch = '_';
    }
  }
  std::string quoted;
  AppendJsonString(s, &quoted);
  return quoted;
}

std::string Window(const v1::Coverage& c) {
  auto end = [](int64_t ns, const char* open) {
    return ns == 0 ? std::string(open) : FormatMachineTime(ns);
  };
  return absl::StrCat(end(c.requested().since_unix_ns(), "the oldest data"), " to ",
                      end(c.requested().until_unix_ns(), "now"));
}

void AppendNftSet(const v1::ExportResponse& resp, const NftTable& t, bool v6, std::string* out) {
  std::vector<std::string> elements;
  for (const v1::ExportRow& r : resp.rows()) {
    if (IsV6(r) == v6) {
      elements.push_back(
          absl::StrCat("  ", r.server_ip(), " . ", r.port(), " comment ", RuleComment(r)));
    }
  }
  if (elements.empty()) {
    return;
  }
  absl::StrAppend(out, "add element ", t.family, " ", t.name, " synmap_allow_", v6 ? "v6" : "v4",
                  " {\n", absl::StrJoin(elements, ",\n"), "\n}\n");
}

}  // namespace

absl::StatusOr<NftTable> ParseNftTable(absl::string_view text) {
  std::vector<std::string> parts =
      absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipWhitespace());
  if (parts.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("--nft-table: '", text, "' is not FAMILY NAME (e.g. inet filter)"));
  }
  if (parts[0] != "inet" && parts[0] != "ip" && parts[0] != "ip6") {
    return absl::InvalidArgumentError(
        absl::StrCat("--nft-table: family '", parts[0], "' is not inet, ip or ip6"));
  }
  for (const char ch : parts[1]) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' &&
        ch != '.') {
      return absl::InvalidArgumentError(
          absl::StrCat("--nft-table: '", parts[1], "' is not a plain table name"));
    }
  }
  return NftTable{.family = parts[0], .name = parts[1]};
}

std::string ExportHeader(const v1::ExportResponse& resp, uint64_t min_connections, size_t rules) {
  const v1::Coverage& c = resp.coverage();
  std::string out = absl::StrCat(
      "# synmap export: allow-list of inbound TCP services observed on local servers\n",
      "# window: ", Window(c), "; data read ", FormatTime(c.covered_since_unix_ns()), " to ",
      FormatTime(c.covered_until_unix_ns()), "\n# ", c.sensors_size(),
      " sensor(s) reported in it:\n");
  for (const v1::SensorCoverage& s : c.sensors()) {
    const std::string losses = SensorLosses(s);
    absl::StrAppend(&out, "#   ", s.sensor(), ": ", s.batches(), " batch(es), last ending ",
                    FormatTime(s.last_batch_end_unix_ns()),
                    losses.empty() ? "; nothing lost" : absl::StrCat("; INCOMPLETE: ", losses),
                    "\n");
  }
  absl::StrAppend(&out, "# ", rules, " rule(s), each seen with at least ", min_connections,
                  " connection(s). Review before loading: it allows what was seen, including\n",
                  "# what should not have been there.\n");
  return out;
}

std::string RenderNftables(const v1::ExportResponse& resp, const NftTable& t,
                           uint64_t min_connections, size_t* omitted) {
  const bool v4 = t.family != "ip6";
  const bool v6 = t.family != "ip";
  for (const v1::ExportRow& r : resp.rows()) {
    if (IsV6(r) ? !v6 : !v4) {
      ++*omitted;
    }
  }
  const std::string where = absl::StrCat(t.family, " ", t.name);
  std::string out = ExportHeader(resp, min_connections, RuleCount(resp, "nftables", t));
  absl::StrAppend(&out, "# Load with: nft -f FILE (table ", where,
                  " is created if missing; loading again replaces the contents), then send\n",
                  "# traffic through the chain from a base chain of that table, e.g.\n",
                  "#   nft add rule ", where, " input jump synmap_allow\n");
  absl::StrAppend(&out, "table ", where, " {\n");
  if (v4) {
    out.append("  set synmap_allow_v4 {\n    type ipv4_addr . inet_service\n  }\n");
  }
  if (v6) {
    out.append("  set synmap_allow_v6 {\n    type ipv6_addr . inet_service\n  }\n");
  }
  out.append("  chain synmap_allow {\n  }\n}\n");
  absl::StrAppend(&out, "flush chain ", where, " synmap_allow\n");
  if (v4) {
    absl::StrAppend(&out, "flush set ", where, " synmap_allow_v4\n");
    AppendNftSet(resp, t, false, &out);
    absl::StrAppend(&out, "add rule ", where,
                    " synmap_allow ip daddr . tcp dport @synmap_allow_v4 accept\n");
  }
  if (v6) {
    absl::StrAppend(&out, "flush set ", where, " synmap_allow_v6\n");
    AppendNftSet(resp, t, true, &out);
    absl::StrAppend(&out, "add rule ", where,
                    " synmap_allow ip6 daddr . tcp dport @synmap_allow_v6 accept\n");
  }
  return out;
}

std::string RenderIptables(const v1::ExportResponse& resp, bool v6, uint64_t min_connections,
                           size_t* omitted) {
  const char* tool = v6 ? "ip6tables" : "iptables";
  std::string out =
      ExportHeader(resp, min_connections, RuleCount(resp, v6 ? "ip6tables" : "iptables", {}));
  absl::StrAppend(&out, "# Load with: ", tool,
                  "-restore --noflush < FILE (chain SYNMAP_ALLOW is created or emptied), then\n",
                  "# send traffic through it, e.g.  ", tool, " -A INPUT -j SYNMAP_ALLOW\n",
                  "*filter\n:SYNMAP_ALLOW - [0:0]\n");
  for (const v1::ExportRow& r : resp.rows()) {
    if (IsV6(r) != v6) {
      ++*omitted;
      continue;
    }
    absl::StrAppend(&out, "-A SYNMAP_ALLOW -d ", r.server_ip(), v6 ? "/128" : "/32",
                    " -p tcp -m tcp --dport ", r.port(), " -m comment --comment ", RuleComment(r),
                    " -j ACCEPT\n");
  }
  out.append("COMMIT\n");
  return out;
}

size_t RuleCount(const v1::ExportResponse& resp, absl::string_view format, const NftTable& t) {
  size_t n = 0;
  for (const v1::ExportRow& r : resp.rows()) {
    const bool v6 = IsV6(r);
    if (format == "csv" || format == "expect" || (format == "iptables" && !v6) ||
        (format == "ip6tables" && v6) ||
        (format == "nftables" && (v6 ? t.family != "ip" : t.family != "ip6"))) {
      ++n;
    }
  }
  return n;
}

}  // namespace synmap::cli
