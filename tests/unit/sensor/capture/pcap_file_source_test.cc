#include "sensor/capture/pcap_file_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "common/time/clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap::sensor {
namespace {

using ::synmap::testing::StatusIs;

// Writes a classic little-endian nanosecond pcap of Ethernet frames whose first byte is the
// packet's index, stamped `first_ns + i * step_ns`.
void WritePcap(const std::string& path, int packets, int64_t first_ns, int64_t step_ns) {
  std::ofstream out(path, std::ios::binary);
  auto put32 = [&out](uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
  auto put16 = [&out](uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
  put32(0xa1b23c4d);  // Nanosecond magic.
  put16(2);
  put16(4);
  put32(0);
  put32(0);
  put32(65535);
  put32(1);  // LINKTYPE_ETHERNET.
  for (int i = 0; i < packets; ++i) {
    const int64_t ts = first_ns + i * step_ns;
    put32(static_cast<uint32_t>(ts / 1'000'000'000));
    put32(static_cast<uint32_t>(ts % 1'000'000'000));
    put32(60);
    put32(60);
    std::string frame(60, '\0');
    frame[0] = static_cast<char>(i);
    out.write(frame.data(), static_cast<std::streamsize>(frame.size()));
  }
}

struct Seen {
  int link_type;
  int64_t timestamp_ns;
  uint8_t first_byte;
  uint32_t caplen;
};

TEST(PcapFileSourceTest, ReadsFilesInOrderThenReportsEnd) {
  synmap::testing::TempDir dir;
  WritePcap(dir.File("a.pcap"), 3, 1'000'000'000'000'000'000, 1'000);
  WritePcap(dir.File("b.pcap"), 2, 1'000'000'000'000'100'000, 5);
  FakeClock clock;
  PcapFileOptions options;
  options.paths = {dir.File("a.pcap"), dir.File("b.pcap")};
  options.burst_packets = 2;
  ASSERT_OK_AND_ASSIGN(auto source, PcapFileSource::Open(options, clock));
  EXPECT_EQ(source->name(), "file:a.pcap,b.pcap");
  EXPECT_FALSE(source->is_live());

  std::vector<Seen> seen;
  absl::StatusOr<size_t> n;
  int calls = 0;
  while ((n = source->Dispatch([&seen](const CapturedPacket& p) {
           seen.push_back({p.link_type, p.timestamp_ns, p.data[0], p.caplen});
         })).ok()) {
    EXPECT_LE(*n, 2u);
    ASSERT_LT(++calls, 20);
  }
  EXPECT_THAT(n, StatusIs(absl::StatusCode::kOutOfRange));
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].timestamp_ns, 1'000'000'000'000'000'000);
  EXPECT_EQ(seen[2].timestamp_ns, 1'000'000'000'000'002'000);
  EXPECT_EQ(seen[2].first_byte, 2);
  EXPECT_EQ(seen[3].timestamp_ns, 1'000'000'000'000'100'000);
  EXPECT_EQ(seen[3].first_byte, 0);
  EXPECT_EQ(seen[4].timestamp_ns, 1'000'000'000'000'100'005);
  for (const Seen& s : seen) {
    EXPECT_EQ(s.link_type, 1);
    EXPECT_EQ(s.caplen, 60u);
  }
  ASSERT_OK_AND_ASSIGN(DropCounters drops, source->Drops());
  EXPECT_EQ(drops, DropCounters{});
}

TEST(PcapFileSourceTest, MissingFirstFileIsNotFound) {
  synmap::testing::TempDir dir;
  FakeClock clock;
  PcapFileOptions options;
  options.paths = {dir.File("missing.pcap")};
  EXPECT_THAT(PcapFileSource::Open(options, clock), StatusIs(absl::StatusCode::kNotFound));
}

TEST(PcapFileSourceTest, NoPathsIsInvalidArgument) {
  FakeClock clock;
  EXPECT_THAT(PcapFileSource::Open(PcapFileOptions{}, clock),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PcapFileSourceTest, BreakCancelsDispatch) {
  synmap::testing::TempDir dir;
  WritePcap(dir.File("a.pcap"), 3, 1'000'000'000'000'000'000, 1'000);
  FakeClock clock;
  PcapFileOptions options;
  options.paths = {dir.File("a.pcap")};
  ASSERT_OK_AND_ASSIGN(auto source, PcapFileSource::Open(options, clock));
  source->Break();
  int delivered = 0;
  EXPECT_THAT(source->Dispatch([&delivered](const CapturedPacket&) { ++delivered; }),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(delivered, 0);
}

// Pacing: the first packet goes at once; a later one waits for its gap on the clock. With a
// fake clock already past the due time nothing waits, so the test never sleeps.
TEST(PcapFileSourceTest, PacedReplayDeliversWhenDue) {
  synmap::testing::TempDir dir;
  WritePcap(dir.File("a.pcap"), 2, 1'000'000'000'000'000'000, 1'000'000'000);
  FakeClock clock;
  PcapFileOptions options;
  options.paths = {dir.File("a.pcap")};
  options.pace = true;
  ASSERT_OK_AND_ASSIGN(auto source, PcapFileSource::Open(options, clock));
  int delivered = 0;
  auto count = [&delivered](const CapturedPacket&) { ++delivered; };
  ASSERT_OK_AND_ASSIGN(size_t first, source->Dispatch(count));
  EXPECT_EQ(first, 1u);
  clock.Advance(absl::Seconds(2));
  ASSERT_OK_AND_ASSIGN(size_t second, source->Dispatch(count));
  EXPECT_EQ(second, 1u);
  EXPECT_EQ(delivered, 2);
}

}  // namespace
}  // namespace synmap::sensor
