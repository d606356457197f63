#include "cli/capture_summarizer.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
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
  for (const std::string& file : files) {
    out.status =
        summarizer.AddFile(file, [&](const SummaryCoverage& c) { out.progress.push_back(c); });
    if (!out.status.ok()) {
      break;
    }
  }
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

}  // namespace
}  // namespace synmap::cli
