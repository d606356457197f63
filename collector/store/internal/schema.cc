#include "collector/store/internal/schema.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace synmap::collector::internal {
namespace {

// Migration N takes the schema from version N to N+1. Never edit a released one: append.
constexpr std::array<const char*, kSchemaVersion> kMigrations = {
    // 0 -> 1: batch log, batch metadata, sensors, aggregate chunks, checkpoint.
    R"sql(
CREATE TABLE sensors (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  peer_address TEXT NOT NULL DEFAULT '',
  hello BLOB,
  hello_ns INTEGER NOT NULL DEFAULT 0,
  last_commit_ns INTEGER NOT NULL DEFAULT 0,
  last_batch_end_ns INTEGER NOT NULL DEFAULT 0,
  last_seq INTEGER NOT NULL DEFAULT 0,
  batches INTEGER NOT NULL DEFAULT 0,
  records INTEGER NOT NULL DEFAULT 0,
  packets_received INTEGER NOT NULL DEFAULT 0,
  kernel_drops INTEGER NOT NULL DEFAULT 0,
  interface_drops INTEGER NOT NULL DEFAULT 0,
  synacks INTEGER NOT NULL DEFAULT 0,
  retransmissions INTEGER NOT NULL DEFAULT 0,
  malformed INTEGER NOT NULL DEFAULT 0,
  handshakes_evicted INTEGER NOT NULL DEFAULT 0,
  health BLOB,
  batch_health BLOB,
  last_heartbeat_ns INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE batches (
  sensor_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  commit_ns INTEGER NOT NULL,
  records INTEGER NOT NULL,
  packets_received INTEGER NOT NULL,
  kernel_drops INTEGER NOT NULL,
  interface_drops INTEGER NOT NULL,
  synacks INTEGER NOT NULL,
  retransmissions INTEGER NOT NULL,
  malformed INTEGER NOT NULL,
  handshakes_evicted INTEGER NOT NULL,
  spool_batches_dropped INTEGER NOT NULL,
  spool_records_dropped INTEGER NOT NULL,
  PRIMARY KEY (sensor_id, seq)
) WITHOUT ROWID;
CREATE TABLE batch_log (
  -- AUTOINCREMENT: ids are never reused after the log is trimmed, so the checkpoint's
  -- log_id always separates applied rows from rows to replay.
  log_id INTEGER PRIMARY KEY AUTOINCREMENT,
  sensor_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  format INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE TABLE aggregate_chunks (
  bucket_ns INTEGER NOT NULL,
  chunk INTEGER NOT NULL,
  format INTEGER NOT NULL,
  body BLOB NOT NULL,
  PRIMARY KEY (bucket_ns, chunk)
) WITHOUT ROWID;
CREATE TABLE checkpoint (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  log_id INTEGER NOT NULL,
  bucket_ns INTEGER NOT NULL,
  written_ns INTEGER NOT NULL
);
INSERT INTO checkpoint (id, log_id, bucket_ns, written_ns) VALUES (1, 0, 0, 0);
)sql",
    // 1 -> 2: each committed batch's content digest (internal/batch_digest.h), set by a
    // trigger in the transaction that logs the batch. Batches committed before this version
    // keep an empty digest: their content is unknown, and a resend is taken as a duplicate.
    R"sql(
ALTER TABLE batches ADD COLUMN digest BLOB NOT NULL DEFAULT x'';
CREATE TRIGGER batch_log_digest AFTER INSERT ON batch_log BEGIN
  UPDATE batches SET digest = synmap_batch_digest(NEW.body)
    WHERE sensor_id = NEW.sensor_id AND seq = NEW.seq;
END;
)sql",
    // 2 -> 3: the batch log is kept until retention (it rebuilds corrupt aggregates); retention
    // and the rebuild check find a batch's log row by (sensor, seq).
    R"sql(
CREATE INDEX batch_log_batch ON batch_log (sensor_id, seq);
)sql",
    // 3 -> 4: the site each sensor belongs to (docs/sites.md); '' = none, as for every sensor
    // recorded before sites existed.
    R"sql(
ALTER TABLE sensors ADD COLUMN site TEXT NOT NULL DEFAULT '';
)sql",
    // 4 -> 5: revoked identities (docs/operations.md, "Revocation"), written by
    // `synmap-collector revoke` next to running collectors, read by them every 0.5 s.
    R"sql(
CREATE TABLE revocations (
  name TEXT PRIMARY KEY,
  revoked_ns INTEGER NOT NULL,
  reason TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
)sql",
    // 5 -> 6: one-time enrolment tokens (docs/operations.md, "Add a sensor in two commands"),
    // kept only as their SHA-256, made by `synmap-collector token create` next to running
    // collectors; used_ns 0 while unused.
    R"sql(
CREATE TABLE enrolment_tokens (
  hash TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  created_ns INTEGER NOT NULL,
  expires_ns INTEGER NOT NULL,
  used_ns INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql",
};

}  // namespace

absl::Status MigrateSchema(SqliteDb& db) {
  SYNMAP_ASSIGN_OR_RETURN(int64_t version, db.QueryInt64("PRAGMA user_version"));
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("database schema version ", version, " is newer than this program's ",
                     kSchemaVersion, "; upgrade synmap-collector"));
  }
  for (int64_t v = version; v < kSchemaVersion; ++v) {
    SYNMAP_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    absl::Status status = db.Exec(kMigrations[static_cast<size_t>(v)]);
    if (status.ok()) {
      status = db.Exec(absl::StrCat("PRAGMA user_version = ", v + 1));
    }
    if (!status.ok()) {
      (void)db.Exec("ROLLBACK");
      return Annotate(status, absl::StrCat("migrate schema to version ", v + 1));
    }
    SYNMAP_RETURN_IF_ERROR(db.Exec("COMMIT"));
  }
  return absl::OkStatus();
}

}  // namespace synmap::collector::internal
