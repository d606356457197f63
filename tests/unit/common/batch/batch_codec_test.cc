#include "common/batch/batch_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_matchers.h"

namespace synmap::common {
namespace {

using ::synmap::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kNow = 1'700'000'000 * kSecond;

SequencedBatch GoodBatch() {
  SequencedBatch b;
  b.seq = 7;
  b.batch.start_ns = kNow - 10 * kSecond;
  b.batch.end_ns = kNow;
  b.batch.stats.kernel_drops = 3;
  Record r;
  r.key.client = IpAddress::Parse("2001:db8::2").value();
  r.key.server = IpAddress::Parse("2001:db8::1").value();
  r.key.server_port = 443;
  r.packets = 3;
  r.connections = 2;
  r.first_seen_ns = kNow - 5 * kSecond;
  r.last_seen_ns = kNow - 2 * kSecond;
  b.batch.records.push_back(r);
  r.key.server_port = 22;
  b.batch.records.push_back(r);
  b.health.spool_batches = 4;
  b.health.uptime_ns = 99;
  b.merged_from = 2;
  return b;
}

TEST(BatchCodecTest, PlainToWireToPlainIsLossless) {
  const SequencedBatch batch = GoodBatch();
  ASSERT_OK_AND_ASSIGN(SequencedBatch back, DecodeBatch(BatchToProto(batch)));
  EXPECT_EQ(back, batch);
  ASSERT_OK_AND_ASSIGN(SequencedBatch checked,
                       BatchFromProto(BatchToProto(batch), kNow, BatchLimits(), nullptr));
  EXPECT_EQ(checked, batch);
}

TEST(BatchCodecTest, HelloAndHealthRoundTrip) {
  SensorInfo info;
  info.protocol_version = 2;
  info.software_version = "0.1.0";
  info.interfaces = {"eth0", "file:x.pcap"};
  info.filter = "tcp";
  info.boot_id = "b";
  info.flush_interval_ns = 10 * kSecond;
  info.health.records_lost_write_failed = 5;
  EXPECT_EQ(SensorInfoFromProto(SensorInfoToProto(info)), info);
}

TEST(BatchCodecTest, WireAndPlainFormsAreRefusedByTheSameRuleNamingTheLimit) {
  SequencedBatch zero_port = GoodBatch();
  zero_port.batch.records[1].key.server_port = 0;
  std::string plain_limit;
  std::string wire_limit;
  const absl::Status plain = CheckBatch(zero_port, kNow, BatchLimits(), &plain_limit);
  const absl::Status wire = CheckBatch(BatchToProto(zero_port), kNow, BatchLimits(), &wire_limit);
  EXPECT_THAT(plain, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(plain, wire);
  EXPECT_EQ(plain_limit, "port");
  EXPECT_EQ(wire_limit, "port");
  EXPECT_THAT(std::string(plain.message()), HasSubstr("batch seq 7: record 1"));
}

TEST(BatchCodecTest, EachLimitIsNamed) {
  struct Case {
    const char* limit;
    void (*mutate)(SequencedBatch&);
  };
  const Case cases[] = {
      {"seq", [](SequencedBatch& b) { b.seq = kMaxSeq + 1; }},
      {"window", [](SequencedBatch& b) { b.batch.end_ns = b.batch.start_ns - 1; }},
      {"future", [](SequencedBatch& b) { b.batch.end_ns = kNow + kMaxFutureNs + 1; }},
      {"ip_length", [](SequencedBatch& b) { b.batch.records[0].key.client = IpAddress(); }},
      {"ip_family",
       [](SequencedBatch& b) {
         b.batch.records[0].key.client = IpAddress::Parse("10.0.0.1").value();
       }},
      {"counts", [](SequencedBatch& b) { b.batch.records[0].packets = kMaxRecordCount + 1; }},
      {"counts", [](SequencedBatch& b) { b.batch.records[0].connections = 4; }},
      {"timestamps", [](SequencedBatch& b) { b.batch.records[0].last_seen_ns = kNow + 1; }},
  };
  for (const Case& c : cases) {
    SequencedBatch batch = GoodBatch();
    c.mutate(batch);
    std::string limit;
    EXPECT_THAT(CheckBatch(batch, kNow, BatchLimits(), &limit),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_EQ(limit, c.limit);
  }
  SequencedBatch batch = GoodBatch();
  std::string limit;
  EXPECT_THAT(CheckBatch(batch, kNow, BatchLimits{.max_records_per_batch = 1}, &limit),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(limit, "records_per_batch");
}

TEST(BatchCodecTest, WireFormThatCannotBeHeldIsRefusedNotTruncated) {
  synmap::v1::Batch proto = BatchToProto(GoodBatch());
  proto.mutable_records(0)->set_server_port(70000);
  EXPECT_THAT(DecodeBatch(proto), StatusIs(absl::StatusCode::kInvalidArgument));
  proto = BatchToProto(GoodBatch());
  proto.mutable_records(0)->set_client_ip("abc");
  std::string limit;
  EXPECT_THAT(BatchFromProto(proto, kNow, BatchLimits(), &limit),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(limit, "ip_length");
}

TEST(BatchCodecTest, DigestIgnoresSeqAndHealthAndSeesEveryRecordField) {
  const SequencedBatch a = GoodBatch();
  SequencedBatch renamed = a;
  renamed.seq = 99;
  renamed.health.spool_batches = 0;
  SequencedBatch changed = a;
  changed.batch.records[1].connections = 1;
  SequencedBatch merged = a;
  merged.merged_from = 3;
  const std::string digest = BatchDigest(a);
  EXPECT_EQ(digest.size(), kBatchDigestBytes);
  EXPECT_EQ(digest, BatchDigest(renamed));
  EXPECT_NE(digest, BatchDigest(changed));
  EXPECT_NE(digest, BatchDigest(merged));
  EXPECT_EQ(digest, BatchDigest(BatchToProto(a).SerializeAsString()));
  EXPECT_EQ(BatchDigest(absl::string_view("\xff")), "") << "malformed wire format";
}

TEST(BatchCodecTest, EncodeRefusesABatchAboveTheByteLimit) {
  SequencedBatch big = GoodBatch();
  big.batch.records.resize(400'000, big.batch.records[0]);
  EXPECT_THAT(EncodeBatch(big), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(std::string encoded, EncodeBatch(GoodBatch()));
  EXPECT_FALSE(encoded.empty());
}

}  // namespace
}  // namespace synmap::common
