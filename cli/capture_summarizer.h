#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cli/decode_thread.h"
#include "common/aggregate/capture_window.h"
#include "common/aggregate/merge.h"
#include "common/aggregate/record.h"
#include "common/aggregate/synack_table.h"
#include "common/packet/decoder.h"
#include "common/pcapfile/packet_reader.h"

namespace synmap::cli {

// What the offline summary read: for the footer (text) and "coverage" (json).
struct SummaryCoverage {
  struct File {
    std::string path;
    uint64_t packets = 0;
    bool complete = false;  // Read to its end without error.
  };
  std::vector<File> files;     // Every file opened, in order.
  uint64_t packets = 0;        // Packets read from all files.
  common::DecodeStats decode;  // Per decode result.
  common::SynAckTableStats table;
  // Packets of link types the decoder does not know, per link type, sorted by link type.
  std::vector<std::pair<int, uint64_t>> skipped_link_types;
};

// A time window for the offline summary, with the collector's semantics: the window
// [since_ns, until_ns) (0 = open) is widened to edges of `bucket_ns` buckets (aligned since the
// epoch, as the collector's buckets are), and the records of the SYN/ACKs captured in those
// buckets are counted. Every packet still passes through the table, so a retransmission just
// inside the window of a handshake seen before it is a retransmission, as on a sensor that
// captured the same traffic. With the collector's 1 min buckets and a flush interval dividing
// 60 s, the offline answer equals the collector's for the same capture.
struct SummaryWindow {
  int64_t since_ns = 0;
  int64_t until_ns = 0;
  int64_t bucket_ns = 60'000'000'000;

  // The window widened to bucket edges (0 stays open).
  SummaryWindow Answered() const;
};

// Reads capture files through DecodePacket into one SynAckTable. The SYN/ACKs of the files of
// one AddFiles call are counted in capture-time order across them (a merge by time, as
// mergecap does), so a handshake seen in two files counts once whatever order the files are
// given in and however they overlap in time (two capture points: one connection, a packet at
// each). By default a file is read and decoded on a thread of its own (DecodeThread) while the
// calling thread counts: the records and the coverage are the same as on one thread.
// Thread-compatible (the decoding threads live only inside AddFiles and never touch the table).
class CaptureSummarizer {
 public:
  // Called about every `kProgressPackets` packets with the coverage so far (for a progress
  // line), on the thread calling AddFiles.
  using ProgressFn = std::function<void(const SummaryCoverage&)>;
  static constexpr uint64_t kProgressPackets = uint64_t{1} << 18;
  // Where a file is read and decoded: on a second thread (kPipelined, the default: reading and
  // decoding are most of the counting, and the table's work overlaps with them) or on the one
  // calling AddFile.
  enum class Threading { kSingleThread, kPipelined };

  // With `window`, only the SYN/ACKs captured in its answered (bucket-widened) window count.
  // `decode_options` say whether tunnels are entered (by default they are).
  explicit CaptureSummarizer(const common::SynAckTableOptions& table_options,
                             const common::PacketReaderOptions& reader_options = {},
                             std::optional<SummaryWindow> window = std::nullopt,
                             const common::DecodeOptions& decode_options = {});

  // Reads every packet of `paths` ("-" = stdin, at most once), merged by capture time. A
  // regular file is opened when the merge reaches the time of its first packet (read once
  // before, to order them), so files that follow one another in time are read one or two at a
  // time; standard input and pipes are opened at the start. coverage().files lists the files in
  // the order they were opened. On a file that cannot be opened or is corrupt/truncated,
  // returns the reader's error (NotFound, InvalidArgument, DataLoss: the message names the file
  // and where) as soon as the merge reaches it; everything merged before stays counted.
  [[nodiscard]] absl::Status AddFiles(const std::vector<std::string>& paths,
                                      const ProgressFn& progress = nullptr);
  // AddFiles of one file.
  [[nodiscard]] absl::Status AddFile(absl::string_view path, const ProgressFn& progress = nullptr) {
    return AddFiles({std::string(path)}, progress);
  }
  // Applies to the files added after it.
  void set_threading(Threading threading) { threading_ = threading; }

  // The records counted (inside the window, if any), sorted by key. Ends the counting: the
  // table's memory is freed (coverage() keeps its stats), and AddFile after it returns
  // FailedPrecondition.
  std::vector<common::Record> TakeRecords();
  // As TakeRecords() (the counting ends the same way), but the records in no particular order, in
  // blocks the caller can free one by one as it reads them: without a window the table's blocks
  // (SynAckTable::TakeRecordBlocks(), no copy and no sort), with one the blocks of the window's
  // records combined by key. No block is empty.
  std::vector<std::vector<common::Record>> TakeRecordBlocks();
  // Coverage so far (table stats and skipped link types brought up to date).
  const SummaryCoverage& coverage();

 private:
  struct Input;  // One file being merged (capture_summarizer.cc).

  // With a window: closes the bucket being counted, keeping its records if inside the window.
  void CloseBucket(const common::CaptureWindow& bucket);
  // With a window: closes the open bucket (CloseBucket).
  void CloseLastBucket();
  // Once the records are out: ends the counting (see TakeRecords()).
  void EndCounting();
  // Opens `path` (a coverage file entry) with a decoding thread of its own unless
  // `decoding_threads` other files have one, and reads up to its first batch with SYN/ACKs; null
  // when it has none (`error` set if it failed).
  std::unique_ptr<Input> Open(const std::string& path, size_t decoding_threads,
                              const ProgressFn& progress, absl::Status& error);
  // Moves `input` to its next batch with SYN/ACKs, folding the counters of every batch read into
  // the coverage. False when the file has ended (its coverage entry then says whether
  // completely); `error` is then the reader's status.
  bool Advance(Input& input, const ProgressFn& progress, absl::Status& error);
  // Counts SYN/ACKs in capture order (with a window, bucket by bucket).
  void Count(absl::Span<const common::SynAckEvent> synacks);

  common::SynAckTable table_;
  common::SynAckTableOptions table_options_;
  bool taken_ = false;  // The records were taken.
  common::PacketReaderOptions reader_options_;
  common::DecodeOptions decode_options_;
  Threading threading_ = Threading::kPipelined;
  std::optional<SummaryWindow> window_;  // Answered (widened) window.
  std::optional<common::CaptureWindower> buckets_;
  // With a window: the records of closed buckets inside it, combined by key (a hash table:
  // keeping a bucket costs a lookup per record, not a merge of all kept so far).
  common::RecordMerger kept_;
  SummaryCoverage coverage_;
  absl::flat_hash_map<int, uint64_t> skipped_;
};

}  // namespace synmap::cli
