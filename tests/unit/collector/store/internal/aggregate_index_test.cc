#include "collector/store/internal/aggregate_index.h"

#include <zlib.h>

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/collector/store/batch_builder.h"

namespace synmap::collector::internal {
namespace {

using testing::AddRecord;
using testing::kHour;
using testing::kSecond;
using testing::kT0;
using testing::MakeBatch;
using testing::Plain;

constexpr int64_t kMinute = 60 * kSecond;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

AggregateIndex Tiered() {
  return AggregateIndex({{kMinute, 48 * kHour}, {kHour, 90 * 24 * kHour}, {24 * kHour, 0}});
}

uint64_t Sum(const AggregateIndex& index, bool packets) {
  std::vector<std::shared_ptr<const AggregateBucket>> buckets;
  index.CollectBuckets(0, 0, &buckets);
  uint64_t total = 0;
  for (const auto& b : buckets) {
    for (size_t r = 0; r < b->size(); ++r) {
      total += packets ? b->packets[r] : b->connections[r];
    }
  }
  return total;
}

TEST(AggregateIndexTest, SumsSaturateAtTheMaximumInsteadOfWrappingAndAreCounted) {
  AggregateIndex index = Tiered();
  for (uint64_t seq = 1; seq <= 2; ++seq) {
    synmap::v1::Batch batch = MakeBatch(seq, kT0 + static_cast<int64_t>(seq) * kSecond);
    AddRecord(batch, "10.0.0.2", "10.0.0.1", 22, uint64_t{1} << 63, kT0 + 5 * kSecond, kMax - 1);
    index.ApplyBatch(0, "s0", Plain(batch).batch, std::numeric_limits<int64_t>::min(), kT0);
  }
  EXPECT_EQ(Sum(index, /*packets=*/true), kMax);
  EXPECT_EQ(Sum(index, /*packets=*/false), kMax);
  EXPECT_EQ(index.saturated(), 2u);
}

TEST(AggregateIndexTest, ChunksRoundTripAndAFlippedByteFailsTheChecksum) {
  AggregateIndex index = Tiered();
  synmap::v1::Batch batch = MakeBatch(1, kT0);
  AddRecord(batch, "10.0.0.2", "10.0.0.1", 22, 5, kT0 + kSecond);
  index.ApplyBatch(0, "s0", Plain(batch).batch, std::numeric_limits<int64_t>::min(), kT0);
  std::vector<std::string> chunks = index.EncodeBucket(kT0, 100);
  ASSERT_EQ(chunks.size(), 1u);
  AggregateIndex loaded = Tiered();
  EXPECT_OK(loaded.LoadChunk(kT0, 3, chunks[0], 0, 1));
  EXPECT_EQ(Sum(loaded, false), 5u);
  for (size_t i = 0; i < chunks[0].size(); ++i) {
    std::string bad = chunks[0];
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    AggregateIndex fresh = Tiered();
    EXPECT_THAT(fresh.LoadChunk(kT0, 3, bad, 0, 1),
                synmap::testing::StatusIs(absl::StatusCode::kDataLoss))
        << "byte " << i;
  }
}

// Stores written before handshake deduplication hold format-2 chunks: rows without the
// duplicates column. They load with no duplicates.
TEST(AggregateIndexTest, FormatTwoChunksOfOlderStoresLoadWithoutDuplicates) {
  AggregateIndex index = Tiered();
  synmap::v1::Batch batch = MakeBatch(1, kT0);
  AddRecord(batch, "10.0.0.2", "10.0.0.1", 22, 5, kT0 + kSecond);
  AddRecord(batch, "10.0.0.3", "10.0.0.1", 22, 2, kT0 + kSecond);
  index.ApplyBatch(0, "s0", Plain(batch).batch, std::numeric_limits<int64_t>::min(), kT0);
  const std::string v3 = index.EncodeBucket(kT0, 100).at(0);
  constexpr size_t kHeader = 4 + 4 + 8 * 3;
  constexpr size_t kRow2 = 4 + 1 + 16 + 1 + 16 + 2 + 8 * 4;
  std::string v2 = "SMA2" + v3.substr(4, kHeader - 4);
  for (size_t at = kHeader; at + kRow2 + 8 + 4 <= v3.size(); at += kRow2 + 8) {
    v2 += v3.substr(at, kRow2);
  }
  uint32_t crc =
      static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(v2.data()),
                                  static_cast<uInt>(v2.size())));
  v2.append(reinterpret_cast<const char*>(&crc), 4);
  AggregateIndex loaded = Tiered();
  ASSERT_OK(loaded.LoadChunk(kT0, 2, v2, 0, 1));
  EXPECT_EQ(Sum(loaded, false), 7u);
}

TEST(AggregateIndexTest, RollUpMergesAgedMinutesIntoTheirHourOnly) {
  AggregateIndex index = Tiered();
  for (int m = 0; m < 120; ++m) {
    synmap::v1::Batch batch = MakeBatch(1, kT0 + m * kMinute);
    AddRecord(batch, "10.0.0.2", "10.0.0.1", 22, 1, kT0 + m * kMinute + kSecond);
    index.ApplyBatch(0, "s0", Plain(batch).batch, std::numeric_limits<int64_t>::min(),
                     kT0 + 2 * kHour);
  }
  ASSERT_EQ(index.bucket_count(), 120u);
  // 48 h after the first hour ends, only the first hour is old enough.
  EXPECT_EQ(index.RollUp(kT0 + 49 * kHour + 30 * kMinute), 60u);
  EXPECT_EQ(index.bucket_count(), 61u);
  EXPECT_EQ(Sum(index, false), 120u);
  // A late batch for a rolled-up hour lands in the hour bucket.
  synmap::v1::Batch late = MakeBatch(2, kT0 + 30 * kMinute + 5 * kSecond);
  AddRecord(late, "10.0.0.2", "10.0.0.1", 22, 1, kT0 + 30 * kMinute + 6 * kSecond);
  index.ApplyBatch(0, "s0", Plain(late).batch, std::numeric_limits<int64_t>::min(),
                   kT0 + 50 * kHour);
  EXPECT_EQ(index.bucket_count(), 61u);
  EXPECT_EQ(Sum(index, false), 121u);
}

