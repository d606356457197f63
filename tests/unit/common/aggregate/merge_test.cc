#include "common/aggregate/merge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/aggregate/synack_table.h"
#include "tests/unit/common/aggregate/make_event.h"

namespace synmap::common {
namespace {

using ::synmap::common::testing::Ip;
using ::synmap::common::testing::MakeSynAck;

Record MakeRecord(const std::string& client, const std::string& server, uint16_t port,
                  uint64_t packets, uint64_t connections, int64_t first_ns, int64_t last_ns) {
  return Record{.key = RecordKey{Ip(client), Ip(server), port},
                .packets = packets,
                .connections = connections,
                .first_seen_ns = first_ns,
                .last_seen_ns = last_ns};
}

// Random records over a small key space, so lists share keys.
std::vector<Record> RandomRecords(std::mt19937& rng, int count) {
  static const char* const kHosts[] = {"10.0.0.1", "10.0.0.2", "2001:db8::1", "192.0.2.7"};
  std::vector<Record> records;
  for (int i = 0; i < count; ++i) {
    const int64_t first = static_cast<int64_t>(rng() % 1000);
    records.push_back(MakeRecord(kHosts[rng() % 4], kHosts[rng() % 4],
                                 static_cast<uint16_t>(rng() % 5), 1 + rng() % 9, rng() % 3, first,
                                 first + static_cast<int64_t>(rng() % 100)));
  }
  return SortAndCombineRecords(std::move(records));
}

TEST(MergeRecordsTest, CombinesEqualKeys) {
  const std::vector<Record> a = {MakeRecord("10.0.0.1", "10.0.0.9", 80, 5, 2, 100, 200)};
  const std::vector<Record> b = {MakeRecord("10.0.0.1", "10.0.0.9", 80, 3, 1, 50, 150)};
  const std::vector<Record> merged = MergeRecords(a, b);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0], MakeRecord("10.0.0.1", "10.0.0.9", 80, 8, 3, 50, 200));
}

TEST(MergeRecordsTest, InterleavesDistinctKeysInOrder) {
  const std::vector<Record> a = {MakeRecord("10.0.0.1", "10.0.0.9", 80, 1, 1, 1, 1),
                                 MakeRecord("10.0.0.3", "10.0.0.9", 80, 1, 1, 1, 1)};
  const std::vector<Record> b = {MakeRecord("10.0.0.2", "10.0.0.9", 80, 2, 2, 2, 2),
                                 MakeRecord("10.0.0.4", "10.0.0.9", 80, 2, 2, 2, 2)};
  const std::vector<Record> merged = MergeRecords(a, b);
  ASSERT_EQ(merged.size(), 4u);
  EXPECT_EQ(merged[0].key.client, Ip("10.0.0.1"));
  EXPECT_EQ(merged[1].key.client, Ip("10.0.0.2"));
  EXPECT_EQ(merged[2].key.client, Ip("10.0.0.3"));
  EXPECT_EQ(merged[3].key.client, Ip("10.0.0.4"));
}

TEST(MergeRecordsTest, EmptySideReturnsTheOther) {
  const std::vector<Record> a = {MakeRecord("10.0.0.1", "10.0.0.9", 80, 1, 1, 1, 1)};
  EXPECT_EQ(MergeRecords(a, {}), a);
  EXPECT_EQ(MergeRecords({}, a), a);
  EXPECT_TRUE(MergeRecords({}, {}).empty());
}

TEST(MergeRecordsTest, IsAssociativeAndCommutative) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    const std::vector<Record> a = RandomRecords(rng, 20);
    const std::vector<Record> b = RandomRecords(rng, 20);
    const std::vector<Record> c = RandomRecords(rng, 20);
    const std::vector<Record> left = MergeRecords(MergeRecords(a, b), c);
    const std::vector<Record> right = MergeRecords(a, MergeRecords(b, c));
    EXPECT_EQ(left, right) << "round " << round;
    EXPECT_EQ(MergeRecords(a, b), MergeRecords(b, a)) << "round " << round;
    EXPECT_TRUE(IsSortedByUniqueKey(left));
  }
}

TEST(MergeRecordsTest, PreservesTotals) {
  std::mt19937 rng(11);
  const std::vector<Record> a = RandomRecords(rng, 30);
  const std::vector<Record> b = RandomRecords(rng, 30);
  uint64_t packets = 0;
  for (const Record& r : a) packets += r.packets;
  for (const Record& r : b) packets += r.packets;
  uint64_t merged_packets = 0;
  for (const Record& r : MergeRecords(a, b)) merged_packets += r.packets;
  EXPECT_EQ(merged_packets, packets);
}

