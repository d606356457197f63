#include "sensor/uplink/internal/spool.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "sensor/uplink/internal/batch_codec.h"
#include "sensor/uplink/internal/spool_file.h"

namespace synmap::sensor::internal {
namespace {

namespace fs = std::filesystem;

constexpr char kQuarantineDir[] = "quarantine";
// Journal of an interrupted RenumberAbove(): lines "<old seq> <new seq>".
constexpr char kRenumberJournal[] = "renumber";
// A merge is kept only if it saves at least this share of its parts' bytes.
constexpr uint64_t kMinMergeGainPercent = 25;

SpoolEntry EntryFor(const SpoolFile& file, uint64_t bytes) {
  SpoolEntry e;
  e.seq = file.seq;
  e.covers_from_seq = file.covers_from_seq;
  e.bytes = bytes;
  e.records = static_cast<uint64_t>(file.batch.records_size());
  e.merged_from = std::max<uint64_t>(1, file.batch.merged_from());
  return e;
}

absl::Status ErrorCodeToStatus(const std::error_code& ec, absl::string_view what) {
  return absl::ErrnoToStatus(ec.value(), what);
}

// The (old, new) pairs of a journal; nullopt if a line is garbled.
std::optional<std::vector<std::pair<uint64_t, uint64_t>>> ParseJournal(absl::string_view text) {
  std::vector<std::pair<uint64_t, uint64_t>> moves;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t from = 0;
    uint64_t to = 0;
    if (fields.size() != 2 || !absl::SimpleAtoi(fields[0], &from) ||
        !absl::SimpleAtoi(fields[1], &to) || from == 0 || to <= from) {
      return std::nullopt;
    }
    moves.emplace_back(from, to);
  }
  return moves;
}

absl::Status RemoveJournal(const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kRenumberJournal);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::ErrnoToStatus(errno, absl::StrCat("unlink ", path));
  }
  return FsyncDir(dir);
}

}  // namespace

absl::StatusOr<SpoolEntry> WriteSpoolBatch(const std::string& dir, const v1::Batch& batch) {
  const std::string contents = EncodeSpoolFile(batch, batch.seq());
  SYNMAP_RETURN_IF_ERROR(WriteFileDurably(dir, SpoolFileName(batch.seq()), contents));
  SpoolEntry e;
  e.seq = batch.seq();
  e.covers_from_seq = batch.seq();
  e.bytes = contents.size();
  e.records = static_cast<uint64_t>(batch.records_size());
  e.merged_from = std::max<uint64_t>(1, batch.merged_from());
  return e;
}

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(std::string dir) {
  std::error_code ec;
  fs::create_directories(fs::path(dir) / kQuarantineDir, ec);
  if (ec) {
    return ErrorCodeToStatus(ec, absl::StrCat("create spool dir ", dir));
  }
  // Before anything is read or written: two processes on one spool would take each other's
  // seqs and temp files (batches lost, and others sent twice).
  SYNMAP_ASSIGN_OR_RETURN(
      std::unique_ptr<common::LockFile> lock,
      common::LockFile::Acquire(dir, {.what = absl::StrCat("spool ", dir),
                                      .holder = "synmap-sensor",
                                      .other_choice = "give this one another --spool"}));
  auto spool = absl::WrapUnique(new Spool(std::move(dir), std::move(lock)));
  SYNMAP_RETURN_IF_ERROR(spool->Recover());
  return spool;
}

absl::Status Spool::Recover() {
  SYNMAP_RETURN_IF_ERROR(FinishRenumber());
  std::error_code ec;
  std::vector<std::pair<uint64_t, std::string>> files;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (absl::StartsWith(name, ".") && absl::EndsWith(name, ".tmp")) {
      fs::remove(it->path(), ec);  // An interrupted write: never renamed, never acknowledged.
      continue;
    }
    if (const uint64_t seq = SeqFromSpoolFileName(name); seq != 0) {
      files.emplace_back(seq, name);
      highest_seq_seen_ = std::max(highest_seq_seen_, seq);
    }
  }
  if (ec) {
    return ErrorCodeToStatus(ec, absl::StrCat("list spool dir ", dir_));
  }
  std::sort(files.begin(), files.end());
  for (const auto& [seq, name] : files) {
    absl::StatusOr<std::string> bytes = ReadWholeFile(PathOf(seq));
    if (!bytes.ok()) {
      return bytes.status();
    }
    absl::StatusOr<SpoolFile> file = DecodeSpoolFile(*bytes);
    if (file.ok() && file->seq != seq) {
      file = absl::DataLossError(absl::StrCat("header seq ", file->seq, " != file name"));
    }
    SpoolEntry entry;
    entry.seq = seq;
    entry.bytes = bytes->size();
    if (file.ok()) {
      entry = EntryFor(*file, bytes->size());
    }
    entry.sent = true;  // A previous process may have sent it: not mergeable before HelloAck.
    entries_[seq] = entry;
    bytes_ += entry.bytes;
    if (!file.ok()) {
      Quarantine(seq, file.status().message());
    }
  }
  RemoveMergeLeftovers();
  return absl::OkStatus();
}

