#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/lockfile/lock_file.h"
#include "synmap/v1/ingest.pb.h"

namespace synmap::sensor::internal {

// What the spool knows of one file without reading it.
struct SpoolEntry {
  uint64_t seq = 0;
  uint64_t covers_from_seq = 0;  // Lowest seq merged into it (== seq unless merged).
  uint64_t bytes = 0;            // File size.
  uint64_t records = 0;
  uint64_t merged_from = 1;  // Original batches it holds.
  // Written to a stream since the last HelloAck (or recovered from disk, which a previous
  // process may have sent): it may be committed already, so it is never merged.
  bool sent = false;
  // Its seq is at or below a collector's highest committed seq: it may be committed already
  // (an ack lost, a spool restored from a backup), with this content or another. It is sent
  // again so the collector says which (duplicate: deleted; conflict: renumbered), and is never
  // merged meanwhile.
  bool maybe_committed = false;

  friend bool operator==(const SpoolEntry&, const SpoolEntry&) = default;
};

// Totals since Open().
struct SpoolCounters {
  uint64_t batches_merged = 0;       // Files eliminated by merging (n parts -> n - 1).
  uint64_t batches_dropped = 0;      // Original batches dropped at the cap (sum of merged_from).
  uint64_t records_dropped = 0;      // Records in the dropped files.
  uint64_t batches_quarantined = 0;  // Files moved to quarantine/.

  friend bool operator==(const SpoolCounters&, const SpoolCounters&) = default;
};

// Writes `batch` durably as dir/batch-<seq>.spool (seq = batch.seq()) and returns its entry
// (sent = false). Thread-safe for distinct seqs. Errno-derived status on failure.
[[nodiscard]] absl::StatusOr<SpoolEntry> WriteSpoolBatch(const std::string& dir,
                                                         const v1::Batch& batch);

// The index of a spool directory: batch files not yet acked, in seq order, plus the cap
// policy (merge batches never sent since the last HelloAck, then drop the oldest).
// Thread-compatible: owned by the uplink thread. Never fails on a bad file: it is moved to
// dir/quarantine/, logged and counted.
class Spool {
 public:
  // Creates dir and dir/quarantine if missing, locks dir (common::LockFile: FailedPrecondition
  // naming the other process's pid while one holds it: one sensor per spool), removes temp files,
  // finishes a renumbering interrupted by a crash (see RenumberAbove), quarantines corrupt files,
  // deletes parts left by a merge interrupted by a crash, and indexes the rest (all marked sent).
  // Errno-derived status if the directory cannot be used.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Spool>> Open(std::string dir);

  const std::string& dir() const { return dir_; }
  // Registers a file written by WriteSpoolBatch.
  void Add(const SpoolEntry& entry);
  // Reads and verifies a file. DataLoss if corrupt (the caller quarantines it), NotFound if
  // `seq` is not indexed, errno-derived status if unreadable.
  [[nodiscard]] absl::StatusOr<v1::Batch> Read(uint64_t seq) const;
  // Deletes an acked file; no-op if `seq` is not indexed. Returns whether it was.
  bool Remove(uint64_t seq);
  // Deletes every file with seq <= `seq`; returns how many. Only for files known to be
  // committed with their content (the uplink never assumes that from a seq alone).
  uint64_t RemoveThrough(uint64_t seq);
  // Gives every indexed file, in seq order, a new seq: base + 1, base + 2, ... (for batches
  // of a fresh spool that a collector's older history would take for committed). base must
  // be >= highest_seq_seen(), and the caller must have moved the seq counter past
  // base + entries().size() first. Crash-safe: the (old, new) pairs are written durably to
  // dir/renumber first; then each batch is rewritten under its new seq (temp, fsync, rename,
  // fsync dir) before its old file is unlinked (fsync dir); the journal goes last. Open()
  // rolls an interrupted journal forward, so a crash loses or duplicates nothing.
  // Unreadable files are quarantined. Errno-derived status on a write failure (the journal
  // is then left for the next Open()).
  [[nodiscard]] absl::Status RenumberAbove(uint64_t base);
  // Gives the file `from` the new seq `to` (a collector answered CONFLICT for it), journaled
  // like RenumberAbove. `to` must exceed highest_seq_seen(), and the caller must have moved
  // the seq counter to `to` first. NotFound if `from` is not indexed; a corrupt file is
  // quarantined (DataLoss); errno-derived status on a write failure (journal left for Open()).
  [[nodiscard]] absl::Status Renumber(uint64_t from, uint64_t to);
  // Moves a file to quarantine/ and counts it; `reason` goes to the log.
  void Quarantine(uint64_t seq, absl::string_view reason);

  void MarkSent(uint64_t seq);
  // Marks every file unsent (a new stream: send them all again); those with seq <=
  // `committed_through` (the collector's highest committed seq) become maybe_committed.
  void MarkAllUnsent(uint64_t committed_through = 0);
  // Lowest seq not marked sent.
  std::optional<uint64_t> NextUnsent() const;

  // If bytes() > max_bytes: merges the unsent files not maybe_committed (groups of at most
  // kMaxRecordsPerBatch keys, each taking the highest seq of its parts; a group whose merge would
  // save less than 25% of its bytes, i.e. mostly disjoint keys, is left alone), then drops the
  // oldest files until bytes() <= max_bytes.
  void EnforceCap(uint64_t max_bytes);

  const std::map<uint64_t, SpoolEntry>& entries() const { return entries_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t highest_seq() const { return entries_.empty() ? 0 : entries_.rbegin()->first; }
  // The highest seq of any batch file seen since Open(), quarantined or deleted ones
  // included: a seq once on disk may have reached the collector, so it is never reused.
  uint64_t highest_seq_seen() const { return std::max(highest_seq_seen_, highest_seq()); }
  const SpoolCounters& counters() const { return counters_; }

 private:
  Spool(std::string dir, std::unique_ptr<common::LockFile> lock)
      : dir_(std::move(dir)), lock_(std::move(lock)) {}
  [[nodiscard]] absl::Status Recover();
  // Completes the renumbering recorded in dir/renumber, if any, then removes the journal.
  [[nodiscard]] absl::Status FinishRenumber();
  // Rewrites file `from` as `to` and unlinks `from`; returns the new file's size. NotFound
  // if `from` is gone (already moved), DataLoss if it is corrupt.
  [[nodiscard]] absl::StatusOr<uint64_t> MoveBatch(uint64_t from, uint64_t to);
  // Journals `moves` (old, new seq), moves each file and re-indexes it unsent, then removes
  // the journal. See RenumberAbove.
  [[nodiscard]] absl::Status ApplyMoves(const std::vector<std::pair<uint64_t, uint64_t>>& moves);
  // A merged file replaces its parts: parts still present mean a crash mid-merge.
  void RemoveMergeLeftovers();
  void Erase(uint64_t seq, bool unlink_file);
  void MergeUnsent();
  // Writes `merged` (of `parts`, ascending) over the highest part and deletes the others,
  // unless that saves too little.
  void ReplaceByMerge(const std::vector<uint64_t>& parts, const v1::Batch& merged,
                      uint64_t covers_from);
  void DropOldest();
  std::string PathOf(uint64_t seq) const;

  std::string dir_;
  std::unique_ptr<common::LockFile> lock_;  // On dir, held while this index owns the spool.
  std::map<uint64_t, SpoolEntry> entries_;
  uint64_t bytes_ = 0;
  uint64_t highest_seq_seen_ = 0;
  SpoolCounters counters_;
};

}  // namespace synmap::sensor::internal
