#include "cli/decode_thread.h"

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/pcapfile/packet_reader.h"
#include "gtest/gtest.h"
#include "tests/testing/packet_builder.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap::cli {
namespace {

using testing::PacketBuilder;
using testing::TempDir;

constexpr int kEthernet = 1;
constexpr uint64_t kProgressPackets = 1000;

// `synacks` SYN/ACK frames a millisecond apart (their seq numbers count them), each after a
// plain ACK.
std::string WriteCapture(const TempDir& dir, uint32_t synacks) {
  std::vector<testing::TimedFrame> frames;
  for (uint32_t i = 0; i < synacks; ++i) {
    const int64_t at = 1'700'000'000'000'000'000 + int64_t{i} * 1'000'000;
    frames.push_back({at, PacketBuilder()
                              .Ethernet()
                              .Ipv4("198.51.100.1", "192.0.2.1")
                              .Tcp(443, 40000, testing::kTcpAck, i)
                              .Build()});
    frames.push_back({at, PacketBuilder()
                              .Ethernet()
                              .Ipv4("198.51.100.1", "192.0.2.1")
                              .Tcp(443, 40000, testing::kTcpSynAck, i)
                              .Build()});
  }
  const std::string path = dir.File("capture.pcap");
  std::ofstream(path, std::ios::binary) << testing::PcapFileContents(kEthernet, frames);
  return path;
}

TEST(DecodeThreadTest, HandsOutEveryBatchInCaptureOrder) {
  TempDir dir;
  constexpr uint32_t kSynAcks = 10'000;  // Far more batches than slots.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<common::PacketReader> reader,
                       common::PacketReader::Open(WriteCapture(dir, kSynAcks)));
  uint32_t next_isn = 0;
  uint64_t packets = 0;
  uint64_t progress_points = 0;
  {
    DecodeThread decoder(*reader, common::DecodeOptions(), kProgressPackets);
    while (const DecodedBatch* batch = decoder.Next()) {
      for (const common::SynAckEvent& event : batch->synacks()) {
        ASSERT_EQ(event.isn, next_isn);
        ++next_isn;
      }
      EXPECT_EQ(batch->decode.Get(common::DecodeResult::kSynAck), batch->synacks().size());
      packets += batch->packets;
      if (batch->progress_point) {
        ++progress_points;
        EXPECT_EQ(packets % kProgressPackets, 0u);
      }
    }
  }
  EXPECT_EQ(next_isn, kSynAcks);
  EXPECT_EQ(packets, 2 * kSynAcks);
  EXPECT_EQ(progress_points, 2 * kSynAcks / kProgressPackets);
  EXPECT_OK(reader->status());
}

TEST(DecodeThreadTest, DestroyedBeforeTheEndStopsTheDecodingAndReturnsTheReader) {
  TempDir dir;
  constexpr uint32_t kSynAcks = 20'000;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<common::PacketReader> reader,
                       common::PacketReader::Open(WriteCapture(dir, kSynAcks)));
  {
    DecodeThread decoder(*reader, common::DecodeOptions(), uint64_t{1} << 40);
    const DecodedBatch* first = decoder.Next();
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->synacks().size(), DecodedBatch::kMaxSynAcks);
  }
  // The decoding stopped within the ring's batches (and the one being filled), and this thread
  // may read on.
  const uint64_t read = reader->packets_read();
  EXPECT_LE(read, 2 * DecodedBatch::kMaxSynAcks * (DecodeThread::kSlots + 1));
  common::PacketRef packet;
  ASSERT_TRUE(reader->Next(&packet));
  EXPECT_EQ(reader->packets_read(), read + 1);
}

}  // namespace
}  // namespace synmap::cli
