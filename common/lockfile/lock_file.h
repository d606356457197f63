#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace synmap::common {

// What a lock guards, for the refusal a second process gets: "<what> is in use by another
// <holder> (pid N, lock file P); stop that one first or <other_choice>".
struct LockUse {
  std::string what;          // "database /var/lib/synmap/db", "spool /var/spool/synmap".
  std::string holder;        // "collector", "synmap-sensor".
  std::string other_choice;  // "use another --db".
};

// An exclusive lock held by one process: flock(LOCK_EX | LOCK_NB) on a lock file (which then
// holds the holder's pid) or on a directory itself (nothing is written into it). A refusal
// names the holder's pid, read from the kernel's list of locks (/proc/locks). The kernel
// releases the lock when the process ends, however it ends, so a crash never leaves a stale
// lock. A second Acquire of the same path fails, also in the same process. Thread-compatible.
class LockFile {
 public:
  // Takes the lock of `path`: an existing directory, else a file (created if missing).
  // FailedPrecondition in the words of `use` if another holder has it; errno-derived status if
  // it cannot be opened or written.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LockFile>> Acquire(const std::string& path,
                                                                         const LockUse& use);
  ~LockFile();
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

 private:
  explicit LockFile(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace synmap::common
