// Handshake fingerprints in the batch contract: the recorder that orders them like the
// records, and the one validator's rules for them (both forms), and their wire round trip.

#include "common/batch/handshake.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/aggregate/synack_table.h"
#include "common/batch/batch_codec.h"
#include "tests/testing/status_matchers.h"

namespace synmap::common {
namespace {

using ::synmap::testing::StatusIs;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1000 * kMs;
constexpr int64_t kStart = 1'700'000'000 * kSecond;

SynAckEvent Event(const std::string& client, uint16_t port, uint16_t client_port, uint32_t isn,
                  int64_t at_ns) {
  SynAckEvent e;
  e.client = IpAddress::Parse(client).value();
  e.server = IpAddress::Parse("198.51.100.1").value();
  e.server_port = port;
  e.client_port = client_port;
  e.isn = isn;
  e.timestamp_ns = at_ns;
  return e;
}

// What the sensor's pipeline does: every new connection goes to the recorder.
SequencedBatch Window(const std::vector<SynAckEvent>& events) {
  SynAckTable table{SynAckTableOptions()};
  HandshakeRecorder recorder;
  for (const SynAckEvent& e : events) {
    if (table.Add(e)) {
      recorder.Add(e);
    }
  }
  SequencedBatch b;
  b.seq = 1;
  b.batch.start_ns = kStart;
  b.batch.end_ns = kStart + 10 * kSecond;
  b.batch.records = table.TakeRecords();
  b.batch.handshakes = recorder.Take(b.batch.records, kStart);
  EXPECT_EQ(recorder.size(), 0u);
  return b;
}

TEST(HandshakeRecorderTest, OneFingerprintPerConnectionInRecordOrderAndTimeOrder) {
  const SequencedBatch b = Window({
      Event("192.0.2.9", 443, 40001, 11, kStart + 3 * kSecond),
      Event("192.0.2.1", 443, 40002, 12, kStart + 2 * kSecond),
      Event("192.0.2.9", 443, 40001, 11, kStart + 4 * kSecond),  // A retransmission.
      Event("192.0.2.9", 443, 40003, 13, kStart + 1500 * kMs),
  });
  ASSERT_EQ(b.batch.records.size(), 2u);
  ASSERT_EQ(b.batch.handshakes.size(), 3u);
  EXPECT_EQ(b.batch.handshakes[0], (Handshake{HandshakeFingerprint(40002, 12), 2000}));
  EXPECT_EQ(b.batch.handshakes[1], (Handshake{HandshakeFingerprint(40003, 13), 1500}));
  EXPECT_EQ(b.batch.handshakes[2], (Handshake{HandshakeFingerprint(40001, 11), 3000}));
  EXPECT_OK(CheckBatch(b, kStart + 20 * kSecond, BatchLimits(), nullptr));
}

TEST(HandshakeRecorderTest, RecordsThatDoNotMatchGiveNoFingerprints) {
  HandshakeRecorder recorder;
  recorder.Add(Event("192.0.2.9", 443, 40001, 11, kStart));
  Record r;
  r.key = RecordKey{IpAddress::Parse("192.0.2.9").value(), IpAddress::Parse("198.51.100.1").value(),
                    443};
  r.packets = 2;
  r.connections = 2;  // One more than noted.
  r.first_seen_ns = r.last_seen_ns = kStart;
  EXPECT_TRUE(recorder.Take({r}, kStart).empty());
  recorder.Add(Event("192.0.2.9", 443, 40001, 11, kStart - kSecond));  // Before the window.
  r.connections = 1;
  EXPECT_TRUE(recorder.Take({r}, kStart).empty());
}

TEST(HandshakeContractTest, WireRoundTripIsLosslessAndPartOfTheDigest) {
  SequencedBatch b = Window({Event("192.0.2.9", 443, 40001, 11, kStart + kSecond),
                             Event("192.0.2.9", 80, 40002, 12, kStart + 2 * kSecond)});
  const synmap::v1::Batch wire = BatchToProto(b);
  EXPECT_EQ(wire.handshake_fingerprints_size(), 2);
  ASSERT_OK_AND_ASSIGN(SequencedBatch back, DecodeBatch(wire));
  EXPECT_EQ(back, b);
  SequencedBatch other = b;
  other.batch.handshakes[0].fingerprint ^= 1;
  EXPECT_NE(BatchDigest(other), BatchDigest(b));
  SequencedBatch none = b;
  none.batch.handshakes.clear();
  EXPECT_OK(CheckBatch(none, kStart + 20 * kSecond, BatchLimits(), nullptr))
      << "an older sensor sends none";
}

TEST(HandshakeContractTest, BothFormsRefuseFingerprintsNotOnePerConnectionOrPastTheWindow) {
  const SequencedBatch good = Window({Event("192.0.2.9", 443, 40001, 11, kStart + kSecond)});
  SequencedBatch extra = good;
  extra.batch.handshakes.push_back(Handshake{1, 0});
  SequencedBatch late = good;
  late.batch.handshakes[0].offset_ms = 10'001;
  for (const SequencedBatch& bad : {extra, late}) {
    std::string limit;
    EXPECT_THAT(CheckBatch(bad, kStart + 20 * kSecond, BatchLimits(), &limit),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_EQ(limit, "handshakes");
    limit.clear();
    EXPECT_THAT(CheckBatch(BatchToProto(bad), kStart + 20 * kSecond, BatchLimits(), &limit),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_EQ(limit, "handshakes");
  }
  synmap::v1::Batch uneven = BatchToProto(good);
  uneven.add_handshake_offsets_ms(0);
  EXPECT_THAT(CheckBatch(uneven, kStart + 20 * kSecond, BatchLimits(), nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(DecodeBatch(uneven).ok());
}

}  // namespace
}  // namespace synmap::common
