#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "collector/store/postgres_store.h"
#include "collector/store/sqlite_store.h"

namespace synmap::collector {

// What MigrateSqliteToPostgres copied and checked.
struct MigrationReport {
  uint64_t sensors = 0;
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t aggregate_rows = 0;  // Compared row for row, source against target.
};

// Copies the SQLite store `from` (its sensors, every batch with its digest and body) into the
// empty PostgreSQL database of `to`, in one transaction, then opens both stores and compares
// every aggregate row and every sensor's coverage: the target answers every query as the
// source did. The source is opened with its lock (no collector may be running on it) and is
// not changed. Tiers must be the same in both option sets; `from.log_retention` and
// `from.checkpoint_on_close` are overridden so the source keeps its log.
// Errors: FailedPrecondition when the source's batch log no longer holds every batch (trimmed
// by --log-retention: the trimmed batches exist only as aggregates, which cannot be copied
// exactly), when the target already holds sensors, or when the comparison finds a difference
// (the transaction is then already committed: the message says so); Unavailable (a database
// cannot be opened); as OpenSqliteStore / OpenPostgresStore.
[[nodiscard]] absl::StatusOr<MigrationReport> MigrateSqliteToPostgres(SqliteStoreOptions from,
                                                                      PostgresStoreOptions to);

}  // namespace synmap::collector
