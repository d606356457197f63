#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "collector/store/internal/sqlite_db.h"

namespace synmap::collector::internal {

// The schema version this program writes (PRAGMA user_version).
inline constexpr int64_t kSchemaVersion = 6;

// Brings the database to kSchemaVersion by running each missing migration in its own
// transaction (version 0 = empty file). Version 2's trigger calls synmap_batch_digest():
// register it first (RegisterBatchDigestFunction) on every connection that commits batches. Errors:
// FailedPrecondition when the file's version is newer than this program; Unavailable/Internal from
// SQLite.
[[nodiscard]] absl::Status MigrateSchema(SqliteDb& db);

}  // namespace synmap::collector::internal
