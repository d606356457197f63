#include "sensor/pipeline/pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/aggregate/record.h"
#include "common/batch/handshake.h"
#include "common/packet/ip_address.h"
#include "common/time/clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/sensor/pipeline/fake_packet_source.h"

namespace synmap::sensor {
namespace {

using ::synmap::sensor::testing::FakeFrame;
using ::synmap::sensor::testing::FakePacketSource;
using ::synmap::testing::StatusIs;

constexpr int64_t kSecond = 1'000'000'000;
// A capture-time origin on a 10 s boundary, years before the fake clock's default time.
constexpr int64_t kT0 = 1'234'567'890 * kSecond;  // 2009-02-13T23:31:30Z.

// An Ethernet/IPv4/TCP SYN/ACK from 198.51.100.<server>:<port> to 198.51.100.<client>:40000.
FakeFrame SynAck(int64_t timestamp_ns, uint8_t server, uint16_t port, uint8_t client,
                 uint32_t isn) {
  std::vector<uint8_t> f = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00,
                            // IPv4: IHL 5, total length 40, proto TCP.
                            0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 198, 51, 100, server, 198, 51,
                            100, client,
                            // TCP: ports, seq, ack, data offset 5, SYN+ACK.
                            static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port), 0x9c, 0x40,
                            static_cast<uint8_t>(isn >> 24), static_cast<uint8_t>(isn >> 16),
                            static_cast<uint8_t>(isn >> 8), static_cast<uint8_t>(isn), 0, 0, 0, 1,
                            0x50, 0x12, 0xff, 0xff, 0, 0, 0, 0};
  return FakeFrame{std::move(f), timestamp_ns};
}

// An ARP frame: received and counted, never a SYN/ACK.
FakeFrame Arp(int64_t timestamp_ns) {
  std::vector<uint8_t> f = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x06};
  f.resize(60, 0);
  return FakeFrame{std::move(f), timestamp_ns};
}

common::IpAddress Ip(uint8_t last) {
  const uint8_t b[4] = {198, 51, 100, last};
  return common::IpAddress::V4(b);
}

// Collects the batches the pipeline hands over. Thread-safe.
class BatchCollector {
 public:
  BatchSink Sink() {
    return [this](common::Batch batch) {
      absl::MutexLock lock(&mu_);
      batches_.push_back(std::move(batch));
      return absl::OkStatus();
    };
  }
  // The batches delivered so far, once there are at least `n` (fails the test after 30 s).
  std::vector<common::Batch> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    wanted_ = n;
    const bool ok =
        mu_.AwaitWithTimeout(absl::Condition(this, &BatchCollector::HasWanted), absl::Seconds(30));
    EXPECT_TRUE(ok) << "only " << batches_.size() << " of " << n << " batches delivered";
    return batches_;
  }
  std::vector<common::Batch> All() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

 private:
  bool HasWanted() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return batches_.size() >= wanted_; }

  absl::Mutex mu_;
  std::vector<common::Batch> batches_ ABSL_GUARDED_BY(mu_);
  size_t wanted_ ABSL_GUARDED_BY(mu_) = 0;
};

struct Harness {
  FakeClock clock;
  BatchCollector collector;
  std::vector<FakePacketSource*> sources;  // Owned by the pipeline.
  std::unique_ptr<Pipeline> pipeline;

  void Make(PipelineOptions options, std::vector<bool> live) {
    std::vector<std::unique_ptr<PacketSource>> owned;
    for (size_t i = 0; i < live.size(); ++i) {
      auto source = std::make_unique<FakePacketSource>("fake" + std::to_string(i), live[i]);
      sources.push_back(source.get());
      owned.push_back(std::move(source));
    }
    absl::StatusOr<std::unique_ptr<Pipeline>> made =
        Pipeline::Create(options, std::move(owned), clock, collector.Sink());
    ASSERT_OK(made);
    pipeline = *std::move(made);
  }
};

uint64_t Connections(const common::Batch& batch) {
  uint64_t n = 0;
  for (const common::Record& r : batch.records) {
    n += r.connections;
  }
  return n;
}

