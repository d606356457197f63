#include "cli/decode_thread.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/packet/decoder.h"
#include "common/pcapfile/packet_reader.h"
#include "gtest/gtest.h"
#include "tests/testing/packet_builder.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/common/pcapfile/capture_bytes.h"

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

// A capture of about 16 MB (many of DecodeThread's chunks): frames of random sizes, one in 200
// up to 250 KB (records cut by every chunk boundary, some longer than the rest of their chunk),
// a SYN/ACK (its seq numbering it) after every other one. `frames_written`: how many frames.
std::string WriteBigRecords(const TempDir& dir, uint32_t* frames_written) {
  std::mt19937 rng(11);
  std::vector<testing::TimedFrame> frames;
  uint32_t isn = 0;
  size_t bytes = 0;
  while (bytes < (size_t{16} << 20)) {
    const int64_t at = 1'700'000'000'000'000'000 + int64_t{isn} * 1'000'000;
    const size_t payload = rng() % 200 == 0 ? rng() % 250'000 : rng() % 200;
    frames.push_back({at, PacketBuilder()
                              .Ethernet()
                              .Ipv4("198.51.100.1", "192.0.2.1")
                              .Tcp(443, 40000, testing::kTcpAck, isn)
                              .Payload(std::vector<uint8_t>(payload, 0x5a))
                              .Build()});
    bytes += frames.back().bytes.size() + 16;
    if (rng() % 2 == 0) {
      frames.push_back({at, PacketBuilder()
                                .Ethernet()
                                .Ipv4("198.51.100.1", "192.0.2.1")
                                .Tcp(443, 40000, testing::kTcpSynAck, isn++)
                                .Build()});
    }
  }
  *frames_written = static_cast<uint32_t>(frames.size());
  const std::string path = dir.File("big.pcap");
  std::ofstream(path, std::ios::binary) << testing::PcapFileContents(kEthernet, frames);
  return path;
}

// What one pass over a file found: SYN/ACK seq numbers in order, packets, the reader's status.
struct Pass {
  std::vector<uint32_t> isns;
  uint64_t packets = 0;
  absl::Status status;
};

Pass ReadWithThread(const std::string& path) {
  Pass pass;
  absl::StatusOr<std::unique_ptr<common::PacketReader>> reader = common::PacketReader::Open(path);
  EXPECT_OK(reader.status());
  {
    DecodeThread decoder(**reader, common::DecodeOptions(), kProgressPackets);
    while (const DecodedBatch* batch = decoder.Next()) {
      for (const common::SynAckEvent& event : batch->synacks()) {
        pass.isns.push_back(event.isn);
      }
      pass.packets += batch->packets;
    }
  }
  pass.status = (*reader)->status();
  return pass;
}

Pass ReadOnOneThread(const std::string& path) {
  Pass pass;
  absl::StatusOr<std::unique_ptr<common::PacketReader>> reader = common::PacketReader::Open(path);
  EXPECT_OK(reader.status());
  DecodedBatch batch;
  bool more = true;
  while (more) {
    more = DecodeBatch(**reader, common::DecodeOptions(), kProgressPackets, batch);
    for (const common::SynAckEvent& event : batch.synacks()) {
      pass.isns.push_back(event.isn);
    }
    pass.packets += batch.packets;
  }
  pass.status = (*reader)->status();
  return pass;
}

// `path` (of `frames` frames, whose SYN/ACKs' seq numbers count them) reads completely, and as
// on one thread.
void ExpectReadsAsOnOneThread(const std::string& path, uint32_t frames) {
  const Pass threaded = ReadWithThread(path);
  const Pass one = ReadOnOneThread(path);
  EXPECT_OK(threaded.status);
  EXPECT_EQ(threaded.packets, frames);
  EXPECT_EQ(threaded.packets, one.packets);
  EXPECT_EQ(threaded.isns, one.isns);
  ASSERT_FALSE(threaded.isns.empty());
  EXPECT_EQ(threaded.isns.back() + 1, threaded.isns.size());
}

// Shortens `path` to each of `cuts` (descending) in turn: the threaded reading then ends as one
// thread's does (with DataLoss when every cut is `inside_records`).
void ExpectCutsReadAsOnOneThread(const std::string& path, const std::vector<uintmax_t>& cuts,
                                 bool inside_records) {
  for (const uintmax_t cut : cuts) {
    std::filesystem::resize_file(path, cut);
    const Pass threaded = ReadWithThread(path);
    const Pass one = ReadOnOneThread(path);
    if (inside_records) {
      EXPECT_EQ(threaded.status.code(), absl::StatusCode::kDataLoss) << threaded.status;
    }
    EXPECT_EQ(threaded.status, one.status) << "cut at " << cut;
    EXPECT_EQ(threaded.packets, one.packets) << "cut at " << cut;
    EXPECT_EQ(threaded.isns, one.isns) << "cut at " << cut;
  }
}

TEST(DecodeThreadTest, RecordsCutByChunkBoundariesReadAsOnOneThread) {
  TempDir dir;
  uint32_t frames = 0;
  const std::string path = WriteBigRecords(dir, &frames);
  ExpectReadsAsOnOneThread(path, frames);
}

