#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
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

// Reads capture files in order through DecodePacket into one SynAckTable (so a handshake
// seen in two files counts once). Thread-compatible.
class CaptureSummarizer {
 public:
  // Called every `kProgressPackets` packets with the coverage so far (for a progress line).
  using ProgressFn = std::function<void(const SummaryCoverage&)>;
  static constexpr uint64_t kProgressPackets = uint64_t{1} << 18;

  explicit CaptureSummarizer(const common::SynAckTableOptions& table_options,
                             const common::PacketReaderOptions& reader_options = {});

  // Reads every packet of `path` ("-" = stdin). On a file that cannot be opened or is
  // corrupt/truncated, returns the reader's error (NotFound, InvalidArgument, DataLoss: the
  // message names the file and where); everything read before it stays counted.
  [[nodiscard]] absl::Status AddFile(absl::string_view path, const ProgressFn& progress = nullptr);

  // The records counted so far, sorted by key.
  std::vector<common::Record> TakeRecords() { return table_.TakeRecords(); }
  // Coverage so far (table stats and skipped link types brought up to date).
  const SummaryCoverage& coverage();

 private:
  common::SynAckTable table_;
  common::PacketReaderOptions reader_options_;
  SummaryCoverage coverage_;
  absl::flat_hash_map<int, uint64_t> skipped_;
};

}  // namespace synmap::cli
