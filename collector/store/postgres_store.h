#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "collector/store/sqlite_store.h"
#include "collector/store/store.h"
#include "common/time/clock.h"

namespace synmap::collector {

// Options of the PostgreSQL store. Every field has a usable default except `uri`.
struct PostgresStoreOptions {
  // A libpq connection URI: postgresql://USER@HOST:PORT/DBNAME?... (also postgres://; a unix
  // socket directory via ?host=/path).
  std::string uri;
  // Aggregate time buckets by age, as SqliteStoreOptions::tiers (rolled up in memory).
  std::vector<StoreTier> tiers = DefaultStoreTiers();
  // Keep buckets and batches this long (by capture time); zero = forever. Retention drops
  // whole daily partitions of the batch log.
  absl::Duration retention = absl::ZeroDuration();
  // How often the store reads batches committed by other collectors into its aggregates: a
  // batch acked anywhere is in every collector's answers at most this long (plus one query)
  // after its commit.
  absl::Duration poll_interval = absl::Seconds(1);
  // Connections used for commits (one commit per connection at a time).
  int commit_connections = 4;
  // Counting a handshake several sensors saw once (store.h); the same on every collector.
  OverlapOptions overlap;
  Clock* clock = nullptr;  // Collector time; nullptr = RealClock. Must outlive.

  [[nodiscard]] absl::Status Validate() const;
};

// Opens the PostgreSQL store at options.uri: creates or migrates the schema (versioned in
// table synmap_schema), loads every sensor and replays the batch log into the in-memory
// aggregates, then starts the thread that follows other collectors' commits.
//
// Any number of collectors may share one database. A batch's (sensor, seq, digest), metadata
// and body commit in one transaction that holds the sensor's row lock, so commits of one sensor
// are serialized across collectors and its seqs become visible in seq order: exactly-once by
// content holds across collectors (same rules as SQLite: same seq + same digest = duplicate,
// other content or an unused seq <= the highest = conflict). RecordHello takes a session
// advisory lock named after the sensor on a connection held until RecordDisconnect: a second
// stream of the same sensor at another collector is refused (AlreadyExists) until the first
// ends or its collector dies (PostgreSQL releases the lock with the dead session).
//
// While the database is unreachable every call fails with Unavailable (nothing is acked that
// is not committed); connections come back with backoff, logged once each way.
// Errors at open: InvalidArgument (options), Unavailable (cannot connect), FailedPrecondition
// (schema newer than this program), DataLoss (a stored batch cannot be decoded).
[[nodiscard]] absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(
    const PostgresStoreOptions& options);

// True when `db` (the --db flag) names a PostgreSQL database: a postgresql:// or postgres://
// URI. Anything else is a SQLite file path.
bool IsPostgresDatabase(absl::string_view db);

}  // namespace synmap::collector