TEST(DecodeThreadTest, TruncatedInsideABigRecordFailsAsOnOneThread) {
  TempDir dir;
  uint32_t frames = 0;
  const std::string path = WriteBigRecords(dir, &frames);
  const uintmax_t size = std::filesystem::file_size(path);
  // Cuts: inside the last chunks (a record longer than what is left), and in the middle.
  ExpectCutsReadAsOnOneThread(path, {size - 100'000, size - 1'000, size / 2 + 12'345},
                              /*inside_records=*/true);
}

// A pcapng file of two sections (little-, then big-endian byte order) of SYN/ACKs (their seq
// numbers count them) and plain ACKs. Some packet blocks carry up to 5 MiB of comments, more
// than a chunk and its headroom: the reader gathers them from several chunks. Blocks readers
// skip, of up to 3 MiB, lie between. `frames_written`: how many packets.
std::string WriteBigPcapng(const TempDir& dir, uint32_t* frames_written) {
  std::mt19937 rng(12);
  std::vector<uint8_t> file;
  uint32_t isn = 0;
  uint32_t frames = 0;
  for (const bool big_endian : {false, true}) {
    testing::PcapngWriter w(big_endian);
    w.Section();
    w.Interface(kEthernet, /*snaplen=*/0, /*tsresol=*/9);
    while (w.size() < (size_t{12} << 20)) {
      if (rng() % 400 == 0) {
        w.Unknown(0x40000bad, rng() % (size_t{3} << 20));  // A custom block.
      }
      const bool synack = rng() % 2 == 0;
      const std::vector<uint8_t> frame =
          PacketBuilder()
              .Ethernet()
              .Ipv4("198.51.100.1", "192.0.2.1")
              .Tcp(443, 40000, synack ? testing::kTcpSynAck : testing::kTcpAck, isn)
              .Payload(std::vector<uint8_t>(rng() % 100 == 0 ? rng() % 250'000 : rng() % 200, 0x5a))
              .Build();
      const size_t comments = rng() % 300 == 0 ? rng() % (size_t{5} << 20) : 0;
      const uint64_t units = 1'700'000'000'000'000'000 + uint64_t{isn} * 1'000'000;
      w.Enhanced(0, units, frame, static_cast<uint32_t>(frame.size()), comments);
      isn += synack ? 1 : 0;
      ++frames;
    }
    file.insert(file.end(), w.bytes().begin(), w.bytes().end());
  }
  *frames_written = frames;
  const std::string path = dir.File("big.pcapng");
  testing::WriteFile(path, file);
  return path;
}

TEST(DecodeThreadTest, PcapngBlocksLongerThanAChunkReadAsOnOneThread) {
  TempDir dir;
  uint32_t frames = 0;
  const std::string path = WriteBigPcapng(dir, &frames);
  ExpectReadsAsOnOneThread(path, frames);
}

TEST(DecodeThreadTest, PcapngTruncatedAnywhereFailsAsOnOneThread) {
  TempDir dir;
  uint32_t frames = 0;
  const std::string path = WriteBigPcapng(dir, &frames);
  const uintmax_t size = std::filesystem::file_size(path);
  std::mt19937 rng(13);
  // Cuts from the end to the start (each shortens the file further): inside big and small
  // blocks, near chunk boundaries and anywhere.
  std::vector<uintmax_t> cuts = {size - 1, size - 4'000'000, (uintmax_t{8} << 20) + 3,
                                 (uintmax_t{3} << 20) - 5, 1'000'000};
  for (int i = 0; i < 6; ++i) {
    cuts.push_back(rng() % size);
  }
  std::sort(cuts.begin(), cuts.end(), std::greater<>());
  ExpectCutsReadAsOnOneThread(path, cuts, /*inside_records=*/false);
}

TEST(DecodeThreadTest, DestroyedMidFileGivesTheReadingBackWhereItsReaderStopped) {
  TempDir dir;
  uint32_t frames = 0;
  const std::string path = WriteBigRecords(dir, &frames);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<common::PacketReader> reader,
                       common::PacketReader::Open(path));
  uint64_t packets = 0;
  {
    DecodeThread decoder(*reader, common::DecodeOptions(), kProgressPackets);
    while (const DecodedBatch* batch = decoder.Next()) {
      packets += batch->packets;
      if (packets > frames / 2) {
        break;  // Chunks were read ahead, some not yet taken by the decoding thread.
      }
    }
  }
  // The reader goes on from its own position: every frame is read exactly once in all, and the
  // SYN/ACKs after the hand-back are the last ones of the file, in order.
  common::PacketRef packet;
  std::vector<uint32_t> isns;
  while (reader->Next(&packet)) {
    common::SynAckEvent event;
    common::TunnelInfo tunnel;
    if (common::DecodePacket(packet.link_type, packet.data, packet.caplen, common::DecodeOptions(),
                             &event, &tunnel) == common::DecodeResult::kSynAck) {
      isns.push_back(event.isn);
    }
  }
  EXPECT_OK(reader->status());
  EXPECT_EQ(reader->packets_read(), frames);
  ASSERT_FALSE(isns.empty());
  const Pass whole = ReadOnOneThread(path);
  for (size_t i = 0; i < isns.size(); ++i) {
    ASSERT_EQ(isns[i], whole.isns[whole.isns.size() - isns.size() + i]) << i;
  }
}

}  // namespace
}  // namespace synmap::cli
