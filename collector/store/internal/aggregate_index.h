#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "collector/store/internal/overlap_index.h"
#include "collector/store/snapshot.h"
#include "collector/store/store.h"
#include "common/aggregate/record.h"
#include "common/packet/ip_address.h"

namespace synmap::collector::internal {

// One resolution tier: buckets of `width_ns` for data younger than `max_age_ns` (0 = no limit;
// only the last tier). Tiers go from fine to coarse; each width divides the next.
struct BucketTier {
  int64_t width_ns = 0;
  int64_t max_age_ns = 0;
};

// The bucket-aligned window an answer covers: edges widened to bucket edges, and the coarsest
// resolution of the buckets read (width, plus how far a batch filed in a bucket runs past its
// end when a batch straddled a bucket edge).
struct AnsweredWindow {
  int64_t since_ns = 0;  // 0 = open.
  int64_t until_ns = 0;  // 0 = open.
  int64_t resolution_ns = 0;
};

// The in-memory aggregates: per time bucket, one row per (sensor, client, server, port), in
// columnar AggregateBuckets shared with snapshots copy-on-write (a bucket or the address
// dictionary held by a snapshot is cloned before it is changed, so a snapshot never sees a
// change). Tracks which buckets changed since the last checkpoint.
//
// Buckets are tiered by age (default 1 min for 48 h, 1 h to 90 days, 1 day beyond): buckets
// never overlap, each is aligned to its width since the epoch, and every record of a batch
// goes to the one bucket holding the batch's start, so any window made of whole buckets is the
// exact sum of its parts. RollUp() merges aged fine buckets into their coarse bucket. Sums
// saturate at UINT64_MAX (counted in saturated()) instead of wrapping.
// Thread-compatible: the store serialises mutations and snapshot copies under its lock.
class AggregateIndex {
 public:
  // `tiers` must be valid (see SqliteStoreOptions::Validate), `overlap` too (Validate()).
  explicit AggregateIndex(std::vector<BucketTier> tiers, const OverlapOptions& overlap = {});

  // Floor of `t_ns` to a multiple of `width_ns` (also for negative times).
  static int64_t FloorTo(int64_t t_ns, int64_t width_ns);
  // Width of the bucket a batch starting at `t_ns` gets when the clock reads `now_ns`.
  int64_t TierWidth(int64_t t_ns, int64_t now_ns) const;
  int64_t finest_width() const { return tiers_.front().width_ns; }

  // Adds every record of `batch` (validated) under sensor index `sensor`, all into the bucket
  // holding the batch's start (an existing bucket holding it, else one of the tier width at
  // `now_ns`). A batch whose bucket ends at or before `cutoff_ns` is skipped (retention).
  // With overlap deduplication on, the batch's handshake fingerprints are matched against
  // other sensors' of the same `site` ("" = none; OverlapIndex; `sensor_name` orders equal
  // times) and every sighting that is not counted in merged answers adds one to its row's
  // `duplicates`. Returns the number of records applied.
  uint64_t ApplyBatch(uint32_t sensor, absl::string_view sensor_name, const common::Batch& batch,
                      int64_t cutoff_ns, int64_t now_ns, absl::string_view site = "");

  // Adds the fingerprints of `batch` to the overlap index without changing any bucket: for a
  // batch whose records are already in loaded checkpoint chunks (their duplicates included).
  void NoteSightings(uint32_t sensor, absl::string_view sensor_name, const common::Batch& batch,
                     absl::string_view site = "");

  // The overlap report of snapshots (empty when deduplication is off).
  std::vector<std::vector<OverlapPeer>> OverlapReport() const;
  bool overlap_enabled() const { return overlap_.has_value(); }
  int64_t overlap_tolerance_ns() const { return overlap_ ? overlap_->tolerance_ns() : 0; }
  uint64_t overlap_late() const { return overlap_ ? overlap_->late() : 0; }

  // Decodes one checkpoint chunk of bucket `start_ns` and adds its rows; format 3 carries its
  // bucket's width, each row's duplicates and a CRC-32 of its bytes; format 2 the same without
  // duplicates; format 1 (no checksum) has buckets of `legacy_width_ns`. Does not mark buckets
  // dirty. Errors: DataLoss when the chunk is malformed, fails its checksum or overlaps another
  // bucket.
  [[nodiscard]] absl::Status LoadChunk(int64_t start_ns, int64_t format, absl::string_view body,
                                       int64_t legacy_width_ns, uint32_t sensor_count);

  // The checkpoint manifest, stored with the chunks: the checkpoint's log_id and how many
  // chunks it wrote, with a CRC-32, so a corrupt log_id or a lost chunk is detected at load.
  // DecodeManifest: DataLoss when malformed or its checksum fails.
  static std::string EncodeManifest(int64_t log_id, int64_t chunks);
  [[nodiscard]] static absl::Status DecodeManifest(absl::string_view body, int64_t* log_id,
                                                   int64_t* chunks);

  // Encodes bucket `start_ns` as format-3 chunks of at most `rows_per_chunk` rows sorted by
  // key. Returns no chunks for an absent or empty bucket.
  std::vector<std::string> EncodeBucket(int64_t start_ns, size_t rows_per_chunk) const;

  // Merges every bucket finer than its tier at `now_ns` into the bucket of that tier. Merged
  // buckets and the result are marked dirty, so the next checkpoint replaces the fine chunks
  // with the coarse one in one transaction. Returns how many buckets were merged away.
  size_t RollUp(int64_t now_ns);

