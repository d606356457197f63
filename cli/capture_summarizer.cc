#include "cli/capture_summarizer.h"

#include <algorithm>

#include "common/status/status_macros.h"

namespace synmap::cli {

CaptureSummarizer::CaptureSummarizer(const common::SynAckTableOptions& table_options,
                                     const common::PacketReaderOptions& reader_options)
    : table_(table_options), reader_options_(reader_options) {}

absl::Status CaptureSummarizer::AddFile(absl::string_view path, const ProgressFn& progress) {
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<common::PacketReader> reader,
                          common::PacketReader::Open(path, reader_options_));
  coverage_.files.push_back({reader->path(), 0, false});
  common::PacketRef packet;
  common::SynAckEvent event;
  // The hot loop: no allocation, no virtual call; counters stay in locals.
  common::DecodeStats decode;
  uint64_t packets = 0;
  while (reader->Next(&packet)) {
    ++packets;
    const common::DecodeResult result =
        common::DecodePacket(packet.link_type, packet.data, packet.caplen, &event);
    decode.Count(result);
    if (result == common::DecodeResult::kSynAck) {
      event.timestamp_ns = packet.timestamp_ns;
      table_.Add(event);
    } else if (result == common::DecodeResult::kUnsupportedLinkType) {
      ++skipped_[packet.link_type];
    }
    if (packets == kProgressPackets && progress) {
      // Fold the local counters in and report.
      coverage_.packets += packets;
      coverage_.decode.MergeFrom(decode);
      coverage_.files.back().packets += packets;
      packets = 0;
      decode = common::DecodeStats();
      progress(coverage());
    }
  }
  coverage_.packets += packets;
  coverage_.decode.MergeFrom(decode);
  coverage_.files.back().packets += packets;
  coverage_.files.back().complete = reader->status().ok();
  return reader->status();
}

const SummaryCoverage& CaptureSummarizer::coverage() {
  coverage_.table = table_.stats();
  coverage_.skipped_link_types.assign(skipped_.begin(), skipped_.end());
  std::sort(coverage_.skipped_link_types.begin(), coverage_.skipped_link_types.end());
  return coverage_;
}

}  // namespace synmap::cli
