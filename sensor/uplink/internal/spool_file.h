#pragma once

// The on-disk form of one spooled batch, and durable file helpers.
//
// A spool file is a 36-byte little-endian header followed by a serialized synmap.v1.Batch:
//   magic "SMSP" | u32 version (1) | u64 seq | u64 covers_from_seq | u64 payload bytes |
//   u32 CRC-32 (zlib) of the first 32 header bytes and the payload.
// covers_from_seq is the lowest seq merged into this file (== seq unless merged): on
// recovery, files with seqs in [covers_from_seq, seq) are leftovers of that merge.
// Files are written as a temp file, fsynced, renamed into place, then the directory fsynced.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "synmap/v1/ingest.pb.h"

namespace synmap::sensor::internal {

inline constexpr size_t kSpoolHeaderBytes = 36;
inline constexpr uint32_t kSpoolFormatVersion = 1;

// A decoded spool file.
struct SpoolFile {
  uint64_t seq = 0;
  uint64_t covers_from_seq = 0;
  v1::Batch batch;
};

// "batch-<20-digit seq>.spool".
std::string SpoolFileName(uint64_t seq);
// The seq in a SpoolFileName, or 0 if `name` is not one.
uint64_t SeqFromSpoolFileName(absl::string_view name);

// Header + payload for `batch` (its seq is batch.seq()).
std::string EncodeSpoolFile(const v1::Batch& batch, uint64_t covers_from_seq);
// DataLoss naming the defect (magic, version, length, checksum, parse, seq mismatch).
[[nodiscard]] absl::StatusOr<SpoolFile> DecodeSpoolFile(absl::string_view bytes);

// Writes `contents` to dir/name via dir/.name.tmp + fsync + rename + fsync(dir).
// Errno-derived status naming the path on failure (the temp file is removed).
[[nodiscard]] absl::Status WriteFileDurably(const std::string& dir, const std::string& name,
                                            absl::string_view contents);
// The whole file. Errno-derived status naming the path.
[[nodiscard]] absl::StatusOr<std::string> ReadWholeFile(const std::string& path);
// fsync of a directory, making renames and unlinks in it durable.
[[nodiscard]] absl::Status FsyncDir(const std::string& dir);

}  // namespace synmap::sensor::internal
