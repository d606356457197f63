#include "collector/store/admin_store.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "collector/store/internal/database_lock.h"
#include "collector/store/internal/pg_admin.h"
#include "collector/store/internal/pg_conn.h"
#include "collector/store/internal/schema.h"
#include "collector/store/internal/sqlite_admin.h"
#include "common/status/status_macros.h"

namespace synmap::collector {
namespace {

// Brings the SQLite file at `path` to this program's schema, which only a process holding
// the database's lock may do (a running collector keeps its schema as it opened it).
absl::Status EnsureSqliteSchema(const std::string& path) {
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<internal::SqliteDb> db,
                          internal::OpenWalConnection(path));
  SYNMAP_ASSIGN_OR_RETURN(int64_t version, db->QueryInt64("PRAGMA user_version"));
  if (version >= internal::kSchemaVersion) {
    return version == internal::kSchemaVersion
               ? absl::OkStatus()
               : internal::MigrateSchema(*db);  // Refuses a newer schema by name.
  }
  absl::StatusOr<std::unique_ptr<internal::DatabaseLock>> lock = internal::LockDatabase(path);
  if (!lock.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database ", path, " has schema version ", version, ", older than this program's ",
        internal::kSchemaVersion, ", and a collector holds it (", lock.status().message(),
        "); upgrade and restart that collector first"));
  }
  return internal::MigrateSchema(*db);
}

}  // namespace

const Revocation* FindRevocation(absl::Span<const Revocation> revocations, absl::string_view name,
                                 absl::Time not_before) {
  for (const Revocation& r : revocations) {
    if (r.name == name && not_before <= r.revoked_at) {
      return &r;
    }
  }
  return nullptr;
}

absl::StatusOr<std::unique_ptr<AdminStore>> OpenAdminStore(absl::string_view db) {
  if (internal::IsPostgresUri(db)) {
    internal::PgConn conn{std::string(db), "admin-migrate"};
    SYNMAP_RETURN_IF_ERROR(conn.Ensure());
    SYNMAP_RETURN_IF_ERROR(internal::MigratePostgresSchema(conn, db));
    return std::make_unique<internal::PgAdminTables>(std::string(db));
  }
  const std::string path(db);
  SYNMAP_RETURN_IF_ERROR(EnsureSqliteSchema(path));
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<internal::SqliteAdminTables> tables,
                          internal::SqliteAdminTables::Open(path));
  return tables;
}

}  // namespace synmap::collector
