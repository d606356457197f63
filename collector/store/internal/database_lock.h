#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/lockfile/lock_file.h"

namespace synmap::collector::internal {

// The lock one collector holds on a database file while it has it open: `<db>.lock`
// (common::LockFile). FailedPrecondition naming the database, the lock file and the holder's
// pid if another process holds it; errno-derived status if the lock file cannot be used.
using DatabaseLock = common::LockFile;
[[nodiscard]] absl::StatusOr<std::unique_ptr<DatabaseLock>> LockDatabase(
    const std::string& db_path);

}  // namespace synmap::collector::internal