absl::Status Spool::FinishRenumber() {
  const std::string path = absl::StrCat(dir_, "/", kRenumberJournal);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return absl::OkStatus();
  }
  SYNMAP_ASSIGN_OR_RETURN(const std::string text, ReadWholeFile(path));
  const auto moves = ParseJournal(text);
  if (!moves.has_value()) {
    // Written by rename, so only disk corruption garbles it; nothing better to do than keep
    // every file (a batch may then be sent twice under two seqs).
    SYNMAP_LOG(ERROR) << "uplink_spool_renumber_journal_garbled path=" << path;
    return RemoveJournal(dir_);
  }
  uint64_t finished = 0;
  for (const auto& [from, to] : *moves) {
    absl::StatusOr<uint64_t> moved = MoveBatch(from, to);
    if (moved.ok()) {
      ++finished;
    } else if (!absl::IsNotFound(moved.status()) && !absl::IsDataLoss(moved.status())) {
      return Annotate(moved.status(), "finish spool renumbering");
    }  // NotFound: moved before the crash. DataLoss: left for Recover() to quarantine.
  }
  SYNMAP_LOG(WARNING) << "uplink_spool_renumber_resumed batches=" << moves->size()
                      << " finished_now=" << finished;
  return RemoveJournal(dir_);
}

absl::StatusOr<uint64_t> Spool::MoveBatch(uint64_t from, uint64_t to) {
  SYNMAP_ASSIGN_OR_RETURN(const std::string bytes, ReadWholeFile(PathOf(from)));
  SYNMAP_ASSIGN_OR_RETURN(SpoolFile file, DecodeSpoolFile(bytes));
  if (file.seq != from) {
    return absl::DataLossError(absl::StrCat(SpoolFileName(from), ": header seq ", file.seq));
  }
  file.batch.set_seq(to);
  const std::string contents = EncodeSpoolFile(file.batch, to);
  // The new file is durable before the old one goes: a crash in between leaves both, and
  // the journal says which one to keep.
  SYNMAP_RETURN_IF_ERROR(WriteFileDurably(dir_, SpoolFileName(to), contents));
  if (::unlink(PathOf(from).c_str()) != 0 && errno != ENOENT) {
    const absl::Status status = absl::ErrnoToStatus(errno, absl::StrCat("unlink ", PathOf(from)));
    ::unlink(PathOf(to).c_str());  // Back to one copy, under the old seq.
    return status;
  }
  SYNMAP_RETURN_IF_ERROR(FsyncDir(dir_));
  return contents.size();
}

absl::Status Spool::RenumberAbove(uint64_t base) {
  SYNMAP_CHECK(base >= highest_seq_seen())
      << "renumbering to " << base + 1 << " would reuse seqs up to " << highest_seq_seen();
  std::vector<std::pair<uint64_t, uint64_t>> moves;
  uint64_t next = base;
  for (const auto& [seq, entry] : entries_) {
    moves.emplace_back(seq, ++next);
  }
  return ApplyMoves(moves);
}

absl::Status Spool::Renumber(uint64_t from, uint64_t to) {
  SYNMAP_CHECK(to > highest_seq_seen())
      << "renumbering to " << to << " would reuse seqs up to " << highest_seq_seen();
  if (entries_.count(from) == 0) {
    return absl::NotFoundError(absl::StrCat("spool seq ", from, " is not indexed"));
  }
  SYNMAP_RETURN_IF_ERROR(ApplyMoves({{from, to}}));
  if (entries_.count(to) == 0) {
    return absl::DataLossError(absl::StrCat("spool seq ", from, " was corrupt (quarantined)"));
  }
  return absl::OkStatus();
}

