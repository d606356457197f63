#include "collector/store/internal/sqlite_admin.h"

#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "collector/store/internal/schema.h"
#include "common/batch/batch_codec.h"
#include "common/status/status_macros.h"

namespace synmap::collector::internal {

absl::StatusOr<std::unique_ptr<SqliteDb>> OpenWalConnection(const std::string& path) {
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  // WAL: readers never block the writer and a commit is one sequential append. The busy
  // timeout makes a second writer (the admin tables, another process's admin command) wait
  // for the transaction in progress instead of failing.
  SYNMAP_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
  SYNMAP_RETURN_IF_ERROR(db->Exec("PRAGMA busy_timeout=5000"));
  return db;
}

absl::StatusOr<std::unique_ptr<SqliteAdminTables>> SqliteAdminTables::Open(
    const std::string& path) {
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, OpenWalConnection(path));
  SYNMAP_ASSIGN_OR_RETURN(int64_t version, db->QueryInt64("PRAGMA user_version"));
  if (version != kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat("database ", path, " has schema version ",
                                                      version, ", this program needs ",
                                                      kSchemaVersion));
  }
  return absl::WrapUnique(new SqliteAdminTables(std::move(db)));
}

absl::Status SqliteAdminTables::Revoke(const Revocation& revocation) {
  SYNMAP_RETURN_IF_ERROR(common::ValidateSensorName(revocation.name));
  absl::MutexLock lock(&mu_);
  SYNMAP_ASSIGN_OR_RETURN(
      Statement insert,
      db_->Prepare("INSERT INTO revocations (name, revoked_ns, reason) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (name) DO UPDATE SET revoked_ns = excluded.revoked_ns, "
                   "reason = excluded.reason"));
  insert.BindText(1, revocation.name);
  insert.BindInt64(2, absl::ToUnixNanos(revocation.revoked_at));
  insert.BindText(3, revocation.reason);
  return Annotate(insert.Run(), absl::StrCat("revoke ", revocation.name));
}

absl::Status SqliteAdminTables::Unrevoke(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  SYNMAP_ASSIGN_OR_RETURN(Statement remove,
                          db_->Prepare("DELETE FROM revocations WHERE name = ?1"));
  remove.BindText(1, name);
  SYNMAP_RETURN_IF_ERROR(Annotate(remove.Run(), absl::StrCat("unrevoke ", name)));
  if (sqlite3_changes(db_->raw()) == 0) {
    return absl::NotFoundError(absl::StrCat(name, " is not revoked"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Revocation>> SqliteAdminTables::Revocations() {
  absl::MutexLock lock(&mu_);
  SYNMAP_ASSIGN_OR_RETURN(
      Statement select,
      db_->Prepare("SELECT name, revoked_ns, reason FROM revocations ORDER BY name"));
  std::vector<Revocation> out;
  while (true) {
    SYNMAP_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) {
      break;
    }
    Revocation& r = out.emplace_back();
    r.name = std::string(select.ColumnBlob(0));
    r.revoked_at = absl::FromUnixNanos(select.ColumnInt64(1));
    r.reason = std::string(select.ColumnBlob(2));
  }
  select.Reset();
  return out;
}

}  // namespace synmap::collector::internal
