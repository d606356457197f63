#include "cli/capture_summarizer.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/aggregate/merge.h"
#include "common/status/status_macros.h"

namespace synmap::cli {
namespace {

int64_t FloorTo(int64_t t, int64_t width) {
  int64_t q = t / width;
  if (t % width < 0) {
    --q;
  }
  return q * width;
}

}  // namespace

SummaryWindow SummaryWindow::Answered() const {
  SummaryWindow out = *this;
  if (since_ns != 0) {
    out.since_ns = FloorTo(since_ns, bucket_ns);
  }
  if (until_ns != 0) {
    out.until_ns = FloorTo(until_ns - 1, bucket_ns) + bucket_ns;
  }
  return out;
}

CaptureSummarizer::CaptureSummarizer(const common::SynAckTableOptions& table_options,
                                     const common::PacketReaderOptions& reader_options,
                                     std::optional<SummaryWindow> window,
                                     const common::DecodeOptions& decode_options)
    : table_(table_options),
      table_options_(table_options),
      reader_options_(reader_options),
      decode_options_(decode_options) {
  if (window.has_value()) {
    window_ = window->Answered();
    buckets_.emplace(absl::Nanoseconds(window_->bucket_ns));
  }
}

void CaptureSummarizer::CloseBucket(const common::CaptureWindow& bucket) {
  std::vector<common::Record> records = table_.TakeRecords();
  if ((window_->since_ns == 0 || bucket.start_ns >= window_->since_ns) &&
      (window_->until_ns == 0 || bucket.start_ns < window_->until_ns)) {
    kept_ = common::MergeRecords(kept_, records);
  }
}

std::vector<common::Record> CaptureSummarizer::TakeRecords() {
  std::vector<common::Record> records;
  if (!window_.has_value()) {
    records = table_.TakeRecords(threading_ == Threading::kPipelined ? common::SortThreads::kTwo
                                                                     : common::SortThreads::kOne);
  } else {
    if (std::optional<common::CaptureWindow> open = buckets_->Close()) {
      CloseBucket(*open);
    }
    records = std::move(kept_);
  }
  // The counting is over: the key index and the handshake memory (about 50 B a key on big
  // captures) are freed before the rows are made from the records; the stats stay.
  coverage();
  taken_ = true;
  table_ = common::SynAckTable(table_options_);
  return records;
}

absl::Status CaptureSummarizer::AddFile(absl::string_view path, const ProgressFn& progress) {
  if (taken_) {
    return absl::FailedPreconditionError(
        absl::StrCat("add capture file ", path, ": the records were already taken"));
  }
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<common::PacketReader> reader,
                          common::PacketReader::Open(path, reader_options_));
  coverage_.files.push_back({reader->path(), 0, false});
  if (threading_ == Threading::kPipelined) {
    DecodeThread decoder(*reader, decode_options_, kProgressPackets);
    while (const DecodedBatch* batch = decoder.Next()) {
      Count(*batch, progress);
    }
  } else {
    DecodedBatch batch;
    bool more = true;
    while (more) {
      more = DecodeBatch(*reader, decode_options_, kProgressPackets, batch);
      Count(batch, progress);
    }
  }
  coverage_.files.back().complete = reader->status().ok();
  return reader->status();
}

void CaptureSummarizer::Count(const DecodedBatch& batch, const ProgressFn& progress) {
  if (buckets_.has_value()) {
    // Per bucket, as a sensor's flush windows: a SYN/ACK counts in the bucket it was captured
    // in (slightly out-of-order ones stay in the open bucket, as on a sensor), so a bucket may
    // close between two of them.
    for (const common::SynAckEvent& event : batch.synacks()) {
      if (std::optional<common::CaptureWindow> closed = buckets_->Advance(event.timestamp_ns)) {
        CloseBucket(*closed);
      }
      table_.Add(event);
    }
  } else {
    // AddBatch's prefetching hides most of the table's cache misses.
    table_.AddBatch(batch.synacks());
  }
  coverage_.packets += batch.packets;
  coverage_.decode.MergeFrom(batch.decode);
  coverage_.files.back().packets += batch.packets;
  for (const auto& [link_type, packets] : batch.skipped_link_types) {
    skipped_[link_type] += packets;
  }
  if (batch.progress_point && progress) {
    progress(coverage());
  }
}

const SummaryCoverage& CaptureSummarizer::coverage() {
  if (!taken_) {
    coverage_.table = table_.stats();
  }
  coverage_.skipped_link_types.assign(skipped_.begin(), skipped_.end());
  std::sort(coverage_.skipped_link_types.begin(), coverage_.skipped_link_types.end());
  return coverage_;
}

}  // namespace synmap::cli