absl::Status Spool::ApplyMoves(const std::vector<std::pair<uint64_t, uint64_t>>& moves) {
  if (moves.empty()) {
    return absl::OkStatus();
  }
  std::string journal;
  for (const auto& [from, to] : moves) {
    absl::StrAppend(&journal, from, " ", to, "\n");
  }
  SYNMAP_RETURN_IF_ERROR(WriteFileDurably(dir_, kRenumberJournal, journal));
  for (const auto& [from, to] : moves) {
    absl::StatusOr<uint64_t> bytes = MoveBatch(from, to);
    if (absl::IsDataLoss(bytes.status())) {
      Quarantine(from, bytes.status().message());
      continue;
    }
    if (absl::IsNotFound(bytes.status())) {
      SYNMAP_LOG(ERROR) << "uplink_spool_file_vanished seq=" << from;
      Erase(from, /*unlink_file=*/false);
      continue;
    }
    if (!bytes.ok()) {
      return Annotate(bytes.status(), absl::StrCat("renumber spool seq ", from, " to ", to));
    }
    SpoolEntry entry = entries_.at(from);
    Erase(from, /*unlink_file=*/false);
    entry.seq = to;
    entry.covers_from_seq = to;
    entry.bytes = *bytes;
    entry.sent = false;
    entry.maybe_committed = false;  // A new seq, above anything a collector has seen.
    Add(entry);
  }
  return RemoveJournal(dir_);
}

void Spool::RemoveMergeLeftovers() {
  // A merged file replaces its parts: parts still present mean a crash mid-merge.
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    const SpoolEntry merged = it->second;
    auto part = entries_.lower_bound(merged.covers_from_seq);
    while (part != entries_.end() && part->first < merged.seq) {
      const uint64_t part_seq = (part++)->first;
      SYNMAP_LOG(WARNING) << "uplink_spool_merge_leftover_removed seq=" << part_seq
                          << " merged_into=" << merged.seq;
      Erase(part_seq, /*unlink_file=*/true);
    }
    it = std::make_reverse_iterator(entries_.upper_bound(merged.seq));
  }
}

std::string Spool::PathOf(uint64_t seq) const {
  return absl::StrCat(dir_, "/", SpoolFileName(seq));
}

void Spool::Add(const SpoolEntry& entry) {
  const bool inserted = entries_.insert({entry.seq, entry}).second;
  SYNMAP_CHECK(inserted) << "spool seq registered twice: " << entry.seq;
  bytes_ += entry.bytes;
}

absl::StatusOr<v1::Batch> Spool::Read(uint64_t seq) const {
  if (entries_.find(seq) == entries_.end()) {
    return absl::NotFoundError(absl::StrCat("spool seq ", seq, " not indexed"));
  }
  SYNMAP_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(PathOf(seq)));
  absl::StatusOr<SpoolFile> file = DecodeSpoolFile(bytes);
  if (!file.ok()) {
    return Annotate(file.status(), SpoolFileName(seq));
  }
  if (file->seq != seq) {
    return absl::DataLossError(absl::StrCat(SpoolFileName(seq), ": header seq ", file->seq));
  }
  return std::move(file->batch);
}

void Spool::Erase(uint64_t seq, bool unlink_file) {
  auto it = entries_.find(seq);
  if (it == entries_.end()) {
    return;
  }
  if (unlink_file && ::unlink(PathOf(seq).c_str()) != 0 && errno != ENOENT) {
    SYNMAP_LOG(ERROR) << "uplink_spool_unlink_failed seq=" << seq
                      << " status=" << absl::ErrnoToStatus(errno, "unlink");
  }
  bytes_ -= it->second.bytes;
  entries_.erase(it);
}

bool Spool::Remove(uint64_t seq) {
  if (entries_.find(seq) == entries_.end()) {
    return false;
  }
  Erase(seq, /*unlink_file=*/true);
  return true;
}

uint64_t Spool::RemoveThrough(uint64_t seq) {
  uint64_t removed = 0;
  while (!entries_.empty() && entries_.begin()->first <= seq) {
    Erase(entries_.begin()->first, /*unlink_file=*/true);
    ++removed;
  }
  return removed;
}

void Spool::Quarantine(uint64_t seq, absl::string_view reason) {
  if (entries_.find(seq) == entries_.end()) {
    return;
  }
  const std::string from = PathOf(seq);
  std::string to = absl::StrCat(dir_, "/", kQuarantineDir, "/", SpoolFileName(seq));
  std::error_code ec;
  for (int n = 1; fs::exists(to, ec); ++n) {  // Keep earlier evidence with the same seq.
    to = absl::StrCat(dir_, "/", kQuarantineDir, "/", SpoolFileName(seq), ".", n);
  }
  fs::rename(from, to, ec);
  if (ec) {
    SYNMAP_LOG(ERROR) << "uplink_spool_quarantine_move_failed seq=" << seq
                      << " error=" << ec.message() << " action=delete";
    fs::remove(from, ec);
  }
  SYNMAP_LOG(WARNING) << "uplink_spool_quarantined seq=" << seq << " reason=\"" << reason
                      << "\" file=" << to;
  ++counters_.batches_quarantined;
  Erase(seq, /*unlink_file=*/false);
}

