#include "cli/capture_summarizer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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
  // Unsorted: the kept records are combined by key in a hash table, not merged as lists.
  const std::vector<std::vector<common::Record>> blocks = table_.TakeRecordBlocks();
  if ((window_->since_ns == 0 || bucket.start_ns >= window_->since_ns) &&
      (window_->until_ns == 0 || bucket.start_ns < window_->until_ns)) {
    for (const std::vector<common::Record>& block : blocks) {
      kept_.Add(block);
    }
  }
}

void CaptureSummarizer::CloseLastBucket() {
  if (std::optional<common::CaptureWindow> open = buckets_->Close()) {
    CloseBucket(*open);
  }
}

void CaptureSummarizer::EndCounting() {
  // The counting is over: the key index and the handshake memory (about 50 B a key on big
  // captures) are freed before the rows are made from the records; the stats stay.
  coverage();
  taken_ = true;
  table_ = common::SynAckTable(table_options_);
}

std::vector<common::Record> CaptureSummarizer::TakeRecords() {
  const bool two_threads = threading_ == Threading::kPipelined;
  std::vector<common::Record> records;
  if (window_.has_value()) {
    CloseLastBucket();
    records = kept_.TakeSorted(two_threads);
  } else {
    records =
        table_.TakeRecords(two_threads ? common::SortThreads::kTwo : common::SortThreads::kOne);
  }
  EndCounting();
  return records;
}

std::vector<std::vector<common::Record>> CaptureSummarizer::TakeRecordBlocks() {
  std::vector<std::vector<common::Record>> blocks;
  if (window_.has_value()) {
    CloseLastBucket();
    blocks = kept_.TakeBlocks();
  } else {
    blocks = table_.TakeRecordBlocks();
  }
  EndCounting();
  return blocks;
}

// One file being merged: its reader, its decoding (on a thread of its own, or on the calling
// thread into `own`) and the batch whose SYN/ACKs are being counted.
struct CaptureSummarizer::Input {
  size_t file = 0;  // Its coverage_.files entry.
  // Declared before `thread`, which borrows it: destroyed after it.
  std::unique_ptr<common::PacketReader> reader;
  std::unique_ptr<DecodeThread> thread;
  DecodedBatch own;
  bool more = true;  // Without a thread: the reader has not stopped.
  const DecodedBatch* batch = nullptr;
  size_t next = 0;  // The batch's next SYN/ACK to count.

  int64_t head() const { return batch->synack_slots[next].timestamp_ns; }
};