TEST(PipelineTest, CreateRejectsBadArguments) {
  FakeClock clock;
  BatchCollector collector;
  EXPECT_THAT(Pipeline::Create(PipelineOptions{}, {}, clock, collector.Sink()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<std::unique_ptr<PacketSource>> one;
  one.push_back(std::make_unique<FakePacketSource>("a", false));
  PipelineOptions zero_keys;
  zero_keys.max_keys = 0;
  EXPECT_THAT(Pipeline::Create(zero_keys, std::move(one), clock, collector.Sink()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Windows are [k * 10 s, (k + 1) * 10 s) of capture time, whatever the first packet's phase.
TEST(PipelineTest, WindowsAlignToMultiplesOfFlushInterval) {
  Harness h;
  h.Make(PipelineOptions{}, {false});
  ASSERT_OK(h.pipeline->Start());
  h.sources[0]->PushFrames({SynAck(kT0 + 3 * kSecond + 7, 1, 443, 2, 100),
                            SynAck(kT0 + 9 * kSecond, 1, 443, 3, 101),
                            SynAck(kT0 + 10 * kSecond, 1, 22, 2, 102)});
  h.sources[0]->PushEnd();
  ASSERT_TRUE(h.pipeline->WaitForSourcesDone(absl::Seconds(30)));
  h.pipeline->Stop();
  std::vector<common::Batch> batches = h.collector.All();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].start_ns, kT0);
  EXPECT_EQ(batches[0].end_ns, kT0 + 10 * kSecond);
  EXPECT_EQ(batches[0].records.size(), 2u);
  EXPECT_EQ(batches[0].stats.synacks, 2u);
  EXPECT_EQ(batches[1].start_ns, kT0 + 10 * kSecond);
  EXPECT_EQ(batches[1].end_ns, kT0 + 20 * kSecond);
  ASSERT_EQ(batches[1].records.size(), 1u);
  EXPECT_EQ(batches[1].records[0].key.server_port, 22);
  EXPECT_EQ(batches[1].records[0].first_seen_ns, kT0 + 10 * kSecond);
}

// A replayed file is flushed by its own timestamps: windows close while it is read, with the
// wall clock never moving.
TEST(PipelineTest, BatchesCarryOneHandshakeFingerprintPerConnectionUnlessSwitchedOff) {
  for (const bool fingerprints : {true, false}) {
    Harness h;
    PipelineOptions options;
    options.handshake_fingerprints = fingerprints;
    h.Make(options, {false});
    ASSERT_OK(h.pipeline->Start());
    h.sources[0]->PushFrames({SynAck(kT0 + 3 * kSecond + 7, 1, 443, 2, 100),
                              SynAck(kT0 + 4 * kSecond, 1, 443, 2, 100),  // Retransmission.
                              SynAck(kT0 + 5 * kSecond, 1, 443, 3, 101)});
    h.sources[0]->PushEnd();
    ASSERT_TRUE(h.pipeline->WaitForSourcesDone(absl::Seconds(30)));
    h.pipeline->Stop();
    const std::vector<common::Batch> batches = h.collector.All();
    ASSERT_EQ(batches.size(), 1u);
    if (!fingerprints) {
      EXPECT_TRUE(batches[0].handshakes.empty());
      continue;
    }
    ASSERT_EQ(batches[0].handshakes.size(), Connections(batches[0]));
    EXPECT_EQ(batches[0].handshakes[0],
              (common::Handshake{common::HandshakeFingerprint(40000, 100), 3000}));
    EXPECT_EQ(batches[0].handshakes[1],
              (common::Handshake{common::HandshakeFingerprint(40000, 101), 5000}));
  }
}

TEST(PipelineTest, ReplayedFileFlushesByCaptureTime) {
  Harness h;
  h.Make(PipelineOptions{}, {false});
  ASSERT_OK(h.pipeline->Start());
  h.sources[0]->PushFrames({SynAck(kT0 + 1 * kSecond, 1, 80, 2, 1), Arp(kT0 + 2 * kSecond),
                            SynAck(kT0 + 11 * kSecond, 1, 80, 2, 2),
                            SynAck(kT0 + 25 * kSecond, 1, 80, 2, 3)});
  ASSERT_TRUE(h.sources[0]->WaitIdle());
  // Two windows ended by capture time; the third is still open.
  std::vector<common::Batch> batches = h.collector.WaitFor(2);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].start_ns, kT0);
  EXPECT_EQ(batches[0].stats.packets_received, 2u);
  EXPECT_EQ(batches[0].stats.synacks, 1u);
  EXPECT_EQ(batches[1].start_ns, kT0 + 10 * kSecond);
  EXPECT_EQ(h.pipeline->stats().batches_closed, 2u);
  h.sources[0]->PushEnd();
  ASSERT_TRUE(h.pipeline->WaitForSourcesDone(absl::Seconds(30)));
  h.pipeline->Stop();  // Flushes the open window.
  batches = h.collector.All();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].start_ns, kT0 + 20 * kSecond);
  EXPECT_EQ(batches[2].end_ns, kT0 + 30 * kSecond);
  EXPECT_EQ(Connections(batches[2]), 1u);
}

