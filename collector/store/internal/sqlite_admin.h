#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "collector/store/admin_store.h"
#include "collector/store/internal/sqlite_db.h"

namespace synmap::collector::internal {

// The administrative tables of a SQLite store (revocations) over a connection of their own,
// beside the store's writer connection or beside another process's collector: WAL mode and a
// busy timeout let its short transactions wait for the writer's group transactions. Never
// takes `<db>.lock`. Thread-safe (one mutex over the connection).
class SqliteAdminTables final : public AdminStore {
 public:
  // Opens `path`, which must already be at kSchemaVersion (MigrateSchema). Errors:
  // Unavailable (cannot open), FailedPrecondition (another schema version).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SqliteAdminTables>> Open(
      const std::string& path);

  absl::Status Revoke(const Revocation& revocation) override ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Unrevoke(absl::string_view name) override ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<Revocation>> Revocations() override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  explicit SqliteAdminTables(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
};

// Opens a connection to `path` as every user of a store file does: WAL, 5 s busy timeout.
// Errors: Unavailable.
[[nodiscard]] absl::StatusOr<std::unique_ptr<SqliteDb>> OpenWalConnection(const std::string& path);

}  // namespace synmap::collector::internal
