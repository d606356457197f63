#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace synmap::collector::internal {

// Maps an SQLite result code to a Status: busy/locked/IO/full -> Unavailable, corrupt ->
// DataLoss, anything else -> Internal. `what` names the operation.
absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what);

struct SqliteStmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// A prepared statement. Thread-compatible (belongs to its connection's thread).
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  void BindInt64(int index, int64_t value) { sqlite3_bind_int64(stmt_.get(), index, value); }
  // The text/blob must stay alive until the statement is stepped and reset.
  void BindText(int index, absl::string_view text) {
    sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()),
                      SQLITE_STATIC);
  }
  void BindBlob(int index, absl::string_view blob) {
    sqlite3_bind_blob(stmt_.get(), index, blob.data(), static_cast<int>(blob.size()),
                      SQLITE_STATIC);
  }
  // Steps once: true when a row is available, false when done.
  [[nodiscard]] absl::StatusOr<bool> Step();
  // Steps to completion and resets (for statements returning no rows).
  [[nodiscard]] absl::Status Run();
  void Reset() {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
  }

  int64_t ColumnInt64(int index) const { return sqlite3_column_int64(stmt_.get(), index); }
  // Valid until the next Step/Reset.
  absl::string_view ColumnBlob(int index) const;

 private:
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, SqliteStmtCloser> stmt_;
};

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

// One SQLite connection. Thread-compatible: used by one thread at a time.
class SqliteDb {
 public:
  // Opens or creates `path` (read-write). Errors: Unavailable.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path);

  [[nodiscard]] absl::Status Exec(absl::string_view sql);
  [[nodiscard]] absl::StatusOr<Statement> Prepare(absl::string_view sql);
  // PRAGMA user_version.
  [[nodiscard]] absl::StatusOr<int64_t> QueryInt64(absl::string_view sql);
  int64_t LastInsertRowId() const { return sqlite3_last_insert_rowid(db_.get()); }
  sqlite3* raw() const { return db_.get(); }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  std::unique_ptr<sqlite3, SqliteCloser> db_;
};

}  // namespace synmap::collector::internal
