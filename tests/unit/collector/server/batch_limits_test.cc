#include "collector/server/batch_limits.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_matchers.h"

namespace synmap::collector {
namespace {

using ::synmap::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kNow = 1'700'000'000 * kSecond;

synmap::v1::Record GoodRecord() {
  synmap::v1::Record r;
  r.set_client_ip(std::string("\x0a\x00\x00\x02", 4));
  r.set_server_ip(std::string("\x0a\x00\x00\x01", 4));
  r.set_server_port(443);
  r.set_packets(3);
  r.set_connections(2);
  r.set_first_seen_unix_ns(kNow - 5 * kSecond);
  r.set_last_seen_unix_ns(kNow - 2 * kSecond);
  return r;
}

synmap::v1::Batch GoodBatch() {
  synmap::v1::Batch b;
  b.set_seq(7);
  b.set_start_unix_ns(kNow - 10 * kSecond);
  b.set_end_unix_ns(kNow);
  *b.add_records() = GoodRecord();
  return b;
}

// Validates and returns the limit name, expecting InvalidArgument that names the seq.
std::string RefusedLimit(const synmap::v1::Batch& batch, const IngestLimits& limits = {}) {
  std::string limit;
  absl::Status s = ValidateBatch(batch, kNow, limits, &limit);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(s.message()), HasSubstr(absl::StrCat("batch seq ", batch.seq())));
  return limit;
}

TEST(BatchLimitsTest, GoodBatchPasses) {
  std::string limit = "untouched";
  EXPECT_OK(ValidateBatch(GoodBatch(), kNow, IngestLimits(), &limit));
  EXPECT_EQ(limit, "untouched");
}

TEST(BatchLimitsTest, EmptyBatchPasses) {
  synmap::v1::Batch b = GoodBatch();
  b.clear_records();
  EXPECT_OK(ValidateBatch(b, kNow, IngestLimits(), nullptr));
}

TEST(BatchLimitsTest, Ipv6RecordPasses) {
  synmap::v1::Batch b = GoodBatch();
  b.mutable_records(0)->set_client_ip(std::string(16, '\x20'));
  b.mutable_records(0)->set_server_ip(std::string(16, '\x21'));
  EXPECT_OK(ValidateBatch(b, kNow, IngestLimits(), nullptr));
}

TEST(BatchLimitsTest, SeqFromTwoToTheSixtyThreeIsRefusedNamingTheLimit) {
  synmap::v1::Batch b = GoodBatch();
  b.set_seq((uint64_t{1} << 63) - 1);
  EXPECT_OK(ValidateBatch(b, kNow, IngestLimits(), nullptr));
  for (uint64_t seq : {uint64_t{1} << 63, ~uint64_t{0}}) {
    b.set_seq(seq);
    EXPECT_EQ(RefusedLimit(b), "seq");
    EXPECT_THAT(std::string(ValidateBatch(b, kNow, IngestLimits(), nullptr).message()),
                HasSubstr("2^63-1"));
  }
}

TEST(BatchLimitsTest, CountsAboveTwoToTheFortyAreRefused) {
  synmap::v1::Batch b = GoodBatch();
  b.mutable_records(0)->set_packets(uint64_t{1} << 40);
  b.mutable_records(0)->set_connections(uint64_t{1} << 40);
  EXPECT_OK(ValidateBatch(b, kNow, IngestLimits(), nullptr));
  b.mutable_records(0)->set_packets((uint64_t{1} << 40) + 1);
  EXPECT_EQ(RefusedLimit(b), "counts");
  b.mutable_records(0)->set_packets(~uint64_t{0});  // 2^64-1: would wrap any sum.
  EXPECT_EQ(RefusedLimit(b), "counts");
}

TEST(BatchLimitsTest, SeqZeroIsRefused) {
  synmap::v1::Batch b = GoodBatch();
  b.set_seq(0);
  EXPECT_EQ(RefusedLimit(b), "seq");
}

TEST(BatchLimitsTest, WindowEndingBeforeStartIsRefused) {
  synmap::v1::Batch b = GoodBatch();
  b.set_end_unix_ns(b.start_unix_ns() - 1);
  EXPECT_EQ(RefusedLimit(b), "window");
}

TEST(BatchLimitsTest, WindowStartingAtZeroIsRefused) {
  synmap::v1::Batch b = GoodBatch();
  b.set_start_unix_ns(0);
  EXPECT_EQ(RefusedLimit(b), "window");
}

TEST(BatchLimitsTest, WindowMoreThanADayAheadIsRefused) {
  synmap::v1::Batch b = GoodBatch();
  b.set_end_unix_ns(kNow + 86'400 * kSecond + 1);
  EXPECT_EQ(RefusedLimit(b), "future");
  b.set_end_unix_ns(kNow + 86'400 * kSecond);  // Exactly one day ahead is allowed.
  EXPECT_OK(ValidateBatch(b, kNow, IngestLimits(), nullptr));
}

TEST(BatchLimitsTest, TooManyRecordsIsRefused) {
  synmap::v1::Batch b = GoodBatch();
  *b.add_records() = GoodRecord();
  *b.add_records() = GoodRecord();
  IngestLimits limits;
  limits.max_records_per_batch = 2;
  EXPECT_EQ(RefusedLimit(b, limits), "records_per_batch");
  limits.max_records_per_batch = 3;
  EXPECT_OK(ValidateBatch(b, kNow, limits, nullptr));
}

TEST(BatchLimitsTest, DefaultRecordLimitIs200000) {
  EXPECT_EQ(IngestLimits().max_records_per_batch, 200'000);
  EXPECT_EQ(IngestLimits().max_message_bytes, 16 << 20);
}

TEST(BatchLimitsTest, IpOfFiveBytesIsRefused) {
  synmap::v1::Batch b = GoodBatch();
  b.mutable_records(0)->set_server_ip("12345");
  EXPECT_EQ(RefusedLimit(b), "ip_length");
}

TEST(BatchLimitsTest, EmptyIpIsRefused) {
  synmap::v1::Batch b = GoodBatch();
  b.mutable_records(0)->clear_client_ip();
  EXPECT_EQ(RefusedLimit(b), "ip_length");
}

TEST(BatchLimitsTest, MixedFamiliesAreRefused) {
  synmap::v1::Batch b = GoodBatch();
  b.mutable_records(0)->set_server_ip(std::string(16, '\x20'));
  EXPECT_EQ(RefusedLimit(b), "ip_family");
}

TEST(BatchLimitsTest, PortZeroAndAbove65535AreRefused) {
  synmap::v1::Batch b = GoodBatch();
  b.mutable_records(0)->set_server_port(0);
  EXPECT_EQ(RefusedLimit(b), "port");
  b.mutable_records(0)->set_server_port(65536);
  EXPECT_EQ(RefusedLimit(b), "port");
  b.mutable_records(0)->set_server_port(65535);
  EXPECT_OK(ValidateBatch(b, kNow, IngestLimits(), nullptr));
}

TEST(BatchLimitsTest, MoreConnectionsThanPacketsIsRefused) {
  synmap::v1::Batch b = GoodBatch();
  b.mutable_records(0)->set_connections(4);
  EXPECT_EQ(RefusedLimit(b), "counts");
}

TEST(BatchLimitsTest, ZeroPacketsIsRefused) {
  synmap::v1::Batch b = GoodBatch();
  b.mutable_records(0)->set_packets(0);
  b.mutable_records(0)->set_connections(0);
  EXPECT_EQ(RefusedLimit(b), "counts");
}

TEST(BatchLimitsTest, RetransmissionOnlyRecordPasses) {
  // A retransmission of a handshake counted in the previous window: packets, no connection.
  synmap::v1::Batch b = GoodBatch();
  b.mutable_records(0)->set_connections(0);
  EXPECT_OK(ValidateBatch(b, kNow, IngestLimits(), nullptr));
}

TEST(BatchLimitsTest, FirstSeenAfterLastSeenIsRefused) {
  synmap::v1::Batch b = GoodBatch();
  b.mutable_records(0)->set_first_seen_unix_ns(b.records(0).last_seen_unix_ns() + 1);
  EXPECT_EQ(RefusedLimit(b), "timestamps");
}

TEST(BatchLimitsTest, RecordOutsideWindowIsRefused) {
  synmap::v1::Batch b = GoodBatch();
  b.mutable_records(0)->set_first_seen_unix_ns(b.start_unix_ns() - 1);
  EXPECT_EQ(RefusedLimit(b), "timestamps");
  b = GoodBatch();
  b.mutable_records(0)->set_last_seen_unix_ns(b.end_unix_ns() + 1);
  EXPECT_EQ(RefusedLimit(b), "timestamps");
}

TEST(BatchLimitsTest, MessageNamesTheRecordIndex) {
  synmap::v1::Batch b = GoodBatch();
  *b.add_records() = GoodRecord();
  b.mutable_records(1)->set_server_port(0);
  std::string limit;
  absl::Status s = ValidateBatch(b, kNow, IngestLimits(), &limit);
  EXPECT_THAT(std::string(s.message()), HasSubstr("record 1"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("limit port"));
}

}  // namespace
}  // namespace synmap::collector
