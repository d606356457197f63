#include "sensor/uplink/internal/seq_counter.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "sensor/uplink/internal/spool_file.h"

namespace synmap::sensor::internal {

namespace {

constexpr char kSeqFileName[] = "seq";
constexpr char kUnconfirmedFileName[] = "seq-unconfirmed";

absl::Status SeqLimitError(uint64_t seq) {
  return absl::ResourceExhaustedError(
      absl::StrCat("batch seq would pass ", seq, ", at the limit 2^63-1 (", SeqCounter::kMaxSeq,
                   "); a collector reporting such seqs for this sensor was sent forged batches: "
                   "delete this sensor's history on the collector or give the sensor a new name"));
}

}  // namespace

absl::StatusOr<SeqCounter> SeqCounter::Open(std::string dir, uint64_t floor) {
  const std::string path = absl::StrCat(dir, "/", kSeqFileName);
  uint64_t stored = 0;
  std::error_code ec;
  const bool seq_file_exists = std::filesystem::exists(path, ec);
  bool fresh = std::filesystem::exists(absl::StrCat(dir, "/", kUnconfirmedFileName), ec);
  if (!fresh && !seq_file_exists && floor == 0) {
    // Marked before any seq is written, so a crash cannot leave a fresh counter looking
    // restored.
    SYNMAP_RETURN_IF_ERROR(WriteFileDurably(dir, kUnconfirmedFileName, "\n"));
    fresh = true;
  }
  if (seq_file_exists) {
    SYNMAP_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &stored)) {
      SYNMAP_LOG(ERROR) << "uplink_seq_file_garbled path=" << path << " action=derive_from_spool";
      stored = 0;
    }
  }
  return SeqCounter(std::move(dir), std::max(stored, floor), fresh);
}

absl::Status SeqCounter::ConfirmHistory() {
  if (!fresh_) {
    return absl::OkStatus();
  }
  const std::string path = absl::StrCat(dir_, "/", kUnconfirmedFileName);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::ErrnoToStatus(errno, absl::StrCat("unlink ", path));
  }
  SYNMAP_RETURN_IF_ERROR(FsyncDir(dir_));
  fresh_ = false;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> SeqCounter::Next() {
  if (last_ >= kMaxSeq) {
    return SeqLimitError(last_);
  }
  const uint64_t next = last_ + 1;
  SYNMAP_RETURN_IF_ERROR(WriteFileDurably(dir_, kSeqFileName, absl::StrCat(next, "\n")));
  last_ = next;
  return next;
}

absl::Status SeqCounter::AdvancePast(uint64_t seq) {
  if (seq <= last_) {
    return absl::OkStatus();
  }
  if (seq >= kMaxSeq) {
    return SeqLimitError(seq);
  }
  SYNMAP_RETURN_IF_ERROR(WriteFileDurably(dir_, kSeqFileName, absl::StrCat(seq, "\n")));
  last_ = seq;
  return absl::OkStatus();
}

}  // namespace synmap::sensor::internal
