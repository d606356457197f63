#include "cli/capture_summarizer.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/capture_gen.h"
#include "common/aggregate/record.h"
#include "gtest/gtest.h"
#include "tests/testing/packet_builder.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap::cli {
namespace {

using testing::StatusIs;
using testing::TempDir;
using Threading = CaptureSummarizer::Threading;

constexpr int64_t kMinute = 60'000'000'000;

// What one counting gave: the records, the coverage and what each progress call saw.
struct Counted {
  absl::Status status;
  std::vector<common::Record> records;
  SummaryCoverage coverage;
  std::vector<SummaryCoverage> progress;
};

bool SameCoverage(const SummaryCoverage& a, const SummaryCoverage& b) {
  if (a.files.size() != b.files.size()) {
    return false;
  }
  for (size_t i = 0; i < a.files.size(); ++i) {
    if (a.files[i].path != b.files[i].path || a.files[i].packets != b.files[i].packets ||
        a.files[i].complete != b.files[i].complete) {
      return false;
    }
  }
  return a.packets == b.packets && a.decode == b.decode && a.table == b.table &&
         a.skipped_link_types == b.skipped_link_types;
}

Counted Count(const std::vector<std::string>& files, Threading threading,
              std::optional<SummaryWindow> window = std::nullopt) {
  CaptureSummarizer summarizer(common::SynAckTableOptions(), common::PacketReaderOptions(), window);
  summarizer.set_threading(threading);
  Counted out;
  out.status =
      summarizer.AddFiles(files, [&](const SummaryCoverage& c) { out.progress.push_back(c); });
  out.coverage = summarizer.coverage();
  out.records = summarizer.TakeRecords();
  return out;
}

void ExpectSame(const Counted& pipelined, const Counted& single) {
  EXPECT_EQ(pipelined.status, single.status);
  EXPECT_EQ(pipelined.records, single.records);
  EXPECT_TRUE(SameCoverage(pipelined.coverage, single.coverage));
  ASSERT_EQ(pipelined.progress.size(), single.progress.size());
  for (size_t i = 0; i < pipelined.progress.size(); ++i) {
    EXPECT_TRUE(SameCoverage(pipelined.progress[i], single.progress[i])) << "progress call " << i;
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Byte offsets of the records of a classic pcap file written in this host's byte order.
std::vector<size_t> RecordOffsets(const std::string& pcap) {
  std::vector<size_t> offsets;
  for (size_t at = 24; at + 16 <= pcap.size();) {
    offsets.push_back(at);
    uint32_t caplen;
    std::memcpy(&caplen, pcap.data() + at + 8, 4);
    at += 16 + caplen;
  }
  return offsets;
}

// A capture of many batches: 300,000 frames (past the first progress interval), a fifth of
// them SYN/ACKs with retransmissions, over ten minutes, VLAN tags and IPv6 among them.
class CaptureSummarizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    bench::GenOptions options;
    options.packets = 300'000;
    options.synack_share = 0.2;
    options.duration = absl::Minutes(10);
    options.seed = 3;
    options.out_path = dir_->File("capture.pcap");
    absl::StatusOr<bench::GenStats> stats = bench::GenerateCapture(options);
    ASSERT_TRUE(stats.ok()) << stats.status();
    stats_ = *stats;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string Capture() { return dir_->File("capture.pcap"); }

  static TempDir* dir_;
  static bench::GenStats stats_;
};

TempDir* CaptureSummarizerTest::dir_ = nullptr;
bench::GenStats CaptureSummarizerTest::stats_;

TEST_F(CaptureSummarizerTest, PipelinedCountsWhatOneThreadCounts) {
  // A second file of a link type the decoder does not know, then the capture again: its
  // handshakes are retransmissions of the first file's.
  std::vector<testing::TimedFrame> frames(5, testing::TimedFrame{stats_.first_ns, {1, 2, 3}});
  WriteFile(dir_->File("unknown.pcap"), testing::PcapFileContents(/*DLT_USER0=*/147, frames));
  const std::vector<std::string> files = {Capture(), dir_->File("unknown.pcap"), Capture()};

  const Counted single = Count(files, Threading::kSingleThread);
  const Counted pipelined = Count(files, Threading::kPipelined);

  ASSERT_OK(single.status);
  EXPECT_EQ(single.coverage.packets, 2 * stats_.packets + 5);
  EXPECT_EQ(single.coverage.table.synacks, 2 * stats_.synacks);
  EXPECT_GT(single.coverage.table.retransmissions, 0u);
  EXPECT_EQ(single.coverage.skipped_link_types, (std::vector<std::pair<int, uint64_t>>{{147, 5}}));
  EXPECT_EQ(single.records.size(), stats_.keys);
  EXPECT_EQ(single.progress.size(), 2u);  // 300,000 packets per file: one interval each.
  ExpectSame(pipelined, single);
}

TEST_F(CaptureSummarizerTest, PipelinedCountsAWindowAsOneThread) {
  const int64_t span = stats_.last_ns - stats_.first_ns;
  const SummaryWindow window{stats_.first_ns + span / 3, stats_.first_ns + 2 * span / 3, kMinute};

  const Counted single = Count({Capture()}, Threading::kSingleThread, window);
  const Counted pipelined = Count({Capture()}, Threading::kPipelined, window);

  ASSERT_OK(single.status);
  ASSERT_FALSE(single.records.empty());
  uint64_t windowed = 0;
  for (const common::Record& r : single.records) {
    windowed += r.packets;
  }
  EXPECT_LT(windowed, stats_.synacks / 2);  // A third of the capture, widened to minutes.
  ExpectSame(pipelined, single);
}

// TakeRecordBlocks() gives the records TakeRecords() gives, in blocks (the table's without a
// window, one with), on one thread or two, and ends the counting as it does.
TEST_F(CaptureSummarizerTest, TakeRecordBlocksHoldsWhatTakeRecordsGives) {
  constexpr size_t kBlock = size_t{1} << 14;
  const int64_t span = stats_.last_ns - stats_.first_ns;
  const SummaryWindow window{stats_.first_ns + span / 3, stats_.first_ns + 2 * span / 3, kMinute};
  for (const std::optional<SummaryWindow>& w :
       {std::optional<SummaryWindow>(), std::optional(window)}) {
    for (const Threading threading : {Threading::kSingleThread, Threading::kPipelined}) {
      const std::string what = absl::StrCat(w.has_value() ? "window" : "no window", ", threading ",
                                            static_cast<int>(threading));
      const Counted want = Count({Capture()}, threading, w);
      ASSERT_OK(want.status);
      CaptureSummarizer summarizer(common::SynAckTableOptions(), common::PacketReaderOptions(), w);
      summarizer.set_threading(threading);
      ASSERT_OK(summarizer.AddFile(Capture()));
      const std::vector<std::vector<common::Record>> blocks = summarizer.TakeRecordBlocks();
      if (w.has_value()) {
        EXPECT_EQ(blocks.size(), 1u) << what;
      } else {
        ASSERT_EQ(blocks.size(), (want.records.size() + kBlock - 1) / kBlock) << what;
        EXPECT_GE(blocks.size(), 2u) << what;  // Past a block's end.
        for (size_t b = 0; b + 1 < blocks.size(); ++b) {
          EXPECT_EQ(blocks[b].size(), kBlock) << what << ", block " << b;
        }
      }
      std::vector<common::Record> flat;
      for (const std::vector<common::Record>& block : blocks) {
        EXPECT_FALSE(block.empty()) << what;
        flat.insert(flat.end(), block.begin(), block.end());
      }
      std::sort(flat.begin(), flat.end(),
                [](const common::Record& a, const common::Record& b) { return a.key < b.key; });
      EXPECT_EQ(flat, want.records) << what;
      EXPECT_TRUE(SameCoverage(summarizer.coverage(), want.coverage)) << what;
      EXPECT_THAT(summarizer.AddFile(Capture()), StatusIs(absl::StatusCode::kFailedPrecondition))
          << what;
      EXPECT_TRUE(summarizer.TakeRecordBlocks().empty()) << what;
      EXPECT_EQ(summarizer.coverage().table, want.coverage.table) << what;
    }
  }
}

TEST_F(CaptureSummarizerTest, PipelinedKeepsWhatWasReadBeforeATruncation) {
  const std::string pcap = ReadFile(Capture());
  const std::vector<size_t> offsets = RecordOffsets(pcap);
  ASSERT_EQ(offsets.size(), stats_.packets);
  // Cut inside the data of a record a third in.
  const size_t cut = offsets[offsets.size() / 3] + 20;
  WriteFile(dir_->File("truncated.pcap"), pcap.substr(0, cut));

  const Counted single = Count({dir_->File("truncated.pcap")}, Threading::kSingleThread);
  const Counted pipelined = Count({dir_->File("truncated.pcap")}, Threading::kPipelined);

  EXPECT_THAT(single.status, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(single.coverage.packets, offsets.size() / 3);
  ASSERT_EQ(single.coverage.files.size(), 1u);
  EXPECT_FALSE(single.coverage.files[0].complete);
  EXPECT_FALSE(single.records.empty());
  ExpectSame(pipelined, single);
}

TEST_F(CaptureSummarizerTest, PipelinedKeepsWhatWasReadBeforeACorruptRecord) {
  std::string pcap = ReadFile(Capture());
  const std::vector<size_t> offsets = RecordOffsets(pcap);
  // A record claims more bytes than any snaplen.
  const size_t bad = offsets[100'000];
  const uint32_t huge = 1u << 30;
  std::memcpy(&pcap[bad + 8], &huge, 4);
  WriteFile(dir_->File("corrupt.pcap"), pcap);

  const Counted single = Count({dir_->File("corrupt.pcap")}, Threading::kSingleThread);
  const Counted pipelined = Count({dir_->File("corrupt.pcap")}, Threading::kPipelined);

  EXPECT_THAT(single.status, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(single.coverage.packets, 100'000u);
  EXPECT_FALSE(single.records.empty());
  ExpectSame(pipelined, single);
}

// Writes the records of classic pcap `pcap` whose index i has pick(i) == n into file `n` of
// `count` files named <prefix><n>.pcap; returns their paths.
std::vector<std::string> SplitCapture(const std::string& pcap, const std::string& prefix,
                                      size_t count, const std::function<size_t(size_t)>& pick) {
  const std::vector<size_t> offsets = RecordOffsets(pcap);
  std::vector<std::string> parts(count, pcap.substr(0, 24));
  for (size_t i = 0; i < offsets.size(); ++i) {
    const size_t end = i + 1 < offsets.size() ? offsets[i + 1] : pcap.size();
    parts[pick(i)] += pcap.substr(offsets[i], end - offsets[i]);
  }
  std::vector<std::string> paths;
  for (size_t n = 0; n < count; ++n) {
    paths.push_back(absl::StrCat(prefix, n, ".pcap"));
    WriteFile(paths.back(), parts[n]);
  }
  return paths;
}

// What counting must not depend on: the records and the table's counters.
void ExpectSameCounts(const Counted& got, const Counted& want, const std::string& what) {
  EXPECT_OK(got.status) << what;
  EXPECT_EQ(got.records, want.records) << what;
  EXPECT_EQ(got.coverage.table, want.coverage.table) << what;
  EXPECT_EQ(got.coverage.packets, want.coverage.packets) << what;
  EXPECT_EQ(got.coverage.decode, want.coverage.decode) << what;
}

// Rotated files (one capture cut in three) count as the whole capture whatever order they are
// given in: a shell glob puts cap.pcap10 before cap.pcap2.
TEST_F(CaptureSummarizerTest, FilesInAnyOrderCountAsTheWholeCapture) {
  const std::string pcap = ReadFile(Capture());
  const size_t n = RecordOffsets(pcap).size();
  const std::vector<std::string> parts =
      SplitCapture(pcap, dir_->File("rotated-"), 3, [&](size_t i) { return i * 3 / n; });
  const Counted whole = Count({Capture()}, Threading::kSingleThread);
  ASSERT_OK(whole.status);
  EXPECT_EQ(whole.coverage.table.late_connections, 0u);
  for (const Threading threading : {Threading::kSingleThread, Threading::kPipelined}) {
    for (const std::vector<std::string>& order :
         {std::vector<std::string>{parts[0], parts[1], parts[2]},
          std::vector<std::string>{parts[2], parts[0], parts[1]},
          std::vector<std::string>{parts[1], parts[2], parts[0]}}) {
      const Counted merged = Count(order, threading);
      ExpectSameCounts(merged, whole, absl::StrCat(order[0], " first"));
      ASSERT_EQ(merged.coverage.files.size(), 3u);
      EXPECT_EQ(merged.coverage.files[0].path, parts[0]);  // Opened in time order.
      EXPECT_EQ(merged.coverage.files[2].path, parts[2]);
    }
  }
}

// Captures of the same time span from several points (each frame of the capture seen at one of
// them): merged by time, they count as the one capture. Seven files: more than the decoding
// threads, so some are decoded on the counting thread.
TEST_F(CaptureSummarizerTest, OverlappingCapturesCountAsOneCapture) {
  const std::string pcap = ReadFile(Capture());
  const Counted whole = Count({Capture()}, Threading::kSingleThread);
  for (const size_t points : {size_t{2}, size_t{7}}) {
    const std::vector<std::string> parts =
        SplitCapture(pcap, dir_->File(absl::StrCat("point", points, "-")), points,
                     [&](size_t i) { return (i * 7919) % points; });
    for (const Threading threading : {Threading::kSingleThread, Threading::kPipelined}) {
      ExpectSameCounts(Count(parts, threading), whole, absl::StrCat(points, " points"));
    }
  }
  // The same capture from two points that both saw every frame: each handshake counts once, as
  // a packet at each.
  const Counted twice = Count({Capture(), Capture()}, Threading::kPipelined);
  ASSERT_OK(twice.status);
  EXPECT_EQ(twice.coverage.table.synacks, 2 * whole.coverage.table.synacks);
  EXPECT_EQ(twice.coverage.table.late_connections, 0u);
  uint64_t connections = 0;
  uint64_t want = 0;
  for (const common::Record& r : twice.records) {
    connections += r.connections;
  }
  for (const common::Record& r : whole.records) {
    want += r.connections;
  }
  EXPECT_EQ(connections, want);
}

// A damaged file among several: the error names it, and what the merge counted before it stays.
TEST_F(CaptureSummarizerTest, ADamagedFileAmongSeveralStopsTheMergeThere) {
  const std::string pcap = ReadFile(Capture());
  std::vector<std::string> parts =
      SplitCapture(pcap, dir_->File("damaged-"), 2, [](size_t i) { return i % 2; });
  const std::string second = ReadFile(parts[1]);
  WriteFile(parts[1], second.substr(0, second.size() / 2 + 7));
  const Counted single = Count(parts, Threading::kSingleThread);
  const Counted pipelined = Count(parts, Threading::kPipelined);
  EXPECT_THAT(single.status, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_NE(single.status.message().find(parts[1]), std::string::npos) << single.status;
  ASSERT_EQ(single.coverage.files.size(), 2u);
  EXPECT_FALSE(single.coverage.files[1].complete);
  EXPECT_FALSE(single.records.empty());
  EXPECT_LT(single.coverage.table.synacks, stats_.synacks);
  ExpectSame(pipelined, single);
}

}  // namespace
}  // namespace synmap::cli