void Spool::MarkSent(uint64_t seq) {
  if (auto it = entries_.find(seq); it != entries_.end()) {
    it->second.sent = true;
  }
}

void Spool::MarkAllUnsent(uint64_t committed_through) {
  for (auto& [seq, entry] : entries_) {
    entry.sent = false;
    entry.maybe_committed = entry.maybe_committed || seq <= committed_through;
  }
}

std::optional<uint64_t> Spool::NextUnsent() const {
  for (const auto& [seq, entry] : entries_) {
    if (!entry.sent) {
      return seq;
    }
  }
  return std::nullopt;
}

void Spool::EnforceCap(uint64_t max_bytes) {
  if (bytes_ <= max_bytes) {
    return;
  }
  MergeUnsent();
  while (bytes_ > max_bytes && !entries_.empty()) {
    DropOldest();
  }
}

void Spool::MergeUnsent() {
  std::vector<uint64_t> unsent;
  for (const auto& [seq, entry] : entries_) {
    if (!entry.sent && !entry.maybe_committed) {
      unsent.push_back(seq);
    }
  }
  size_t i = 0;
  while (i < unsent.size()) {
    // Greedy group: the merged key count can never exceed the sum of the parts' records.
    BatchMerger merger;
    std::vector<uint64_t> parts;
    uint64_t covers_from = unsent[i];
    for (; i < unsent.size(); ++i) {
      const SpoolEntry& entry = entries_.at(unsent[i]);
      if (!parts.empty() && merger.keys() + entry.records > kMaxRecordsPerBatch) {
        break;
      }
      absl::StatusOr<v1::Batch> batch = Read(unsent[i]);
      absl::Status added = batch.ok() ? merger.Add(*batch) : batch.status();
      if (!added.ok()) {
        Quarantine(unsent[i], added.message());
        continue;
      }
      covers_from = std::min(covers_from, entry.covers_from_seq);
      parts.push_back(unsent[i]);
    }
    if (parts.size() >= 2) {
      ReplaceByMerge(parts, merger.Result(), covers_from);
    }
  }
}

void Spool::ReplaceByMerge(const std::vector<uint64_t>& parts, const v1::Batch& merged,
                           uint64_t covers_from) {
  const std::string contents = EncodeSpoolFile(merged, covers_from);
  uint64_t parts_bytes = 0;
  for (const uint64_t seq : parts) {
    parts_bytes += entries_.at(seq).bytes;
  }
  if (contents.size() * 100 > parts_bytes * (100 - kMinMergeGainPercent)) {
    // Mostly disjoint keys: a merge would only make a bigger unit to drop later, losing
    // newer data with the old. Leave the parts to DropOldest().
    return;
  }
  // Renaming over the highest part is the commit point; the other parts become leftovers
  // that Recover() deletes if we crash before unlinking them here.
  const absl::Status written = WriteFileDurably(dir_, SpoolFileName(merged.seq()), contents);
  if (!written.ok()) {
    SYNMAP_LOG(ERROR) << "uplink_spool_merge_failed status=" << written;
    return;
  }
  for (const uint64_t seq : parts) {
    Erase(seq, /*unlink_file=*/seq != merged.seq());
  }
  SpoolEntry entry;
  entry.seq = merged.seq();
  entry.covers_from_seq = covers_from;
  entry.bytes = contents.size();
  entry.records = static_cast<uint64_t>(merged.records_size());
  entry.merged_from = std::max<uint32_t>(1, merged.merged_from());
  Add(entry);
  counters_.batches_merged += parts.size() - 1;
  SYNMAP_LOG(WARNING) << "uplink_spool_merged parts=" << parts.size() << " seq=" << entry.seq
                      << " bytes=" << entry.bytes << " spool_bytes=" << bytes_;
}

void Spool::DropOldest() {
  const SpoolEntry entry = entries_.begin()->second;
  Erase(entry.seq, /*unlink_file=*/true);
  counters_.batches_dropped += entry.merged_from;
  counters_.records_dropped += entry.records;
  SYNMAP_LOG(WARNING) << "uplink_spool_dropped seq=" << entry.seq
                      << " batches=" << entry.merged_from << " records=" << entry.records
                      << " spool_bytes=" << bytes_;
}

}  // namespace synmap::sensor::internal
