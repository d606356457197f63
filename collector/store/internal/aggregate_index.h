#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "collector/store/snapshot.h"
#include "common/packet/ip_address.h"
#include "synmap/v1/ingest.pb.h"

namespace synmap::collector::internal {

// The in-memory aggregates: per time bucket, one row per (sensor, client, server, port), in
// columnar AggregateBuckets shared with snapshots copy-on-write (a bucket or the address
// dictionary held by a snapshot is cloned before it is changed, so a snapshot never sees a
// change). Tracks which buckets changed since the last checkpoint.
// Thread-compatible: the store serialises mutations and snapshot copies under its lock.
class AggregateIndex {
 public:
  explicit AggregateIndex(int64_t bucket_ns) : bucket_ns_(bucket_ns) {}

  int64_t bucket_ns() const { return bucket_ns_; }
  // Start of the bucket holding time `t_ns` (floor, also for negative times).
  int64_t BucketStart(int64_t t_ns) const;

  // Adds every record of `batch` (validated) under sensor index `sensor`, bucketed by each
  // record's first_seen. Records in buckets ending at or before `cutoff_ns` are skipped
  // (retention). Returns the number of records applied.
  uint64_t ApplyBatch(uint32_t sensor, const synmap::v1::Batch& batch, int64_t cutoff_ns);

  // Decodes one checkpoint chunk (EncodeBucket output) and adds its rows. Does not mark
  // buckets dirty. Errors: DataLoss when the chunk is malformed.
  [[nodiscard]] absl::Status LoadChunk(absl::string_view body, uint32_t sensor_count);

  // Encodes bucket `start_ns` as chunks of at most `rows_per_chunk` rows sorted by key.
  // Returns no chunks for an absent or empty bucket.
  std::vector<std::string> EncodeBucket(int64_t start_ns, size_t rows_per_chunk) const;

  // Removes buckets ending at or before `cutoff_ns`; returns how many were removed. Removed
  // buckets are marked dirty so the next checkpoint deletes them.
  size_t DropBucketsBefore(int64_t cutoff_ns);

  // Buckets changed (or dropped) since the last TakeDirty(), and forgets them.
  std::vector<int64_t> TakeDirty();
  // Marks buckets dirty again (after a failed checkpoint).
  void MarkDirty(const std::vector<int64_t>& starts) {
    dirty_.insert(starts.begin(), starts.end());
  }
  bool HasBucket(int64_t start_ns) const { return buckets_.contains(start_ns); }

  // Snapshot pieces: buckets overlapping [since_ns, until_ns) (0 = open), sorted by start.
  void CollectBuckets(int64_t since_ns, int64_t until_ns,
                      std::vector<std::shared_ptr<const AggregateBucket>>* out) const;
  std::shared_ptr<const std::vector<common::IpAddress>> ips() const { return ips_; }
  std::shared_ptr<const std::vector<AggregateKey>> keys() const { return keys_; }
  // Earliest bucket start and latest bucket end (0, 0 when empty).
  std::pair<int64_t, int64_t> StoredSpan() const;

  uint64_t rows() const { return rows_; }
  size_t bucket_count() const { return buckets_.size(); }

 private:
  uint32_t InternIp(const common::IpAddress& ip);
  uint32_t InternKey(const AggregateKey& key);
  AggregateBucket* MutableBucket(int64_t start_ns);
  void AddRow(uint32_t sensor, const common::IpAddress& client, const common::IpAddress& server,
              uint16_t port, uint64_t packets, uint64_t connections, int64_t first_ns,
              int64_t last_ns);
  void AddKeyRow(AggregateBucket* bucket, uint32_t key, uint64_t packets, uint64_t connections,
                 int64_t first_ns, int64_t last_ns);
  // Forgets per-call caches; called at the start of every mutating call, because a snapshot
  // may have been taken since the last one.
  void BeginMutation();

  int64_t bucket_ns_;
  std::map<int64_t, std::shared_ptr<AggregateBucket>> buckets_;
  std::shared_ptr<std::vector<common::IpAddress>> ips_ =
      std::make_shared<std::vector<common::IpAddress>>();
  absl::flat_hash_map<common::IpAddress, uint32_t> ip_ids_;
  std::shared_ptr<std::vector<AggregateKey>> keys_ = std::make_shared<std::vector<AggregateKey>>();
  absl::flat_hash_map<AggregateKey, uint32_t> key_ids_;
  absl::flat_hash_set<int64_t> dirty_;
  uint64_t rows_ = 0;
  // Per-call caches.
  bool ips_unique_ = false;
  bool keys_unique_ = false;
  int64_t cached_start_ = 0;
  AggregateBucket* cached_bucket_ = nullptr;
  bool mark_dirty_ = true;
};

}  // namespace synmap::collector::internal
