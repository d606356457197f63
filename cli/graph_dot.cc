#include "cli/graph_dot.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace synmap::cli {
namespace {

constexpr size_t kCount = 0, kClient = 1, kServer = 2, kService = 3;

// ", URL=\"...\"" for a node or cluster with a link, else "".
std::string UrlAttribute(const std::string& url) {
  return url.empty() ? "" : absl::StrCat(", URL=", DoubleQuoted(url), ", target=\"_top\"");
}

}  // namespace

std::string SummaryDot(const Table& summary, size_t max_edges, absl::string_view caption,
                       const GraphLinks* links) {
  struct Edge {
    uint64_t count;
    const std::string* client;
    const std::string* server;
    const std::string* service;
  };
  std::vector<Edge> edges;
  edges.reserve(summary.rows.size());
  // With sites (a site column after count) hosts are drawn as SITE/HOST: the same address at
  // two sites is two nodes.
  const bool sites = summary.columns.size() > 1 && summary.columns[1].name == "site";
  const size_t shift = sites ? 1 : 0;
  std::deque<std::string> site_labels;  // Never moves its elements.
  auto host = [&](const std::vector<std::string>& row, size_t column) -> const std::string* {
    const std::string& label = row[column + shift];
    if (!sites || row[1].empty()) {
      return &label;
    }
    return &site_labels.emplace_back(absl::StrCat(row[1], "/", label));
  };
  for (const std::vector<std::string>& row : summary.rows) {
    uint64_t count = 0;
    if (!absl::SimpleAtoi(row[kCount], &count)) {
      continue;
    }
    edges.push_back({count, host(row, kClient), host(row, kServer), &row[kService + shift]});
  }
  // Largest first, then by names, so the same answer always gives the same graph.
  std::stable_sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) {
    if (a.count != b.count) {
      return a.count > b.count;
    }
    return std::tie(*a.client, *a.server, *a.service) < std::tie(*b.client, *b.server, *b.service);
  });
  const uint64_t not_drawn =
      summary.TotalRows() -
      std::min<uint64_t>(summary.TotalRows(), std::min(edges.size(), max_edges));
  edges.resize(std::min(edges.size(), max_edges));
  const uint64_t max_count = edges.empty() ? 1 : std::max<uint64_t>(1, edges.front().count);

  // Node ids are generated (s0, s0_1, c3, r0_1), never made from names.
  std::map<std::string, size_t> servers;                                // server -> index
  std::map<std::pair<size_t, std::string>, std::string> service_nodes;  // -> node id
  std::map<std::string, std::string> client_nodes;                      // client -> node id
  std::vector<std::vector<std::pair<std::string, std::string>>> server_services;  // id, label
  for (const Edge& e : edges) {
    auto [s, new_server] = servers.try_emplace(*e.server, servers.size());
    if (new_server) {
      server_services.emplace_back();
    }
    auto [svc, new_service] = service_nodes.try_emplace({s->second, *e.service}, "");
    if (new_service) {
      svc->second = absl::StrCat("s", s->second, "_", server_services[s->second].size());
      server_services[s->second].emplace_back(svc->second, *e.service);
    }
    if (*e.client != "_" && !client_nodes.contains(*e.client)) {
      client_nodes.emplace(*e.client, absl::StrCat("c", client_nodes.size()));
    }
  }

  std::string out = "digraph synmap {\n";
  absl::StrAppend(&out, "  graph [rankdir=LR, labelloc=t, fontname=\"Helvetica\", label=",
                  DoubleQuoted(caption), "];\n", "  node [fontname=\"Helvetica\", fontsize=10];\n",
                  "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#4a6fa5\"];\n");
  for (const auto& [name, index] : servers) {
    absl::StrAppend(
        &out, "  subgraph cluster_", index, " {\n    label=", DoubleQuoted(name),
        "; style=rounded; color=\"#888888\"",
        links != nullptr ? absl::StrCat("; URL=", DoubleQuoted(links->server(name))) : "", ";\n");
    for (const auto& [id, label] : server_services[index]) {
      absl::StrAppend(&out, "    ", id, " [shape=box, style=filled, fillcolor=\"#e8eef7\", label=",
                      DoubleQuoted(label),
                      links != nullptr ? UrlAttribute(links->service(name, label)) : "", "];\n");
    }
    out += "  }\n";
  }
  for (const auto& [name, id] : client_nodes) {
    absl::StrAppend(&out, "  ", id, " [shape=ellipse, label=", DoubleQuoted(name),
                    links != nullptr ? UrlAttribute(links->client(name)) : "", "];\n");
  }
  std::set<std::string> remote_nodes;
  for (const Edge& e : edges) {
    const size_t server = servers.at(*e.server);
    const std::string& service = service_nodes.at({server, *e.service});
    std::string client;
    if (*e.client == "_") {
      // One remote-clients node per service.
      client = absl::StrCat("r", service.substr(1));
      if (remote_nodes.insert(client).second) {
        absl::StrAppend(
            &out, "  ", client,
            " [shape=ellipse, style=dashed, label=\"_\", tooltip=\"remote clients\"];\n");
      }
    } else {
      client = client_nodes.at(*e.client);
    }
    const double width = 1.0 + 4.0 * std::log1p(static_cast<double>(e.count)) /
                                   std::log1p(static_cast<double>(max_count));
    absl::StrAppend(&out, "  ", client, " -> ", service, " [label=\"", e.count,
                    absl::StrFormat("\", penwidth=%.2f];\n", width));
  }
  if (not_drawn > 0) {
    absl::StrAppend(&out, "  more [shape=note, label=\"", not_drawn,
                    " more rows not drawn (--max-edges, --top)\"];\n");
  }
  out += "}\n";
  return out;
}

}  // namespace synmap::cli