namespace {

// Decoding threads at most at once (each reads ahead 6 MiB): files overlapping in time beyond
// that are decoded on the calling thread.
constexpr size_t kMaxDecodingThreads = 4;

bool IsRegularFile(const std::string& path) {
  struct stat st {};
  return path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The capture time of the first packet of `path`, or INT64_MAX when it has none or cannot be
// read (it is then opened last, and its error reported there).
int64_t FirstPacketTime(const std::string& path, const common::PacketReaderOptions& options) {
  absl::StatusOr<std::unique_ptr<common::PacketReader>> reader =
      common::PacketReader::Open(path, options);
  common::PacketRef packet;
  if (!reader.ok() || !(*reader)->Next(&packet)) {
    return std::numeric_limits<int64_t>::max();
  }
  return packet.timestamp_ns;
}

}  // namespace

absl::Status CaptureSummarizer::AddFiles(const std::vector<std::string>& paths,
                                         const ProgressFn& progress) {
  if (taken_) {
    return absl::FailedPreconditionError("add capture files: the records were already taken");
  }
  // Regular files wait, in the order of their first packets' times (stable: the order given on
  // a tie), until the merge reaches that time; the others are opened now.
  struct Waiting {
    int64_t first_ns;
    std::string path;
  };
  std::vector<Waiting> waiting;
  std::vector<std::unique_ptr<Input>> open;
  absl::Status error;
  // Opens `path` among the open files (not when it has no SYN/ACKs); `error` says if it failed.
  auto open_file = [&](const std::string& path) {
    size_t threads = 0;
    for (const std::unique_ptr<Input>& input : open) {
      threads += input->thread != nullptr ? 1 : 0;
    }
    if (std::unique_ptr<Input> input = Open(path, threads, progress, error)) {
      open.push_back(std::move(input));
    }
  };
  for (const std::string& path : paths) {
    if (paths.size() > 1 && IsRegularFile(path)) {
      waiting.push_back({FirstPacketTime(path, reader_options_), path});
      continue;
    }
    open_file(path);
    SYNMAP_RETURN_IF_ERROR(error);
  }
  std::stable_sort(waiting.begin(), waiting.end(),
                   [](const Waiting& a, const Waiting& b) { return a.first_ns < b.first_ns; });
  size_t next_waiting = 0;
  for (;;) {
    // The file holding the earliest SYN/ACK not counted yet, and the next-earliest elsewhere.
    constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
    size_t earliest = open.size();
    int64_t head = kNever;
    int64_t others = kNever;
    for (size_t i = 0; i < open.size(); ++i) {
      const int64_t t = open[i]->head();
      if (earliest == open.size() || t < head) {
        others = std::min(others, head);
        earliest = i;
        head = t;
      } else {
        others = std::min(others, t);
      }
    }
    const int64_t next_file =
        next_waiting < waiting.size() ? waiting[next_waiting].first_ns : kNever;
    if (next_waiting < waiting.size() && (open.empty() || next_file <= head)) {
      open_file(waiting[next_waiting++].path);
      SYNMAP_RETURN_IF_ERROR(error);
      continue;
    }
    if (open.empty()) {
      return absl::OkStatus();
    }
    // Count the earliest file's SYN/ACKs up to the others' (a tie goes to this one) and before
    // the next file's first packet: all of its batch when it is the only file open.
    Input& input = *open[earliest];
    const common::SynAckEvent* slots = input.batch->synack_slots.data();
    size_t end = input.next + 1;
    while (end < input.batch->synack_count && slots[end].timestamp_ns <= others &&
           slots[end].timestamp_ns < next_file) {
      ++end;
    }
    Count(absl::MakeConstSpan(slots + input.next, end - input.next));
    input.next = end;
    if (input.next == input.batch->synack_count && !Advance(input, progress, error)) {
      SYNMAP_RETURN_IF_ERROR(error);
      open.erase(open.begin() + static_cast<std::ptrdiff_t>(earliest));
    }
  }
}

std::unique_ptr<CaptureSummarizer::Input> CaptureSummarizer::Open(const std::string& path,
                                                                  size_t decoding_threads,
                                                                  const ProgressFn& progress,
                                                                  absl::Status& error) {
  absl::StatusOr<std::unique_ptr<common::PacketReader>> reader =
      common::PacketReader::Open(path, reader_options_);
  if (!reader.ok()) {
    error = reader.status();
    return nullptr;
  }
  auto input = std::make_unique<Input>();
  input->file = coverage_.files.size();
  coverage_.files.push_back({(*reader)->path(), 0, false});
  input->reader = *std::move(reader);
  if (threading_ == Threading::kPipelined && decoding_threads < kMaxDecodingThreads) {
    input->thread =
        std::make_unique<DecodeThread>(*input->reader, decode_options_, kProgressPackets);
  }
  if (!Advance(*input, progress, error)) {
    return nullptr;
  }
  return input;
}

bool CaptureSummarizer::Advance(Input& input, const ProgressFn& progress, absl::Status& error) {
  for (;;) {
    const DecodedBatch* batch = nullptr;
    if (input.thread != nullptr) {
      batch = input.thread->Next();
    } else if (input.more) {
      input.more = DecodeBatch(*input.reader, decode_options_, kProgressPackets, input.own);
      batch = &input.own;
    }
    if (batch == nullptr) {
      input.batch = nullptr;
      coverage_.files[input.file].complete = input.reader->status().ok();
      error = input.reader->status();
      return false;
    }
    coverage_.packets += batch->packets;
    coverage_.decode.MergeFrom(batch->decode);
    coverage_.files[input.file].packets += batch->packets;
    for (const auto& [link_type, packets] : batch->skipped_link_types) {
      skipped_[link_type] += packets;
    }
    if (batch->progress_point && progress) {
      progress(coverage());
    }
    if (batch->synack_count > 0) {
      input.batch = batch;
      input.next = 0;
      return true;
    }
  }
}

void CaptureSummarizer::Count(absl::Span<const common::SynAckEvent> synacks) {
  if (buckets_.has_value()) {
    // Per bucket, as a sensor's flush windows: a SYN/ACK counts in the bucket it was captured
    // in (slightly out-of-order ones stay in the open bucket, as on a sensor), so a bucket may
    // close between two of them.
    for (const common::SynAckEvent& event : synacks) {
      if (std::optional<common::CaptureWindow> closed = buckets_->Advance(event.timestamp_ns)) {
        CloseBucket(*closed);
      }
      table_.Add(event);
    }
  } else {
    // AddBatch's prefetching hides most of the table's cache misses.
    table_.AddBatch(synacks);
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
