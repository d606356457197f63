#include "common/aggregate/merge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
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

// Random records over a small key space, so lists share keys (and a list may repeat one).
std::vector<Record> RandomRecords(std::mt19937& rng, int count) {
  static const char* const kHosts[] = {"10.0.0.1", "10.0.0.2", "2001:db8::1", "192.0.2.7"};
  std::vector<Record> records;
  for (int i = 0; i < count; ++i) {
    const int64_t first = static_cast<int64_t>(rng() % 1000);
    records.push_back(MakeRecord(kHosts[rng() % 4], kHosts[rng() % 4],
                                 static_cast<uint16_t>(rng() % 5), 1 + rng() % 9, rng() % 3, first,
                                 first + static_cast<int64_t>(rng() % 100)));
  }
  return records;
}

// The records of `lists` combined key by key with Record::MergeFrom, sorted by key: the
// reference the merger must equal.
std::vector<Record> Combined(const std::vector<std::vector<Record>>& lists) {
  std::map<RecordKey, Record> by_key;
  for (const std::vector<Record>& list : lists) {
    for (const Record& r : list) {
      if (auto [it, inserted] = by_key.try_emplace(r.key, r); !inserted) {
        it->second.MergeFrom(r);
      }
    }
  }
  std::vector<Record> out;
  for (const auto& [key, record] : by_key) {
    out.push_back(record);
  }
  return out;
}

std::vector<Record> MergedSorted(const std::vector<std::vector<Record>>& lists) {
  RecordMerger merger;
  for (const std::vector<Record>& list : lists) {
    merger.Add(list);
  }
  return merger.TakeSorted();
}

TEST(RecordMergerTest, CombinesEqualKeys) {
  const std::vector<Record> merged =
      MergedSorted({{MakeRecord("10.0.0.1", "10.0.0.9", 80, 5, 2, 100, 200)},
                    {MakeRecord("10.0.0.1", "10.0.0.9", 80, 3, 1, 50, 150)}});
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0], MakeRecord("10.0.0.1", "10.0.0.9", 80, 8, 3, 50, 200));
}

TEST(RecordMergerTest, HandsOutDistinctKeysInKeyOrder) {
  const std::vector<Record> merged =
      MergedSorted({{MakeRecord("10.0.0.3", "10.0.0.9", 80, 1, 1, 1, 1),
                     MakeRecord("10.0.0.1", "10.0.0.9", 80, 1, 1, 1, 1)},
                    {MakeRecord("10.0.0.4", "10.0.0.9", 80, 2, 2, 2, 2),
                     MakeRecord("10.0.0.2", "10.0.0.9", 80, 2, 2, 2, 2)}});
  ASSERT_EQ(merged.size(), 4u);
  EXPECT_EQ(merged[0].key.client, Ip("10.0.0.1"));
  EXPECT_EQ(merged[1].key.client, Ip("10.0.0.2"));
  EXPECT_EQ(merged[2].key.client, Ip("10.0.0.3"));
  EXPECT_EQ(merged[3].key.client, Ip("10.0.0.4"));
}

TEST(RecordMergerTest, EmptyListsAddNothing) {
  const std::vector<Record> a = {MakeRecord("10.0.0.1", "10.0.0.9", 80, 1, 1, 1, 1)};
  EXPECT_EQ(MergedSorted({a, {}}), a);
  EXPECT_EQ(MergedSorted({{}, a}), a);
  EXPECT_TRUE(MergedSorted({{}, {}}).empty());
}

// The combination is associative and commutative: lists added in any order, or first combined
// in any grouping, give the same records, each key once in key order.
TEST(RecordMergerTest, AnyOrderAndGroupingGiveTheSameRecords) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    const std::vector<Record> a = RandomRecords(rng, 20);
    const std::vector<Record> b = RandomRecords(rng, 20);
    const std::vector<Record> c = RandomRecords(rng, 20);
    const std::vector<Record> abc = MergedSorted({a, b, c});
    EXPECT_EQ(MergedSorted({c, a, b}), abc) << "round " << round;
    EXPECT_EQ(MergedSorted({MergedSorted({a, b}), c}), abc) << "round " << round;
    EXPECT_EQ(MergedSorted({a, MergedSorted({b, c})}), abc) << "round " << round;
    EXPECT_EQ(abc, Combined({a, b, c})) << "round " << round;
    for (size_t i = 1; i < abc.size(); ++i) {
      ASSERT_LT(abc[i - 1].key, abc[i].key) << "round " << round;
    }
  }
}

TEST(RecordMergerTest, PreservesTotals) {
  std::mt19937 rng(11);
  const std::vector<Record> a = RandomRecords(rng, 30);
  const std::vector<Record> b = RandomRecords(rng, 30);
  uint64_t packets = 0;
  for (const Record& r : a) packets += r.packets;
  for (const Record& r : b) packets += r.packets;
  uint64_t merged_packets = 0;
  for (const Record& r : MergedSorted({a, b})) merged_packets += r.packets;
  EXPECT_EQ(merged_packets, packets);
}

TEST(RecordMergerTest, CountingTwoHalvesEqualsCountingEverything) {
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
  EXPECT_EQ(MergedSorted({first_half.TakeRecords(), second_half.TakeRecords()}),
            whole.TakeRecords());
}

// Many lists, in any order and with repeated keys, past several blocks of keys: both takes give
// each key once, combined.
TEST(RecordMergerTest, CombinesManyListsPastSeveralBlocks) {
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
  lists.emplace_back(wide.begin(), wide.begin() + 5000);
  for (std::vector<Record>& list : lists) {
    std::shuffle(list.begin(), list.end(), rng);
  }
  const std::vector<Record> want = Combined(lists);
  RecordMerger merger;
  for (const std::vector<Record>& list : lists) {
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
  std::sort(flat.begin(), flat.end(),
            [](const Record& a, const Record& b) { return a.key < b.key; });
  EXPECT_EQ(flat, want);  // Each key once.
}

}  // namespace
}  // namespace synmap::common
