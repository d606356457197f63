#include "sensor/uplink/internal/batch_codec.h"

#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace synmap::sensor::internal {
namespace {

using ::synmap::testing::StatusIs;

common::Record MakeRecord(const char* client, const char* server, uint16_t port, uint64_t packets,
                          uint64_t connections, int64_t first, int64_t last) {
  common::Record r;
  r.key.client = *common::IpAddress::Parse(client);
  r.key.server = *common::IpAddress::Parse(server);
  r.key.server_port = port;
  r.packets = packets;
  r.connections = connections;
  r.first_seen_ns = first;
  r.last_seen_ns = last;
  return r;
}

TEST(BatchCodecTest, RoundTripKeepsEverything) {
  common::Batch batch;
  batch.start_ns = 1000;
  batch.end_ns = 2000;
  batch.records.push_back(MakeRecord("10.0.0.1", "10.0.0.2", 22, 3, 2, 1100, 1900));
  batch.records.push_back(MakeRecord("2001:db8::1", "2001:db8::2", 443, 1, 1, 1200, 1200));
  batch.stats.packets_received = 77;
  batch.stats.kernel_drops = 5;
  batch.stats.malformed = 1;
  const v1::Batch proto = BatchToProto(batch, 42);
  EXPECT_EQ(proto.seq(), 42u);
  EXPECT_EQ(proto.merged_from(), 1u);
  EXPECT_EQ(proto.records(0).client_ip().size(), 4u);
  EXPECT_EQ(proto.records(1).server_ip().size(), 16u);
  ASSERT_OK_AND_ASSIGN(common::Batch back, BatchFromProto(proto));
  EXPECT_EQ(back, batch);
}

TEST(BatchCodecTest, BadAddressLengthIsInvalidArgument) {
  v1::Batch proto;
  v1::Record* r = proto.add_records();
  r->set_client_ip("abc");
  r->set_server_ip("abcd");
  r->set_server_port(1);
  EXPECT_THAT(BatchFromProto(proto), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(BatchMergerTest, SumsPerKeyUnionsWindowsAndCountsParts) {
  common::Batch a;
  a.start_ns = 1000;
  a.end_ns = 2000;
  a.records.push_back(MakeRecord("10.0.0.1", "10.0.0.9", 80, 2, 1, 1500, 1600));
  a.records.push_back(MakeRecord("10.0.0.2", "10.0.0.9", 80, 1, 1, 1100, 1100));
  a.stats.packets_received = 10;
  a.stats.synacks = 3;
  common::Batch b;
  b.start_ns = 2000;
  b.end_ns = 3000;
  b.records.push_back(MakeRecord("10.0.0.1", "10.0.0.9", 80, 4, 3, 2100, 2900));
  b.records.push_back(MakeRecord("10.0.0.3", "10.0.0.9", 22, 1, 1, 2500, 2500));
  b.stats.packets_received = 20;
  b.stats.synacks = 5;
  v1::Batch pb = BatchToProto(b, 7);
  pb.set_merged_from(3);  // Itself already a merge of three.

  BatchMerger merger;
  ASSERT_OK(merger.Add(BatchToProto(a, 5)));
  ASSERT_OK(merger.Add(pb));
  const v1::Batch merged = merger.Result();
  EXPECT_EQ(merged.seq(), 7u);
  EXPECT_EQ(merged.merged_from(), 4u);
  EXPECT_EQ(merged.start_unix_ns(), 1000);
  EXPECT_EQ(merged.end_unix_ns(), 3000);
  EXPECT_EQ(merged.stats().packets_received(), 30u);
  EXPECT_EQ(merged.stats().synacks(), 8u);
  ASSERT_OK_AND_ASSIGN(common::Batch out, BatchFromProto(merged));
  ASSERT_EQ(out.records.size(), 3u);
  // Sorted by key; the shared key is summed, first/last widened.
  EXPECT_EQ(out.records[0], MakeRecord("10.0.0.1", "10.0.0.9", 80, 6, 4, 1500, 2900));
  EXPECT_EQ(out.records[1], MakeRecord("10.0.0.2", "10.0.0.9", 80, 1, 1, 1100, 1100));
  EXPECT_EQ(out.records[2], MakeRecord("10.0.0.3", "10.0.0.9", 22, 1, 1, 2500, 2500));
  EXPECT_EQ(merger.keys(), 3u);
  EXPECT_EQ(merger.parts(), 2u);
}

TEST(BatchMergerTest, UndecodablePartIsRefusedAndNotCounted) {
  BatchMerger merger;
  v1::Batch bad;
  bad.set_seq(9);
  v1::Record* r = bad.add_records();
  r->set_client_ip("x");
  r->set_server_ip("y");
  EXPECT_THAT(merger.Add(bad), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(merger.parts(), 0u);
}

}  // namespace
}  // namespace synmap::sensor::internal
