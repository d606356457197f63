#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace synmap::sensor {

// Options of DropPrivileges. Plain data.
struct PrivilegeOptions {
  // User to run as after the captures are open (--user). Empty: when started as root, the
  // first of `default_users` that exists; otherwise the current user. "root" keeps uid 0
  // (still without any capability).
  std::string user;
  // Tried in order when `user` is empty and the process is root.
  std::vector<std::string> default_users = {"synmap", "nobody"};
  // The spool directory, which the user must be able to write (or create, when missing).
  // Empty: not checked.
  std::string spool_dir;
};

// What DropPrivileges did. Plain data.
struct PrivilegeResult {
  std::string user;  // The user now running the process ("" = unchanged, not root).
  // Set when root without --user stayed uid 0 because no default user could write the
  // spool: the reason, for a warning.
  std::string stayed_root_because;
};

// Gives up privileges once the capture handles are open (they stay usable): switches user
// (supplementary groups, group, user) as PrivilegeOptions says, then drops every capability:
// the bounding set (where CAP_SETPCAP allows), ambient, inheritable, permitted and effective,
// and sets no_new_privs. Verifies the result with capget. NotFound for an unknown --user;
// PermissionDenied when switching user is refused; Internal when a capability survives.
// Must run before any thread starts (the IDs and capabilities are per thread).
[[nodiscard]] absl::StatusOr<PrivilegeResult> DropPrivileges(const PrivilegeOptions& options);

// Clears the capability sets as DropPrivileges does, without switching user. Internal when
// a capability survives.
[[nodiscard]] absl::Status DropAllCapabilities();

}  // namespace synmap::sensor
