#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "collector/store/admin_store.h"
#include "collector/store/internal/pg_conn.h"

namespace synmap::collector::internal {

// The administrative tables of a PostgreSQL store (revocations) over a connection of their
// own, so that their reads and writes never wait for a commit connection. Reconnects as PgConn
// does. Thread-safe (one mutex over the connection).
class PgAdminTables final : public AdminStore {
 public:
  // Connects lazily to `uri`, whose schema must be current (MigratePostgresSchema).
  explicit PgAdminTables(const std::string& uri) : conn_(uri, "admin") {}

  absl::Status Revoke(const Revocation& revocation) override ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Unrevoke(absl::string_view name) override ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<Revocation>> Revocations() override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  PgConn conn_ ABSL_GUARDED_BY(mu_);
};

// Creates or migrates the schema of the database `conn` is connected to (one process at a time,
// under an advisory lock). `uri` names the database in errors. Defined beside the migrations in
// postgres_store.cc. Errors: FailedPrecondition (schema newer than this program), Unavailable.
[[nodiscard]] absl::Status MigratePostgresSchema(PgConn& conn, absl::string_view uri);

}  // namespace synmap::collector::internal
