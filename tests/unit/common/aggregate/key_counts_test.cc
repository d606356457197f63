#include "common/aggregate/internal/key_counts.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "common/aggregate/record.h"

namespace synmap::common::internal {
namespace {

constexpr size_t kBlock = KeyCounts::kBlockRecords;

// Key `n`: distinct for distinct n (IPv4 and IPv6 clients, ports above 255).
RecordKey Key(uint32_t n) {
  RecordKey key;
  key.client.length = n % 5 == 0 ? 16 : 4;
  key.client.bytes[0] = 10;
  key.client.bytes[1] = static_cast<uint8_t>(n >> 16);
  key.client.bytes[2] = static_cast<uint8_t>(n >> 8);
  key.client.bytes[3] = static_cast<uint8_t>(n);
  key.server.length = 4;
  key.server.bytes = {192, 0, 2, static_cast<uint8_t>(n % 7)};
  key.server_port = static_cast<uint16_t>(n % 3 == 0 ? 443 : 1000 + n % 50'000);
  return key;
}

// One call of Add().
struct Sighting {
  RecordKey key;
  int64_t timestamp_ns;
  bool new_connection;
};

// `distinct` keys, each first seen once, then about a third of them again (later or earlier,
// as a retransmission or as a new connection), shuffled so repeats come between first sightings.
std::vector<Sighting> Sightings(uint32_t distinct, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Sighting> out;
  for (uint32_t n = 0; n < distinct; ++n) {
    const int64_t t = 1'000'000 + int64_t{n} * 1000;
    out.push_back({Key(n), t, true});
    if (rng() % 3 == 0) {
      const int64_t other = t + static_cast<int64_t>(rng() % 2'000'000) - 1'000'000;
      out.push_back({Key(n), other, rng() % 2 == 0});
    }
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

// What Add() on each of `sightings` must give, by key.
std::map<RecordKey, Record> Model(const std::vector<Sighting>& sightings) {
  std::map<RecordKey, Record> model;
  for (const Sighting& s : sightings) {
    auto [it, inserted] = model.try_emplace(
        s.key,
        Record{.key = s.key, .first_seen_ns = s.timestamp_ns, .last_seen_ns = s.timestamp_ns});
    Record& r = it->second;
    r.first_seen_ns = std::min(r.first_seen_ns, s.timestamp_ns);
    r.last_seen_ns = std::max(r.last_seen_ns, s.timestamp_ns);
    ++r.packets;
    r.connections += s.new_connection ? 1 : 0;
  }
  return model;
}

void AddAll(KeyCounts& counts, const std::vector<Sighting>& sightings) {
  for (const Sighting& s : sightings) {
    counts.Add(s.key, s.timestamp_ns, s.new_connection);
  }
}

std::vector<Record> Values(const std::map<RecordKey, Record>& model) {
  std::vector<Record> out;
  for (const auto& [key, record] : model) {
    out.push_back(record);
  }
  return out;
}

bool ByKey(const Record& a, const Record& b) { return a.key < b.key; }

// Checks `blocks` are what TakeBlocks() promises for `count` records: all full but the last,
// none empty.
void ExpectBlockShape(const std::vector<std::vector<Record>>& blocks, size_t count) {
  ASSERT_EQ(blocks.size(), (count + kBlock - 1) / kBlock);
  for (size_t b = 0; b < blocks.size(); ++b) {
    if (b + 1 < blocks.size()) {
      EXPECT_EQ(blocks[b].size(), kBlock) << "block " << b;
    } else {
      EXPECT_EQ(blocks[b].size(), count - b * kBlock) << "last block";
    }
  }
}

// Past several blocks (with repeats that find their record in an earlier block): Take() gives
// every record exactly and sorted, TakeBlocks() the same records in blocks, in the order their
// keys first came; both leave an empty table that counts anew from scratch.
TEST(KeyCountsTest, TakeBlocksHoldsWhatTakeSortsAndBothStartAnew) {
  const std::vector<Sighting> first = Sightings(40'000, 1);
  const std::vector<Sighting> second = Sightings(35'000, 2);
  KeyCounts sorted;
  KeyCounts blocked;
  for (const std::vector<Sighting>* sightings : {&first, &second}) {
    AddAll(sorted, *sightings);
    AddAll(blocked, *sightings);
    const std::vector<Record> want = Values(Model(*sightings));
    ASSERT_GT(want.size(), 2 * kBlock);
    ASSERT_EQ(sorted.size(), want.size());
    ASSERT_EQ(blocked.size(), want.size());

    EXPECT_EQ(sorted.Take(), want);

    std::vector<std::vector<Record>> blocks = blocked.TakeBlocks();
    ExpectBlockShape(blocks, want.size());
    std::vector<Record> flat;
    for (const std::vector<Record>& block : blocks) {
      flat.insert(flat.end(), block.begin(), block.end());
    }
    // Arrival order: by each key's first sighting.
    std::vector<RecordKey> arrival;
    std::map<RecordKey, bool> seen;
    for (const Sighting& s : *sightings) {
      if (!seen[s.key]) {
        seen[s.key] = true;
        arrival.push_back(s.key);
      }
    }
    ASSERT_EQ(flat.size(), arrival.size());
    for (size_t i = 0; i < flat.size(); ++i) {
      ASSERT_EQ(flat[i].key, arrival[i]) << "record " << i;
    }
    std::sort(flat.begin(), flat.end(), ByKey);
    EXPECT_EQ(flat, want);

    EXPECT_EQ(sorted.size(), 0u);
    EXPECT_EQ(blocked.size(), 0u);
  }
  EXPECT_TRUE(sorted.Take().empty());
  EXPECT_TRUE(blocked.TakeBlocks().empty());
}

// Sorting on two threads gives what one thread gives.
TEST(KeyCountsTest, TakeOnTwoThreadsSortsAsOnOne) {
  const std::vector<Sighting> sightings = Sightings(100'000, 3);
  KeyCounts one;
  KeyCounts two;
  AddAll(one, sightings);
  AddAll(two, sightings);
  const std::vector<Record> want = Values(Model(sightings));
  EXPECT_EQ(one.Take(/*two_threads=*/false), want);
  EXPECT_EQ(two.Take(/*two_threads=*/true), want);
}

// A table moved in the middle of a block keeps counting into its blocks.
TEST(KeyCountsTest, MovedTableKeepsItsRecordsAndCounts) {
  const std::vector<Sighting> sightings = Sightings(3 * kBlock / 2, 4);
  const size_t half = sightings.size() / 2;
  KeyCounts original;
  AddAll(original, std::vector<Sighting>(sightings.begin(), sightings.begin() + half));
  KeyCounts moved(std::move(original));
  AddAll(moved, std::vector<Sighting>(sightings.begin() + half, sightings.end()));
  KeyCounts assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.Take(), Values(Model(sightings)));
}

}  // namespace
}  // namespace synmap::common::internal