  // Removes buckets ending at or before `cutoff_ns`; returns how many were removed. Removed
  // buckets are marked dirty so the next checkpoint deletes them.
  size_t DropBucketsBefore(int64_t cutoff_ns);
  // Start of the earliest bucket, or `otherwise` when there is none.
  int64_t EarliestStart(int64_t otherwise) const {
    return buckets_.empty() ? otherwise : buckets_.begin()->first;
  }

  // Forgets every bucket and marks them dirty (before a rebuild from the log).
  void Clear();

  // Buckets changed (or dropped) since the last TakeDirty(), and forgets them.
  std::vector<int64_t> TakeDirty();
  // Marks buckets dirty again (after a failed checkpoint).
  void MarkDirty(const std::vector<int64_t>& starts) {
    dirty_.insert(starts.begin(), starts.end());
  }
  bool HasBucket(int64_t start_ns) const { return buckets_.contains(start_ns); }

  // The window [since_ns, until_ns) (0 = open) widened to the edges of the buckets holding its
  // edges (of the tier grid at `now_ns` where no bucket does), with the answer's resolution.
  AnsweredWindow Widen(int64_t since_ns, int64_t until_ns, int64_t now_ns) const;

  // Snapshot pieces: buckets overlapping [since_ns, until_ns) (0 = open), sorted by start.
  void CollectBuckets(int64_t since_ns, int64_t until_ns,
                      std::vector<std::shared_ptr<const AggregateBucket>>* out) const;
  std::shared_ptr<const std::vector<common::IpAddress>> ips() const { return ips_; }
  std::shared_ptr<const std::vector<AggregateKey>> keys() const { return keys_; }
  // Earliest bucket start and latest bucket end (0, 0 when empty).
  std::pair<int64_t, int64_t> StoredSpan() const;

  uint64_t rows() const { return rows_; }
  size_t bucket_count() const { return buckets_.size(); }
  // Sums that reached UINT64_MAX and stayed there instead of wrapping.
  uint64_t saturated() const { return saturated_; }

 private:
  uint32_t InternIp(const common::IpAddress& ip);
  uint32_t InternKey(const AggregateKey& key);
  // The bucket holding `t_ns`, or nullptr.
  const AggregateBucket* Holding(int64_t t_ns) const;
  // The bucket of [start_ns, start_ns + width_ns), created (merging finer buckets inside that
  // span) if absent; copied first if a snapshot holds it.
  AggregateBucket* MutableBucket(int64_t start_ns, int64_t width_ns);
  void AddKeyRow(AggregateBucket* bucket, uint32_t key, uint64_t packets, uint64_t connections,
                 uint64_t duplicates, int64_t first_ns, int64_t last_ns);
  // Matches the fingerprints of `batch` (records with `ids`) and applies what stops counting.
  void ApplySightings(uint32_t sensor, absl::string_view sensor_name, absl::string_view site,
                      const common::Batch& batch, absl::Span<const OverlapIndex::RecordIds> ids,
                      bool apply);
  // The overlap index's small id of `site` ("" = 0).
  uint16_t SiteId(absl::string_view site);
  // The ids of each record of `batch` under `sensor`, interning them (kSkipped for a record
  // with impossible addresses).
  std::vector<OverlapIndex::RecordIds> InternRecords(uint32_t sensor, const common::Batch& batch);
  void MergeInto(AggregateBucket* into, const AggregateBucket& from);
  uint64_t SaturatingAdd(uint64_t a, uint64_t b);
  // Forgets per-call caches; called at the start of every mutating call, because a snapshot
  // may have been taken since the last one.
  void BeginMutation();
  // Makes bucket `start_ns` the most recently changed one; the bucket that drops out of the
  // kHotBuckets most recent is settled.
  void NoteHot(int64_t start_ns);
  // Frees the key index of a bucket no longer being written, and, unless a snapshot holds it
  // (`unique` false), its columns' spare capacity: about 30 bytes a row.
  static void Settle(AggregateBucket* bucket, bool unique);
  // Rebuilds the key index of a settled bucket about to change.
  static void EnsureIndex(AggregateBucket* bucket);

  std::vector<BucketTier> tiers_;
  std::optional<OverlapIndex> overlap_;  // Set when deduplication is on.
  std::map<int64_t, std::shared_ptr<AggregateBucket>> buckets_;
  // Starts of the buckets changed most recently, latest first: only these keep their key index
  // (AggregateBucket::index) and room to grow. Batches go to the current buckets, so the others
  // are settled and rebuild their index only if a late batch or a roll-up changes them.
  static constexpr size_t kHotBuckets = 8;
  std::vector<int64_t> hot_;
  std::shared_ptr<std::vector<common::IpAddress>> ips_ =
      std::make_shared<std::vector<common::IpAddress>>();
  absl::flat_hash_map<common::IpAddress, uint32_t> ip_ids_;
  std::shared_ptr<std::vector<AggregateKey>> keys_ = std::make_shared<std::vector<AggregateKey>>();
  absl::flat_hash_map<AggregateKey, uint32_t> key_ids_;
  absl::flat_hash_set<int64_t> dirty_;
  absl::flat_hash_map<std::string, uint16_t> site_ids_;  // Site name -> id (1, 2, ...).
  uint64_t rows_ = 0;
  uint64_t saturated_ = 0;
  // Per-call caches.
  bool ips_unique_ = false;
  bool keys_unique_ = false;
  bool mark_dirty_ = true;
};

}  // namespace synmap::collector::internal