// Rows of the bucket starting at `start_ns`: port -> connections.
std::map<uint32_t, uint64_t> PortsOf(
    const AggregateIndex& index, const std::vector<std::shared_ptr<const AggregateBucket>>& from,
    int64_t start_ns) {
  std::map<uint32_t, uint64_t> out;
  for (const auto& b : from) {
    if (b->start_ns == start_ns) {
      for (size_t r = 0; r < b->size(); ++r) {
        out[(*index.keys())[b->key[r]].port] += b->connections[r];
      }
    }
  }
  return out;
}

// Only the buckets written lately keep their key index; an older one (settled) rebuilds it when
// a late batch reaches it, so the batch adds to the rows it has instead of making new ones,
// whether or not a snapshot held the bucket when it settled or when it changed.
TEST(AggregateIndexTest, SettledBucketsAddLateBatchesToTheirRowsAndSnapshotsKeepTheirView) {
  AggregateIndex index = Tiered();
  auto apply = [&index](int m, std::vector<uint32_t> ports, uint64_t connections) {
    synmap::v1::Batch batch = MakeBatch(1, kT0 + m * kMinute);
    for (uint32_t port : ports) {
      AddRecord(batch, "10.0.0.2", "10.0.0.1", port, connections, kT0 + m * kMinute + kSecond);
    }
    index.ApplyBatch(0, "s0", Plain(batch).batch, std::numeric_limits<int64_t>::min(),
                     kT0 + 2 * kHour);
  };
  for (int m = 0; m < 20; ++m) {
    apply(m, {22, 80, 443}, 1);
  }
  std::vector<std::shared_ptr<const AggregateBucket>> before;
  index.CollectBuckets(0, 0, &before);
  apply(0, {22, 8080}, 5);  // Minute 0 settled long ago; a snapshot holds it.
  for (int m = 1; m < 20; ++m) {
    apply(m, {443}, 2);  // Minute 0 settles again, still held by the snapshot.
  }
  apply(0, {80, 8080}, 7);
  std::vector<std::shared_ptr<const AggregateBucket>> after;
  index.CollectBuckets(0, 0, &after);
  EXPECT_EQ(PortsOf(index, before, kT0),
            (std::map<uint32_t, uint64_t>{{22, 1}, {80, 1}, {443, 1}}));
  EXPECT_EQ(PortsOf(index, after, kT0),
            (std::map<uint32_t, uint64_t>{{22, 6}, {80, 8}, {443, 1}, {8080, 12}}));
  EXPECT_EQ(PortsOf(index, after, kT0 + 7 * kMinute),
            (std::map<uint32_t, uint64_t>{{22, 1}, {80, 1}, {443, 3}}));
  EXPECT_EQ(index.rows(), 20u * 3u + 1u);
  EXPECT_EQ(Sum(index, false), 20u * 3u + 10u + 19u * 2u + 14u);
}

// A chunk as stores wrote it before tiers (format 1: no width, no checksum): one row.
std::string FormatOneChunk() {
  std::string out("SMA1", 4);
  auto put = [&out](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  const uint32_t count = 1;
  put(&count, 4);
  const uint32_t sensor = 0;
  put(&sensor, 4);
  for (uint8_t last : {2, 1}) {
    const uint8_t length = 4;
    put(&length, 1);
    std::string bytes(16, '\0');
    bytes[0] = 10;
    bytes[3] = static_cast<char>(last);
    out += bytes;
  }
  const uint16_t port = 22;
  put(&port, 2);
  const uint64_t packets = 9;
  const uint64_t connections = 7;
  const int64_t first = kT0 + 5 * kMinute;
  const int64_t last = kT0 + 50 * kMinute;
  put(&packets, 8);
  put(&connections, 8);
  put(&first, 8);
  put(&last, 8);
  return out;
}

TEST(AggregateIndexTest, FormatOneChunksLoadAsBucketsOfTheStoredWidthAndTakeNewData) {
  AggregateIndex index = Tiered();
  ASSERT_OK(index.LoadChunk(kT0, 1, FormatOneChunk(), kHour, 1));
  synmap::v1::Batch batch = MakeBatch(1, kT0 + 20 * kMinute);
  AddRecord(batch, "10.0.0.2", "10.0.0.1", 22, 1, kT0 + 20 * kMinute + kSecond);
  index.ApplyBatch(0, "s0", Plain(batch).batch, std::numeric_limits<int64_t>::min(), kT0 + kHour);
  ASSERT_EQ(index.bucket_count(), 1u);  // Into the old hour bucket, not a new minute one.
  EXPECT_EQ(Sum(index, false), 8u);
  EXPECT_EQ(index.Widen(kT0 + 20 * kMinute, 0, kT0 + kHour).since_ns, kT0);
}

}  // namespace
}  // namespace synmap::collector::internal