// A live interface with no traffic still closes its window by wall clock, close_delay after
// the window's end, woken by read timeouts.
TEST(PipelineTest, QuietLiveInterfaceClosesWindowByWallClock) {
  Harness h;
  h.clock.Set(absl::FromUnixNanos(kT0 + 2 * kSecond));
  PipelineOptions options;
  options.close_delay = absl::Seconds(1);
  h.Make(options, {true});
  ASSERT_OK(h.pipeline->Start());
  h.sources[0]->PushFrames({SynAck(kT0 + 2 * kSecond + 500, 1, 443, 2, 9)});
  ASSERT_TRUE(h.sources[0]->WaitIdle());

  h.clock.Set(absl::FromUnixNanos(kT0 + 10 * kSecond + kSecond / 2));  // Before end + delay.
  h.sources[0]->PushTimeout();
  ASSERT_TRUE(h.sources[0]->WaitIdle());
  EXPECT_EQ(h.pipeline->stats().batches_closed, 0u);

  h.clock.Set(absl::FromUnixNanos(kT0 + 11 * kSecond));  // End + delay.
  h.sources[0]->PushTimeout();
  ASSERT_TRUE(h.sources[0]->WaitIdle());
  std::vector<common::Batch> batches = h.collector.WaitFor(1);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].start_ns, kT0);
  EXPECT_EQ(batches[0].end_ns, kT0 + 10 * kSecond);
  ASSERT_EQ(batches[0].records.size(), 1u);
  EXPECT_EQ(batches[0].records[0].key.server, Ip(1));
  EXPECT_EQ(batches[0].records[0].key.client, Ip(2));
  h.pipeline->Stop();
  // The next window [10 s, 20 s) saw nothing at all: no batch for it.
  EXPECT_EQ(h.collector.All().size(), 1u);
}

// Reaching max_keys closes the window early at the last packet; nothing is dropped and the
// rest of the window continues in the next batch.
TEST(PipelineTest, EarlyFlushAtMaxKeys) {
  Harness h;
  PipelineOptions options;
  options.max_keys = 3;
  h.Make(options, {false});
  ASSERT_OK(h.pipeline->Start());
  std::vector<FakeFrame> frames;
  for (uint8_t i = 0; i < 5; ++i) {
    frames.push_back(SynAck(kT0 + (i + 1) * kSecond, 1, static_cast<uint16_t>(1000 + i), 2, i));
  }
  h.sources[0]->PushFrames(std::move(frames));
  h.sources[0]->PushEnd();
  ASSERT_TRUE(h.pipeline->WaitForSourcesDone(absl::Seconds(30)));
  h.pipeline->Stop();
  const std::vector<common::Batch> batches = h.collector.All();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].records.size(), 3u);
  EXPECT_EQ(batches[0].start_ns, kT0);
  EXPECT_EQ(batches[0].end_ns, kT0 + 3 * kSecond + 1);
  EXPECT_EQ(batches[1].records.size(), 2u);
  EXPECT_EQ(batches[1].start_ns, kT0 + 3 * kSecond + 1);
  EXPECT_EQ(batches[1].end_ns, kT0 + 10 * kSecond);
  EXPECT_EQ(h.pipeline->stats().early_closes, 1u);
  EXPECT_EQ(h.pipeline->stats().capture.synacks, 5u);
}

