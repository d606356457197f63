#include "collector/store/migrate.h"

#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "collector/store/internal/pg_conn.h"
#include "collector/store/internal/sqlite_db.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace synmap::collector {
namespace {

using internal::PgConn;
using internal::PgParams;

constexpr int64_t kDayNs = int64_t{86'400} * 1'000'000'000;

// Every aggregate row and coverage figure of a store, by names (ids differ between stores).
using Row = std::tuple<std::string, int64_t, int64_t, std::string, std::string, uint32_t, uint64_t,
                       uint64_t, int64_t, int64_t>;
using Cover = std::tuple<std::string, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t>;

std::pair<std::vector<Row>, std::vector<Cover>> Answers(Store& store) {
  auto s = store.Snapshot(0, 0, SnapshotBuckets::kAll);
  std::vector<Row> rows;
  for (const auto& b : s->buckets) {
    for (size_t r = 0; r < b->size(); ++r) {
      const AggregateKey& k = (*s->keys)[b->key[r]];
      rows.emplace_back(s->sensors[k.sensor].name, b->start_ns, b->width_ns,
                        (*s->ips)[k.client].ToString(), (*s->ips)[k.server].ToString(), k.port,
                        b->packets[r], b->connections[r], b->first_seen_ns[r], b->last_seen_ns[r]);
    }
  }
  std::sort(rows.begin(), rows.end());
  std::vector<Cover> cover;
  for (const SensorWindowCoverage& c : s->coverage) {
    cover.emplace_back(s->sensors[c.sensor].name, c.batches, c.last_seq, c.stats.kernel_drops,
                       c.spool_batches_dropped, c.spool_records_dropped);
  }
  std::sort(cover.begin(), cover.end());
  return {std::move(rows), std::move(cover)};
}

int64_t DayOf(int64_t t_ns) { return (t_ns >= 0 ? t_ns : t_ns - (kDayNs - 1)) / kDayNs; }

}  // namespace

absl::StatusOr<MigrationReport> MigrateSqliteToPostgres(SqliteStoreOptions from,
                                                        PostgresStoreOptions to) {
  from.log_retention = absl::ZeroDuration();  // Never trim the source.
  from.checkpoint_on_close = false;
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<Store> source, OpenSqliteStore(from));
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<internal::SqliteDb> db,
                          internal::SqliteDb::Open(from.path));
  SYNMAP_RETURN_IF_ERROR(db->Exec("PRAGMA query_only=1"));
  SYNMAP_ASSIGN_OR_RETURN(
      int64_t missing,
      db->QueryInt64("SELECT COUNT(*) FROM batches b WHERE NOT EXISTS (SELECT 1 FROM batch_log "
                     "l WHERE l.sensor_id = b.sensor_id AND l.seq = b.seq)"));
  if (missing > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database ", from.path, ": ", missing,
        " batch(es) are no longer in the batch log (trimmed after --log-retention); their "
        "records exist only as aggregates and cannot be copied exactly. Keep the SQLite "
        "collector to answer for that time, and start the PostgreSQL collectors empty"));
  }
  {
    SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<Store> target, OpenPostgresStore(to));  // Schema.
    const size_t sensors = target->Snapshot(0, 0, SnapshotBuckets::kNone)->sensors.size();
    SYNMAP_RETURN_IF_ERROR(target->Close());
    if (sensors > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("database ", internal::RedactUri(to.uri), " already holds ", sensors,
                       " sensor(s); migrate only into an empty database"));
    }
  }
  PgConn pg(to.uri, "migrate");
  MigrationReport report;
  // Partitions first (each in its own transaction, as commits do).
  SYNMAP_ASSIGN_OR_RETURN(internal::Statement days,
                          db->Prepare("SELECT DISTINCT start_ns FROM batches"));
  absl::flat_hash_set<int64_t> made;
  while (true) {
    SYNMAP_ASSIGN_OR_RETURN(bool row, days.Step());
    if (!row) {
      break;
    }
    const int64_t day = DayOf(days.ColumnInt64(0));
    if (made.insert(day).second) {
      SYNMAP_RETURN_IF_ERROR(
          pg.Exec("SELECT synmap_ensure_partition($1)", PgParams().Int(day)).status());
    }
  }
  SYNMAP_RETURN_IF_ERROR(pg.ExecScript("BEGIN"));
  auto copy = [&]() -> absl::Status {
    absl::flat_hash_map<int64_t, int64_t> ids;  // SQLite sensor id -> PostgreSQL id.
    SYNMAP_ASSIGN_OR_RETURN(
        internal::Statement sensors,
        db->Prepare("SELECT id, name, peer_address, hello, hello_ns, health, batch_health, "
                    "last_heartbeat_ns, last_seq, site FROM sensors ORDER BY id"));
    while (true) {
      SYNMAP_ASSIGN_OR_RETURN(bool row, sensors.Step());
      if (!row) {
        break;
      }
      SYNMAP_ASSIGN_OR_RETURN(
          internal::PgResult id,
          pg.Exec("INSERT INTO sensors (name, peer_address, hello, hello_ns, health, "
                  "batch_health, last_heartbeat_ns, last_seq, site) VALUES ($1, $2, $3, $4, $5, "
                  "$6, $7, $8, $9) RETURNING id::bigint",
                  PgParams()
                      .Text(sensors.ColumnBlob(1))
                      .Text(sensors.ColumnBlob(2))
                      .Bytes(sensors.ColumnBlob(3))
                      .Int(sensors.ColumnInt64(4))
                      .Bytes(sensors.ColumnBlob(5))
                      .Bytes(sensors.ColumnBlob(6))
                      .Int(sensors.ColumnInt64(7))
                      .Int(sensors.ColumnInt64(8))
                      .Text(sensors.ColumnBlob(9))));
      ids[sensors.ColumnInt64(0)] = id.Int(0, 0);
      ++report.sensors;
    }
    SYNMAP_ASSIGN_OR_RETURN(
        internal::Statement batches,
        db->Prepare("SELECT b.sensor_id, b.seq, b.digest, b.start_ns, b.end_ns, b.commit_ns, "
                    "b.records, b.packets_received, b.kernel_drops, b.interface_drops, "
                    "b.synacks, b.retransmissions, b.malformed, b.handshakes_evicted, "
                    "b.spool_batches_dropped, b.spool_records_dropped, l.body FROM batches b "
                    "JOIN batch_log l ON l.sensor_id = b.sensor_id AND l.seq = b.seq "
                    "ORDER BY b.sensor_id, b.seq"));
    while (true) {
      SYNMAP_ASSIGN_OR_RETURN(bool row, batches.Step());
      if (!row) {
        break;
      }
      auto id = ids.find(batches.ColumnInt64(0));
      if (id == ids.end()) {
        return absl::DataLossError("a batch of an unknown sensor id");
      }
      PgParams meta;
      meta.Int(id->second).Int(batches.ColumnInt64(1)).Bytes(batches.ColumnBlob(2));
      for (int c = 3; c <= 15; ++c) {
        meta.Int(batches.ColumnInt64(c));
      }
      SYNMAP_RETURN_IF_ERROR(
          pg.Exec("INSERT INTO batches (sensor_id, seq, digest, start_ns, end_ns, commit_ns, "
                  "records, packets_received, kernel_drops, interface_drops, synacks, "
                  "retransmissions, malformed, handshakes_evicted, spool_batches_dropped, "
                  "spool_records_dropped) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                  "$11, $12, $13, $14, $15, $16)",
                  meta)
              .status());
      SYNMAP_RETURN_IF_ERROR(pg.Exec("INSERT INTO batch_log (sensor_id, seq, start_ns, body) "
                                     "VALUES ($1, $2, $3, $4)",
                                     PgParams()
                                         .Int(id->second)
                                         .Int(batches.ColumnInt64(1))
                                         .Int(batches.ColumnInt64(3))
                                         .Bytes(batches.ColumnBlob(16)))
                                 .status());
      ++report.batches;
      report.records += static_cast<uint64_t>(batches.ColumnInt64(6));
    }
    return pg.ExecScript("COMMIT");
  };
  if (absl::Status status = copy(); !status.ok()) {
    (void)pg.ExecScript("ROLLBACK");
    return Annotate(status, "copy into PostgreSQL (rolled back)");
  }
  // Compare what both stores answer.
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<Store> target, OpenPostgresStore(to));
  const auto before = Answers(*source);
  const auto after = Answers(*target);
  report.aggregate_rows = before.first.size();
  SYNMAP_RETURN_IF_ERROR(target->Close());
  SYNMAP_RETURN_IF_ERROR(source->Close());
  if (before != after) {
    return absl::FailedPreconditionError(absl::StrCat(
        "copied ", report.batches, " batches, but the PostgreSQL store answers differently (",
        after.first.size(), " aggregate rows against ", before.first.size(),
        "); the copy is committed: empty the target database before trying again"));
  }
  return report;
}

}  // namespace synmap::collector
