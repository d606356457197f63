#include "collector/store/internal/database_lock.h"

#include "absl/strings/str_cat.h"

namespace synmap::collector::internal {

absl::StatusOr<std::unique_ptr<DatabaseLock>> LockDatabase(const std::string& db_path) {
  return common::LockFile::Acquire(absl::StrCat(db_path, ".lock"),
                                   {.what = absl::StrCat("database ", db_path),
                                    .holder = "collector",
                                    .other_choice = "use another --db"});
}

}  // namespace synmap::collector::internal
