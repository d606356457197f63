#include "sensor/capture/privileges.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace synmap::sensor {
namespace {

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

absl::StatusOr<Account> LookUp(const std::string& name) {
  errno = 0;
  const struct passwd* pw = getpwnam(name.c_str());
  if (pw == nullptr) {
    return errno != 0 ? absl::ErrnoToStatus(errno, absl::StrCat("look up user ", name))
                      : absl::NotFoundError(absl::StrCat("user ", name, ": no such user"));
  }
  return Account{.name = name, .uid = pw->pw_uid, .gid = pw->pw_gid};
}

// Whether `account` can write `dir` (or, when it does not exist yet, its nearest existing
// ancestor). Checked with the filesystem IDs set to the account's, which also takes root's
// file capabilities out of the check; restored before returning.
bool CanWrite(const Account& account, const std::string& dir) {
  std::filesystem::path path(dir);
  std::error_code ec;
  while (!path.empty() && !std::filesystem::exists(path, ec) && path.has_parent_path() &&
         path.parent_path() != path) {
    path = path.parent_path();
  }
  const uid_t old_uid = static_cast<uid_t>(setfsuid(account.uid));
  const gid_t old_gid = static_cast<gid_t>(setfsgid(account.gid));
  const bool ok =
      faccessat(AT_FDCWD, path.empty() ? "." : path.c_str(), W_OK | X_OK, AT_EACCESS) == 0;
  setfsgid(old_gid);
  setfsuid(old_uid);
  return ok;
}

absl::Status SwitchUser(const Account& account) {
  if (setgroups(1, &account.gid) != 0) {
    return absl::ErrnoToStatus(errno, "setgroups");
  }
  if (setgid(account.gid) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("setgid ", account.gid));
  }
  if (setuid(account.uid) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("setuid ", account.uid));
  }
  if (getuid() != account.uid || geteuid() != account.uid || getgid() != account.gid ||
      getegid() != account.gid || (account.uid != 0 && setuid(0) == 0)) {
    return absl::InternalError(absl::StrCat("switching to user ", account.name, " did not stick"));
  }
  return absl::OkStatus();
}

// Removes every capability from the bounding set, so no later exec can gain one. Needs
// CAP_SETPCAP; without it (a systemd unit's CapabilityBoundingSet already limits it) the
// set is left alone.
void DropBoundingSet() {
  for (int cap = 0; cap < 64; ++cap) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) {
      break;  // Past the kernel's last capability.
    }
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      break;  // EPERM: no CAP_SETPCAP.
    }
  }
}

}  // namespace

absl::Status DropAllCapabilities() {
  // Ambient first: it may hold only capabilities that are permitted and inheritable.
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capset, &header, none) != 0) {
    return absl::ErrnoToStatus(errno, "capset");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return absl::ErrnoToStatus(errno, "prctl no_new_privs");
  }
  __user_cap_data_struct now[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, now) != 0) {
    return absl::ErrnoToStatus(errno, "capget");
  }
  for (const __user_cap_data_struct& d : now) {
    if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) {
      return absl::InternalError("a capability survived capset");
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0) > 0) {
    return absl::InternalError("an ambient capability survived");
  }
  return absl::OkStatus();
}

absl::StatusOr<PrivilegeResult> DropPrivileges(const PrivilegeOptions& options) {
  PrivilegeResult result;
  const bool root = geteuid() == 0;
  std::optional<Account> target;
  if (!options.user.empty()) {
    absl::StatusOr<Account> account = LookUp(options.user);
    if (!account.ok()) {
      return absl::Status(account.status().code(),
                          absl::StrCat("--user: ", account.status().message()));
    }
    target = *account;
  } else if (root) {
    for (const std::string& name : options.default_users) {
      absl::StatusOr<Account> account = LookUp(name);
      if (!account.ok()) {
        continue;
      }
      if (!options.spool_dir.empty() && !CanWrite(*account, options.spool_dir)) {
        result.stayed_root_because =
            absl::StrCat("user ", name, " cannot write the spool ", options.spool_dir);
        continue;
      }
      target = *account;
      result.stayed_root_because.clear();
      break;
    }
    if (!target.has_value() && result.stayed_root_because.empty()) {
      result.stayed_root_because = "none of the default users exists";
    }
  }
  if (root) {
    DropBoundingSet();
  }
  if (target.has_value()) {
    if (absl::Status s = SwitchUser(*target); !s.ok()) {
      return s;
    }
    result.user = target->name;
  } else if (root) {
    result.user = "root";
  }
  if (absl::Status s = DropAllCapabilities(); !s.ok()) {
    return s;
  }
  return result;
}

}  // namespace synmap::sensor