// The same handshake seen on two interfaces (a router's inside and outside) is one
// connection, two packets.
TEST(PipelineTest, SameHandshakeOnTwoInterfacesIsOneConnection) {
  Harness h;
  h.clock.Set(absl::FromUnixNanos(kT0 + 1 * kSecond));
  h.Make(PipelineOptions{}, {true, true});
  ASSERT_OK(h.pipeline->Start());
  h.sources[0]->PushFrames({SynAck(kT0 + 2 * kSecond, 1, 443, 2, 77)});
  ASSERT_TRUE(h.sources[0]->WaitIdle());
  h.sources[1]->PushFrames({SynAck(kT0 + 2 * kSecond + 40'000, 1, 443, 2, 77),
                            SynAck(kT0 + 3 * kSecond, 1, 443, 2, 78)});
  ASSERT_TRUE(h.sources[1]->WaitIdle());
  h.pipeline->Stop();
  const std::vector<common::Batch> batches = h.collector.All();
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].records.size(), 1u);
  EXPECT_EQ(batches[0].records[0].packets, 3u);
  EXPECT_EQ(batches[0].records[0].connections, 2u);
  EXPECT_EQ(batches[0].stats.synacks, 3u);
  EXPECT_EQ(batches[0].stats.retransmissions, 1u);
}

// Kernel and interface drop counters reach the batches as per-window deltas.
TEST(PipelineTest, DropCounterDeltasGoIntoBatches) {
  Harness h;
  h.clock.Set(absl::FromUnixNanos(kT0 + 1 * kSecond));
  h.Make(PipelineOptions{}, {true});
  ASSERT_OK(h.pipeline->Start());
  h.sources[0]->SetDrops(DropCounters{5, 1});
  h.sources[0]->PushTimeout();
  ASSERT_TRUE(h.sources[0]->WaitIdle());
  h.clock.Set(absl::FromUnixNanos(kT0 + 11 * kSecond));
  h.sources[0]->SetDrops(DropCounters{8, 1});
  h.sources[0]->PushTimeout();
  ASSERT_TRUE(h.sources[0]->WaitIdle());
  // Both readings came before the wall-clock close: the first window holds 8 + 1.
  h.clock.Set(absl::FromUnixNanos(kT0 + 21 * kSecond));
  h.sources[0]->SetDrops(DropCounters{10, 4});
  h.sources[0]->PushTimeout();
  ASSERT_TRUE(h.sources[0]->WaitIdle());
  h.pipeline->Stop();
  const std::vector<common::Batch> batches = h.collector.All();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].stats.kernel_drops, 8u);
  EXPECT_EQ(batches[0].stats.interface_drops, 1u);
  EXPECT_EQ(batches[1].stats.kernel_drops, 2u);
  EXPECT_EQ(batches[1].stats.interface_drops, 3u);
  EXPECT_EQ(h.pipeline->stats().capture.kernel_drops, 10u);
}

