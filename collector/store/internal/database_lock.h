#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace synmap::collector::internal {

// An exclusive lock on a database file, held by one process: flock(LOCK_EX) on
// `<db>.lock`, which holds the holder's pid (for the refusal message). The kernel releases
// it when the process ends, however it ends, so a crash never leaves a stale lock.
// Thread-compatible.
class DatabaseLock {
 public:
  // Takes the lock of `db_path`. FailedPrecondition naming the database, the lock file and the
  // holder's pid if another process holds it; errno-derived status if the lock file cannot
  // be opened or written.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DatabaseLock>> Acquire(
      const std::string& db_path);
  ~DatabaseLock();
  DatabaseLock(const DatabaseLock&) = delete;
  DatabaseLock& operator=(const DatabaseLock&) = delete;

 private:
  explicit DatabaseLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace synmap::collector::internal