TEST(MergeRecordsTest, MergingTwoHalvesEqualsCountingEverything) {
  // No retransmissions in this stream, so splitting it between two tables changes nothing.
  std::mt19937 rng(3);
  std::vector<SynAckEvent> events;
  for (uint32_t i = 0; i < 500; ++i) {
    events.push_back(MakeSynAck(rng() % 2 ? "10.0.0.8" : "10.0.0.9",
                                static_cast<uint16_t>(rng() % 3 + 80),
                                rng() % 2 ? "192.0.2.1" : "2001:db8::5", static_cast<uint16_t>(i),
                                i, int64_t{1000} + rng() % 5000));
  }
  SynAckTable whole(SynAckTableOptions{});
  SynAckTable first_half(SynAckTableOptions{});
  SynAckTable second_half(SynAckTableOptions{});
  for (size_t i = 0; i < events.size(); ++i) {
    whole.Add(events[i]);
    (i % 2 == 0 ? first_half : second_half).Add(events[i]);
  }
  EXPECT_EQ(MergeRecords(first_half.TakeRecords(), second_half.TakeRecords()), whole.TakeRecords());
}

TEST(SortAndCombineRecordsTest, SortsAndCombinesDuplicates) {
  std::vector<Record> records = {MakeRecord("10.0.0.2", "10.0.0.9", 80, 1, 1, 10, 10),
                                 MakeRecord("10.0.0.1", "10.0.0.9", 80, 1, 1, 20, 20),
                                 MakeRecord("10.0.0.2", "10.0.0.9", 80, 4, 0, 5, 7)};
  const std::vector<Record> out = SortAndCombineRecords(std::move(records));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], MakeRecord("10.0.0.1", "10.0.0.9", 80, 1, 1, 20, 20));
  EXPECT_EQ(out[1], MakeRecord("10.0.0.2", "10.0.0.9", 80, 5, 1, 5, 10));
}

TEST(IsSortedByUniqueKeyTest, RejectsDisorderAndDuplicates) {
  const Record r1 = MakeRecord("10.0.0.1", "10.0.0.9", 80, 1, 1, 1, 1);
  const Record r2 = MakeRecord("10.0.0.2", "10.0.0.9", 80, 1, 1, 1, 1);
  EXPECT_TRUE(IsSortedByUniqueKey(std::vector<Record>{r1, r2}));
  EXPECT_FALSE(IsSortedByUniqueKey(std::vector<Record>{r2, r1}));
  EXPECT_FALSE(IsSortedByUniqueKey(std::vector<Record>{r1, r1}));
  EXPECT_TRUE(IsSortedByUniqueKey(std::vector<Record>{}));
}

// Many lists, in any order and with repeated keys, combined in the merger: the same records as
// merging them as sorted lists one after another; past several blocks of keys.
TEST(RecordMergerTest, CombinesAnyListsAsPairwiseMergesDo) {
  std::mt19937 rng(21);
  std::vector<std::vector<Record>> lists;
  for (int i = 0; i < 40; ++i) {
    lists.push_back(RandomRecords(rng, 1 + static_cast<int>(rng() % 60)));
  }
  // Many distinct keys too (more than two blocks of the table).
  std::vector<Record> wide;
  for (uint32_t i = 0; i < 40'000; ++i) {
    wide.push_back(MakeRecord("10." + std::to_string(i >> 16) + "." +
                                  std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255),
                              "192.0.2.1", static_cast<uint16_t>(1 + i % 3), 1 + i % 4, i % 2, i,
                              i + 5));
  }
  lists.push_back(wide);
  lists.push_back(SortAndCombineRecords(std::vector<Record>(wide.begin(), wide.begin() + 5000)));
  std::vector<Record> want;
  RecordMerger merger;
  for (std::vector<Record>& list : lists) {
    want = MergeRecords(want, SortAndCombineRecords(list));
    std::shuffle(list.begin(), list.end(), rng);  // The merger takes any order.
    merger.Add(list);
  }
  EXPECT_EQ(merger.size(), want.size());
  EXPECT_EQ(merger.TakeSorted(/*two_threads=*/true), want);
  EXPECT_EQ(merger.size(), 0u);

  for (const std::vector<Record>& list : lists) {
    merger.Add(list);
  }
  std::vector<Record> flat;
  for (const std::vector<Record>& block : merger.TakeBlocks()) {
    ASSERT_FALSE(block.empty());
    flat.insert(flat.end(), block.begin(), block.end());
  }
  EXPECT_EQ(SortAndCombineRecords(flat), want);
  EXPECT_EQ(flat.size(), want.size());  // Each key once.
}

}  // namespace
}  // namespace synmap::common
