#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace synmap::cli {

// The baseline of `synmap check`: the (server, service) pairs that should be live, optionally
// with the only clients allowed to use them. YAML:
//
//   services:
//     - server: www          # a host label as synmap prints it (name, IP, or _)
//       service: https       # a service label (https, up:8443)
//     - server: db
//       service: pg
//       clients: [app1, app2]   # optional: any other client is reported
//
// `synmap export --format expect` writes one from what was seen.
struct ExpectedService {
  std::string server;
  std::string service;
  bool clients_listed = false;
  std::set<std::string> clients;
};

// Parses an expect file; InvalidArgument "FILE:LINE: what" for anything else than the shape
// above (unknown keys, a missing server or service, a pair listed twice).
[[nodiscard]] absl::StatusOr<std::vector<ExpectedService>> ParseExpectFile(
    absl::string_view text, absl::string_view filename);
// Reads and parses `path`; NotFound / InvalidArgument naming the file.
[[nodiscard]] absl::StatusOr<std::vector<ExpectedService>> LoadExpectFile(const std::string& path);

// The expect file listing `services` (sorted by server, service), after `comment` lines
// (each prefixed with "# ").
std::string RenderExpectFile(const std::vector<ExpectedService>& services,
                             const std::vector<std::string>& comment);

// What was seen of one (server, service) in the window.
struct SeenService {
  uint64_t connections = 0;
  std::map<std::string, uint64_t> clients;  // Client label -> connections.
};
using SeenServices = std::map<std::pair<std::string, std::string>, SeenService>;

// One difference between the baseline and what was seen.
struct CheckFinding {
  enum Kind { kUnexpected, kSilent, kUnexpectedClient };
  Kind kind = kUnexpected;
  std::string server, service, client;  // client: only for kUnexpectedClient.
  uint64_t connections = 0;             // Seen in the window (0 for kSilent).
};

// Seen pairs not expected, expected pairs not seen, and clients of an expected pair with a
// client list that are not on it. Sorted by kind, then server, service, client.
std::vector<CheckFinding> CheckServices(const std::vector<ExpectedService>& expected,
                                        const SeenServices& seen);

// "unexpected", "silent", "unexpected_client".
const char* FindingKindName(CheckFinding::Kind kind);

}  // namespace synmap::cli
