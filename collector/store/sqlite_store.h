#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "collector/store/store.h"
#include "common/time/clock.h"

namespace synmap::collector {

// One time-resolution tier of the stored aggregates: data whose capture time is younger than
// `max_age` (measured on the collector's clock) is kept in buckets of `width`.
struct StoreTier {
  absl::Duration width;
  absl::Duration max_age;  // absl::InfiniteDuration() for the last tier.
};

// The default tiers: 1 min buckets for the last 48 h, 1 h to 90 days, 1 day beyond.
std::vector<StoreTier> DefaultStoreTiers();

// Parses "1m:48h,1h:90d,1d" (WIDTH:MAX_AGE, ..., last WIDTH without an age) into tiers.
// InvalidArgument on bad syntax; validity is checked by SqliteStoreOptions::Validate.
[[nodiscard]] absl::StatusOr<std::vector<StoreTier>> ParseStoreTiers(absl::string_view text);

// Options of the SQLite store. Every field has a usable default except `path`.
struct SqliteStoreOptions {
  std::string path;  // Database file (created if missing); -wal/-shm beside.
  // Aggregate time buckets by age, fine to coarse: each width (>= 1 s) divides the next, ages
  // increase, the last tier has no age limit. Aged buckets are rolled up at checkpoints.
  std::vector<StoreTier> tiers = DefaultStoreTiers();
  // Keep buckets and batch metadata this long (by capture time); zero = forever.
  absl::Duration retention = absl::ZeroDuration();
  // Keep the batch log (every batch as received: the truth that corrupt aggregate chunks are
  // rebuilt from) this long by capture time, for batches already in a checkpoint; older log
  // rows are trimmed, so the file grows with recent data, not with all data. A corrupt chunk
  // that needs a trimmed batch makes Open fail (DataLoss). Zero = keep it as long as
  // `retention` keeps buckets (forever when that is zero). Digests (exactly-once) are kept.
  absl::Duration log_retention = absl::Hours(48);
  // true: PRAGMA synchronous=FULL, an acked commit survives power loss (fsync per group
  // transaction). false: NORMAL, survives a collector crash (SIGKILL) but the last
  // transactions may be lost on power loss. WAL mode either way.
  bool sync_full = true;
  // Write the aggregates back (checkpoint) after this many records were committed since the
  // last checkpoint, or after `checkpoint_interval`, whichever comes first.
  uint64_t checkpoint_records = 4'000'000;
  absl::Duration checkpoint_interval = absl::Minutes(5);
  // At most this many records per group transaction (more pending commits wait for the next).
  uint64_t max_group_records = 1'000'000;
  // Write a final checkpoint in Close(). Tests turn it off to exercise log replay.
  bool checkpoint_on_close = true;
  // Counting a handshake several sensors saw once (store.h).
  OverlapOptions overlap;
  Clock* clock = nullptr;  // Collector time; nullptr = RealClock. Must outlive.
  // Tests only: called by the writer thread at named steps of a checkpoint ("rolled_up",
  // "chunks_written") and of retention ("log_trimmed"), to inject a crash between steps.
  std::function<void(absl::string_view step)> step_hook_for_testing;

  [[nodiscard]] absl::Status Validate() const;
};

// Takes the database's lock (`<path>.lock`, holding this process's pid; released at Close),
// then opens (creating or migrating: PRAGMA user_version) the SQLite store at options.path,
// loads the last aggregate checkpoint and replays the batch log after it, then starts the
// writer thread that group-commits all pending commits in one transaction.
// Errors: InvalidArgument (options), Unavailable (cannot open / read), DataLoss (a stored
// blob is corrupt), FailedPrecondition (schema newer than this program, or another process
// holds the database: the message names the file and the holder's pid).
[[nodiscard]] absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(
    const SqliteStoreOptions& options);

}  // namespace synmap::collector