// capture_totals() (read by metrics scrapes without the pipeline's lock) follows stats().capture
// window by window: the open window is not in either until it closes.
TEST(PipelineTest, CaptureTotalsFollowClosedWindowsWithoutTheLock) {
  Harness h;
  h.Make(PipelineOptions{}, {false});
  ASSERT_OK(h.pipeline->Start());
  h.sources[0]->SetDrops(DropCounters{3, 2});
  h.sources[0]->PushFrames({SynAck(kT0 + 1 * kSecond, 1, 80, 2, 1), Arp(kT0 + 2 * kSecond),
                            SynAck(kT0 + 11 * kSecond, 1, 80, 2, 2)});
  ASSERT_TRUE(h.sources[0]->WaitIdle());
  ASSERT_EQ(h.collector.WaitFor(1).size(), 1u);
  common::CaptureStats totals = h.pipeline->capture_totals();
  EXPECT_EQ(totals.packets_received, 2u);
  EXPECT_EQ(totals.synacks, 1u);
  h.sources[0]->PushEnd();
  ASSERT_TRUE(h.pipeline->WaitForSourcesDone(absl::Seconds(30)));
  h.pipeline->Stop();
  totals = h.pipeline->capture_totals();
  const common::CaptureStats locked = h.pipeline->stats().capture;
  EXPECT_EQ(totals.packets_received, 3u);
  EXPECT_EQ(totals.synacks, 2u);
  EXPECT_EQ(totals.packets_received, locked.packets_received);
  EXPECT_EQ(totals.synacks, locked.synacks);
  EXPECT_EQ(totals.kernel_drops, locked.kernel_drops);
  EXPECT_EQ(totals.interface_drops, locked.interface_drops);
  EXPECT_EQ(totals.kernel_drops, 3u);
  EXPECT_EQ(totals.interface_drops, 2u);
  EXPECT_EQ(totals.malformed, locked.malformed);
}

// A packet slightly older than the open window (out of order across threads) is counted in
// it, and the batch widens to cover it.
TEST(PipelineTest, LatePacketWidensTheBatch) {
  Harness h;
  h.Make(PipelineOptions{}, {false});
  ASSERT_OK(h.pipeline->Start());
  h.sources[0]->PushFrames(
      {SynAck(kT0 + 10 * kSecond + 200, 1, 443, 2, 1), SynAck(kT0 + 9 * kSecond, 1, 443, 3, 2)});
  h.sources[0]->PushEnd();
  ASSERT_TRUE(h.pipeline->WaitForSourcesDone(absl::Seconds(30)));
  h.pipeline->Stop();
  const std::vector<common::Batch> batches = h.collector.All();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].start_ns, kT0 + 9 * kSecond);
  EXPECT_EQ(batches[0].end_ns, kT0 + 20 * kSecond);
  EXPECT_EQ(batches[0].records.size(), 2u);
}

// `frame` (Ethernet + IPv4) with its IPv4 packet inside another IPv4 header (IP-in-IP).
FakeFrame InIpInIp(FakeFrame frame) {
  const std::vector<uint8_t> outer = {0x45, 0, 0,   60, 0, 2, 0,   0, 64, 4,
                                      0,    0, 192, 0,  2, 1, 192, 0, 2,  2};
  frame.bytes.insert(frame.bytes.begin() + 14, outer.begin(), outer.end());
  return frame;
}

TEST(PipelineTest, TunnelledSynAckCountsUnlessDecapsulationIsOff) {
  for (bool decapsulate : {true, false}) {
    Harness h;
    PipelineOptions options;
    options.decode.decapsulate = decapsulate;
    h.Make(options, {false});
    ASSERT_OK(h.pipeline->Start());
    h.sources[0]->PushFrames({InIpInIp(SynAck(kT0 + 1 * kSecond, 1, 80, 2, 1))});
    h.sources[0]->PushEnd();
    ASSERT_TRUE(h.pipeline->WaitForSourcesDone(absl::Seconds(30)));
    h.pipeline->Stop();
    const std::vector<common::Batch> batches = h.collector.All();
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0].stats.synacks, decapsulate ? 1u : 0u);
    EXPECT_EQ(Connections(batches[0]), decapsulate ? 1u : 0u);
    EXPECT_EQ(h.pipeline->stats().decode.tunnelled_synacks, decapsulate ? 1u : 0u);
  }
}

TEST(PipelineTest, StartTwiceIsFailedPrecondition) {
  Harness h;
  h.Make(PipelineOptions{}, {false});
  ASSERT_OK(h.pipeline->Start());
  EXPECT_THAT(h.pipeline->Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
  h.pipeline->Stop();
  h.pipeline->Stop();  // Idempotent.
  EXPECT_TRUE(h.collector.All().empty());
}

}  // namespace
}  // namespace synmap::sensor
