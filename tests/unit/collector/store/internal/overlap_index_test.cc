// Counting a handshake several sensors saw once: the rule (OverlapIndex) as the aggregates
// apply it (AggregateIndex::ApplyBatch fills each row's duplicates).

#include "collector/store/internal/overlap_index.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "collector/store/internal/aggregate_index.h"
#include "common/batch/handshake.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace synmap::collector::internal {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kT0 = 1'699'999'200 * kSecond;  // A minute and hour edge.
constexpr int64_t kNoCutoff = std::numeric_limits<int64_t>::min();

// One handshake seen by one sensor: which server port (the key), its fingerprint, and when.
struct Seen {
  std::string sensor;
  uint16_t port = 443;
  uint32_t fingerprint = 0;
  int64_t at_ns = 0;
};

AggregateIndex Index(OverlapOptions overlap = {}) {
  return AggregateIndex({{kMinute, 48 * kHour}, {kHour, 90 * 24 * kHour}, {24 * kHour, 0}},
                        overlap);
}

// One batch of `sensor` over [start, start + width) holding `seen` (all of that sensor).
common::Batch MakeBatch(int64_t start_ns, int64_t width_ns, const std::vector<Seen>& seen) {
  std::map<uint16_t, std::vector<Seen>> by_port;
  for (const Seen& s : seen) {
    by_port[s.port].push_back(s);
  }
  common::Batch batch;
  batch.start_ns = start_ns;
  batch.end_ns = start_ns + width_ns;
  for (auto& [port, list] : by_port) {
    std::sort(list.begin(), list.end(),
              [](const Seen& a, const Seen& b) { return a.at_ns < b.at_ns; });
    common::Record r;
    r.key.client = common::IpAddress::Parse("192.0.2.7").value();
    r.key.server = common::IpAddress::Parse("198.51.100.1").value();
    r.key.server_port = port;
    r.packets = list.size();
    r.connections = list.size();
    r.first_seen_ns = list.front().at_ns;
    r.last_seen_ns = list.back().at_ns;
    batch.records.push_back(r);
    for (const Seen& s : list) {
      batch.handshakes.push_back(
          common::Handshake{s.fingerprint, static_cast<uint32_t>((s.at_ns - start_ns) / kMs)});
    }
  }
  return batch;
}

// Applies each sighting in its own 10 s flush window of its sensor, in the order given.
void ApplyEach(AggregateIndex& index, const std::vector<Seen>& seen,
               const std::vector<std::string>& sensors, int64_t flush_ns = 10 * kSecond) {
  for (const Seen& s : seen) {
    const uint32_t id = static_cast<uint32_t>(std::find(sensors.begin(), sensors.end(), s.sensor) -
                                              sensors.begin());
    const int64_t start = AggregateIndex::FloorTo(s.at_ns, flush_ns);
    index.ApplyBatch(id, s.sensor, MakeBatch(start, flush_ns, {s}), kNoCutoff, kT0 + kHour);
  }
}

// (bucket start, sensor, port) -> (connections, duplicates).
using Rows = std::map<std::tuple<int64_t, uint32_t, uint16_t>, std::pair<uint64_t, uint64_t>>;

Rows RowsOf(const AggregateIndex& index) {
  std::vector<std::shared_ptr<const AggregateBucket>> buckets;
  index.CollectBuckets(0, 0, &buckets);
  Rows rows;
  for (const auto& b : buckets) {
    for (size_t r = 0; r < b->size(); ++r) {
      const AggregateKey& k = (*index.keys())[b->key[r]];
      rows[{b->start_ns, k.sensor, k.port}] = {b->connections[r], b->duplicates[r]};
    }
  }
  return rows;
}

// Connections counted in merged answers (each row's connections minus its duplicates).
uint64_t Merged(const AggregateIndex& index) {
  uint64_t total = 0;
  for (const auto& [key, counts] : RowsOf(index)) {
    EXPECT_LE(counts.second, counts.first);
    total += counts.first - counts.second;
  }
  return total;
}

const std::vector<std::string> kSensors = {"core", "edge", "branch"};

TEST(OverlapIndexTest, TheSameHandshakeAtTwoSensorsCountsOnceMergedAndOnceForEach) {
  AggregateIndex index = Index();
  ApplyEach(index, {{"edge", 443, 7, kT0 + 5 * kSecond}, {"core", 443, 7, kT0 + 5 * kSecond}},
            kSensors);
  EXPECT_EQ(Merged(index), 1u);
  const Rows rows = RowsOf(index);
  // The same time: the smaller name (core) keeps it; edge's row still shows its connection.
  EXPECT_EQ((rows.at({kT0, 0, 443})), (std::pair<uint64_t, uint64_t>{1, 0}));
  EXPECT_EQ((rows.at({kT0, 1, 443})), (std::pair<uint64_t, uint64_t>{1, 1}));
}

TEST(OverlapIndexTest, OtherFingerprintOtherKeyOrSameSensorAreDifferentHandshakes) {
  AggregateIndex index = Index();
  ApplyEach(index,
            {{"edge", 443, 7, kT0},
             {"core", 443, 8, kT0},                  // Other fingerprint.
             {"core", 80, 7, kT0},                   // Other port (key).
             {"edge", 443, 7, kT0 + 61 * kSecond}},  // Edge's own second handshake.
            kSensors);
  EXPECT_EQ(Merged(index), 4u);
}

TEST(OverlapIndexTest, MatchesWithinWindowPlusSkewToleranceAndNotBeyond) {
  OverlapOptions options;
  options.window = absl::Seconds(60);
  options.skew_tolerance = absl::Seconds(5);
  AggregateIndex inside = Index(options);
  ApplyEach(inside, {{"edge", 443, 7, kT0}, {"core", 443, 7, kT0 + 65 * kSecond}}, kSensors);
  EXPECT_EQ(Merged(inside), 1u) << "edge saw the first copy, core only a retransmission";
  AggregateIndex outside = Index(options);
  ApplyEach(outside, {{"edge", 443, 7, kT0}, {"core", 443, 7, kT0 + 65 * kSecond + kMs}}, kSensors);
  EXPECT_EQ(Merged(outside), 2u);
}

TEST(OverlapIndexTest, SightingsInDifferentBucketsCountOnceInTheEarliersBucket) {
  AggregateIndex index = Index();
  // Core's clock is 300 ms ahead: its sighting falls into the next minute bucket.
  ApplyEach(
      index,
      {{"core", 443, 7, kT0 + kMinute + 100 * kMs}, {"edge", 443, 7, kT0 + kMinute - 200 * kMs}},
      kSensors);
  const Rows rows = RowsOf(index);
  EXPECT_EQ((rows.at({kT0, 1, 443})), (std::pair<uint64_t, uint64_t>{1, 0}));
  EXPECT_EQ((rows.at({kT0 + kMinute, 0, 443})), (std::pair<uint64_t, uint64_t>{1, 1}));
  EXPECT_EQ(Merged(index), 1u);
}

TEST(OverlapIndexTest, ResentHandshakesPairOneToOneAndAreNotChainedTogether) {
  // The same 4-tuple and ISN sent again 62 s later: each sensor counts two connections (past
  // its 60 s window); within 65 s of each other they must still pair first-with-first.
  AggregateIndex index = Index();
  ApplyEach(index,
            {{"edge", 443, 7, kT0},
             {"core", 443, 7, kT0},
             {"edge", 443, 7, kT0 + 62 * kSecond},
             {"core", 443, 7, kT0 + 62 * kSecond}},
            kSensors);
  EXPECT_EQ(Merged(index), 2u);
}

TEST(OverlapIndexTest, ACloserSightingArrivingLaterTakesThePartnerAndTheCountIsRestored) {
  AggregateIndex index = Index();
  // Core's only sighting first pairs with edge's resend at +62 s; then edge's first copy at
  // +1 s arrives, which is nearer: core pairs with it, and the resend counts again.
  ApplyEach(index,
            {{"edge", 443, 7, kT0 + 62 * kSecond},
             {"core", 443, 7, kT0 + 2 * kSecond},
             {"edge", 443, 7, kT0 + 1 * kSecond}},
            kSensors);
  EXPECT_EQ(Merged(index), 2u);
}

// A random site: handshakes seen by one, two or all three sensors, with clock skew, missed
// first copies, resends past the window and fingerprint collisions between keys.
std::vector<Seen> RandomSightings(uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<Seen> seen;
  for (int h = 0; h < 120; ++h) {
    const uint16_t port = static_cast<uint16_t>(443 + random() % 3);
    const uint32_t fingerprint = static_cast<uint32_t>(random() % 40);
    const int64_t at = kT0 + static_cast<int64_t>(random() % 600'000) * kMs;
    for (const std::string& sensor : kSensors) {
      if (random() % 3 == 0) {
        continue;
      }
      const int64_t skew = sensor == "branch" ? 1500 * kMs : 0;
      const int64_t missed = random() % 5 == 0 ? 3 * kSecond : 0;
      seen.push_back({sensor, port, fingerprint, at + skew + missed});
    }
  }
  return seen;
}

TEST(OverlapIndexTest, MergedCountsDoNotDependOnArrivalOrderOrBatchBoundaries) {
  const std::vector<Seen> seen = RandomSightings(5);
  AggregateIndex reference = Index();
  ApplyEach(reference, seen, kSensors);
  const Rows expected = RowsOf(reference);
  const uint64_t merged = Merged(reference);
  EXPECT_LT(merged, seen.size());
  std::mt19937 random(11);
  for (int round = 0; round < 20; ++round) {
    std::vector<Seen> shuffled = seen;
    std::shuffle(shuffled.begin(), shuffled.end(), random);
    AggregateIndex index = Index();
    ApplyEach(index, shuffled, kSensors);
    EXPECT_EQ(RowsOf(index), expected) << "round " << round;
  }
  // Whole flush windows per sensor instead of one sighting per batch: the rows' duplicates
  // differ only by which batch holds a sighting, so compare the merged total per bucket.
  AggregateIndex windows = Index();
  for (size_t s = 0; s < kSensors.size(); ++s) {
    std::map<int64_t, std::vector<Seen>> by_window;
    for (const Seen& x : seen) {
      if (x.sensor == kSensors[s]) {
        by_window[AggregateIndex::FloorTo(x.at_ns, 30 * kSecond)].push_back(x);
      }
    }
    for (const auto& [start, list] : by_window) {
      // Two sightings of one fingerprint and key in one window would be one connection at
      // a sensor; the generator may make such pairs, which a real sensor never sends.
      windows.ApplyBatch(static_cast<uint32_t>(s), kSensors[s],
                         MakeBatch(start, 30 * kSecond, list), kNoCutoff, kT0 + kHour);
    }
  }
  EXPECT_EQ(Merged(windows), merged);
}

TEST(OverlapIndexTest, ReplayingTheSameBatchesAfterARestartGivesTheSameRows) {
  const std::vector<Seen> seen = RandomSightings(9);
  AggregateIndex before = Index();
  ApplyEach(before, seen, kSensors);
  // A restart: the aggregates come back from checkpoint chunks (duplicates included), and
  // the fingerprints of the checkpointed batches go back into the overlap index.
  AggregateIndex after = Index();
  const size_t half = seen.size() / 2;
  AggregateIndex first_half = Index();
  ApplyEach(first_half, std::vector<Seen>(seen.begin(), seen.begin() + half), kSensors);
  std::vector<std::shared_ptr<const AggregateBucket>> saved;
  first_half.CollectBuckets(0, 0, &saved);
  for (const auto& b : saved) {
    for (const std::string& chunk : first_half.EncodeBucket(b->start_ns, 1000)) {
      ASSERT_OK(after.LoadChunk(b->start_ns, 3, chunk, 0, 3));
    }
  }
  for (size_t i = 0; i < half; ++i) {
    const Seen& s = seen[i];
    const uint32_t id = static_cast<uint32_t>(
        std::find(kSensors.begin(), kSensors.end(), s.sensor) - kSensors.begin());
    after.NoteSightings(
        id, s.sensor, MakeBatch(AggregateIndex::FloorTo(s.at_ns, 10 * kSecond), 10 * kSecond, {s}));
  }
  ApplyEach(after, std::vector<Seen>(seen.begin() + half, seen.end()), kSensors);
  EXPECT_EQ(RowsOf(after), RowsOf(before));
}

TEST(OverlapIndexTest, ChunksKeepDuplicatesAndOlderFormatsLoadWithNone) {
  AggregateIndex index = Index();
  ApplyEach(index, {{"edge", 443, 7, kT0}, {"core", 443, 7, kT0}}, kSensors);
  const std::vector<std::string> chunks = index.EncodeBucket(kT0, 1000);
  ASSERT_EQ(chunks.size(), 1u);
  AggregateIndex loaded = Index();
  ASSERT_OK(loaded.LoadChunk(kT0, 3, chunks[0], 0, 3));
  EXPECT_EQ(RowsOf(loaded), RowsOf(index));
  std::string corrupt = chunks[0];
  corrupt[10] ^= 1;
  AggregateIndex refused = Index();
  EXPECT_FALSE(refused.LoadChunk(kT0, 3, corrupt, 0, 3).ok());
}

TEST(OverlapIndexTest, SwitchedOffEverySensorCountsWhole) {
  OverlapOptions off;
  off.enabled = false;
  AggregateIndex index = Index(off);
  ApplyEach(index, {{"edge", 443, 7, kT0}, {"core", 443, 7, kT0}}, kSensors);
  EXPECT_EQ(Merged(index), 2u);
  EXPECT_FALSE(index.overlap_enabled());
}

TEST(OverlapIndexTest, BatchesWithoutFingerprintsAreCountedWhole) {
  AggregateIndex index = Index();
  common::Batch old_sensor = MakeBatch(kT0, 10 * kSecond, {{"core", 443, 7, kT0}});
  old_sensor.handshakes.clear();
  index.ApplyBatch(0, "core", old_sensor, kNoCutoff, kT0 + kHour);
  ApplyEach(index, {{"edge", 443, 7, kT0}}, kSensors);
  EXPECT_EQ(Merged(index), 2u);
}

TEST(OverlapIndexTest, SightingsOlderThanTheHorizonAreCountedWholeAndCounted) {
  OverlapOptions options;
  options.horizon = absl::Hours(1);
  AggregateIndex index = Index(options);
  // Edge's and core's first handshakes are forgotten once edge's batch two hours later comes;
  // core's copy of edge's first then comes too late to be matched: counted whole.
  ApplyEach(index,
            {{"edge", 443, 7, kT0}, {"core", 443, 8, kT0}, {"edge", 443, 9, kT0 + 2 * kHour}},
            kSensors);
  ApplyEach(index, {{"core", 443, 7, kT0}}, kSensors);
  EXPECT_EQ(Merged(index), 4u);
  EXPECT_EQ(index.overlap_late(), 1u);
}

TEST(OverlapIndexTest, TwoSensorsReplayingHoursOfCaptureOneAfterTheOtherMeet) {
  // Edge sends three hours of capture, then core sends the same handshakes from the start:
  // core's are hours behind the newest batch, yet nothing was forgotten (within the default
  // horizon and memory budget), so each is matched.
  std::vector<Seen> edge, core;
  for (uint32_t h = 0; h < 3 * 60; ++h) {
    edge.push_back({"edge", static_cast<uint16_t>(400 + h % 5), h, kT0 + h * kMinute});
    core.push_back({"core", static_cast<uint16_t>(400 + h % 5), h, kT0 + h * kMinute + 7 * kMs});
  }
  AggregateIndex index = Index();
  ApplyEach(index, edge, kSensors);
  ApplyEach(index, core, kSensors);
  EXPECT_EQ(Merged(index), edge.size());
  EXPECT_EQ(index.overlap_late(), 0u);
}

TEST(OverlapIndexTest, ManySightingsThroughGrowthAndPruningStillMatch) {
  // Edge's handshakes, 1,000 a minute: for the first two hours all are kept, so the sighting
  // table grows many times (past one huge page, so its pages move into a larger mapping) and
  // rehashes the early ones at each step; core then sends nearly all of them again, 5 ms later.
  // For two more hours the table forgets a minute's sightings at every minute (moving the runs
  // it empties back) while core sends the last 40 minutes again, and once more a minute now
  // older than the horizon.
  constexpr uint32_t kPerMinute = 1'000;
  OverlapOptions options;
  options.horizon = absl::Hours(2);
  AggregateIndex index = Index(options);
  auto apply = [&](uint32_t sensor, const std::string& name, int64_t m, int64_t delay_ns) {
    std::vector<Seen> seen;
    for (uint32_t j = 0; j < kPerMinute; ++j) {
      seen.push_back({name, 443, static_cast<uint32_t>(m * kPerMinute + j),
                      kT0 + m * kMinute + j * 10 * kMs + delay_ns});
    }
    index.ApplyBatch(sensor, name, MakeBatch(kT0 + m * kMinute, kMinute, seen), kNoCutoff,
                     kT0 + 5 * kHour);
  };
  for (int64_t m = 0; m < 120; ++m) {
    apply(1, "edge", m, 0);
  }
  for (int64_t m = 10; m < 120; ++m) {  // The first minutes are late by now.
    apply(0, "core", m, 5 * kMs);
  }
  for (int64_t m = 120; m < 240; ++m) {
    apply(1, "edge", m, 0);
  }
  for (int64_t m = 200; m < 240; ++m) {
    apply(0, "core", m, 5 * kMs);
  }
  apply(0, "core", 100, 5 * kMs);  // Forgotten by now: late, so counted whole.
  EXPECT_EQ(Merged(index), 240 * kPerMinute + kPerMinute);
  EXPECT_EQ(index.overlap_late(), kPerMinute);
  const Rows rows = RowsOf(index);
  for (int64_t m = 10; m < 240; ++m) {
    if (m >= 120 && m < 200) {
      continue;
    }
    const uint64_t connections = m == 100 ? 2 * kPerMinute : kPerMinute;
    EXPECT_EQ((rows.at({kT0 + m * kMinute, 0, 443})),
              (std::pair<uint64_t, uint64_t>{connections, kPerMinute}))
        << "minute " << m;
  }
}

// The rule of OverlapIndex, computed straight from its definition over all sightings at once:
// (bucket start, sensor, port) -> (connections, duplicates) as ApplyEach's batches fill them.
Rows RuleRows(const std::vector<Seen>& seen, const std::vector<std::string>& sensors,
              int64_t tolerance_ns) {
  auto sensor_id = [&](const Seen& s) {
    return static_cast<uint32_t>(std::find(sensors.begin(), sensors.end(), s.sensor) -
                                 sensors.begin());
  };
  // Nearest sighting of `sensor` to `s` in `all`, at most the tolerance away (ties: earlier).
  auto nearest = [&](const Seen& s, const std::string& sensor, const std::vector<Seen>& all) {
    const Seen* best = nullptr;
    for (const Seen& o : all) {
      const int64_t d = o.at_ns > s.at_ns ? o.at_ns - s.at_ns : s.at_ns - o.at_ns;
      if (o.sensor != sensor || &o == &s || d > tolerance_ns) {
        continue;
      }
      const int64_t best_d = best == nullptr         ? 0
                             : best->at_ns > s.at_ns ? best->at_ns - s.at_ns
                                                     : s.at_ns - best->at_ns;
      if (best == nullptr || d < best_d || (d == best_d && o.at_ns < best->at_ns)) {
        best = &o;
      }
    }
    return best;
  };
  std::map<std::pair<uint16_t, uint32_t>, std::vector<Seen>> groups;
  for (const Seen& s : seen) {
    groups[{s.port, s.fingerprint}].push_back(s);
  }
  Rows rows;
  for (const auto& [handshake, all] : groups) {
    for (const Seen& s : all) {
      bool counted = true;
      for (const std::string& peer : sensors) {
        if (peer == s.sensor) {
          continue;
        }
        const Seen* m = nearest(s, peer, all);
        if (m != nullptr && nearest(*m, s.sensor, all) == &s &&
            (m->at_ns < s.at_ns || (m->at_ns == s.at_ns && m->sensor < s.sensor))) {
          counted = false;
        }
      }
      auto& row =
          rows[{AggregateIndex::FloorTo(AggregateIndex::FloorTo(s.at_ns, 10 * kSecond), kMinute),
                sensor_id(s), s.port}];
      ++row.first;
      row.second += counted ? 0 : 1;
    }
  }
  return rows;
}

TEST(OverlapIndexTest, KeysOneSensorSentForLongAreMatchedOnceASecondSensorSendsThem) {
  // A key's sightings are kept unindexed until a second sensor sends the key; then they move
  // into the index. Here each port is seen by one sensor for a while before the others see
  // it, in every order, and the result must be the rule's, computed from its definition.
  const OverlapOptions options;
  const int64_t tolerance = absl::ToInt64Nanoseconds(options.window + options.skew_tolerance);
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    std::mt19937 random(seed);
    std::vector<Seen> seen;
    for (int h = 0; h < 300; ++h) {
      const uint16_t port = static_cast<uint16_t>(1000 + random() % 12);
      const uint32_t fingerprint = static_cast<uint32_t>(random() % 25);
      const int64_t at = kT0 + static_cast<int64_t>(random() % 900'000) * kMs;
      // A port's home sensor sees all of its handshakes; ports below 1009 are sometimes seen
      // by the others too, the rest never.
      const std::string& home = kSensors[port % 3];
      for (const std::string& sensor : kSensors) {
        if (sensor == home || (port < 1009 && random() % 3 == 0)) {
          seen.push_back(
              {sensor, port, fingerprint, at + static_cast<int64_t>(random() % 3) * kSecond});
        }
      }
    }
    // Alone first: every sighting of a port's first sensor, then the rest, shuffled within.
    std::vector<Seen> first, rest;
    for (const Seen& s : seen) {
      (s.sensor == kSensors[s.port % 3] ? first : rest).push_back(s);
    }
    std::shuffle(first.begin(), first.end(), random);
    std::shuffle(rest.begin(), rest.end(), random);
    std::vector<Seen> order = first;
    order.insert(order.end(), rest.begin(), rest.end());
    AggregateIndex alone_first = Index(options);
    ApplyEach(alone_first, order, kSensors);
    const Rows expected = RuleRows(seen, kSensors, tolerance);
    EXPECT_EQ(RowsOf(alone_first), expected) << "seed " << seed;
    std::shuffle(order.begin(), order.end(), random);
    AggregateIndex shuffled = Index(options);
    ApplyEach(shuffled, order, kSensors);
    EXPECT_EQ(RowsOf(shuffled), expected) << "seed " << seed << ", shuffled";
  }
}

// One batch of one key's sightings for OverlapIndex itself: `count` handshakes with
// fingerprints first_fingerprint.. at `at_ns` + 10 ms each, in a batch starting at `start_ns`.
common::Batch KeyBatch(int64_t start_ns, int64_t width_ns, uint32_t first_fingerprint,
                       uint32_t count, int64_t at_ns) {
  common::Batch batch;
  batch.start_ns = start_ns;
  batch.end_ns = start_ns + width_ns;
  common::Record r;
  r.key.client = common::IpAddress::Parse("192.0.2.7").value();
  r.key.server = common::IpAddress::Parse("198.51.100.1").value();
  r.key.server_port = 443;
  r.packets = r.connections = count;
  batch.records.push_back(r);
  for (uint32_t j = 0; j < count; ++j) {
    batch.handshakes.push_back(common::Handshake{
        first_fingerprint + j, static_cast<uint32_t>((at_ns + j * 10 * kMs - start_ns) / kMs)});
  }
  return batch;
}

constexpr uint32_t kPerMinute = 1'000;

// Sends minutes [from, to) of one key's handshakes, kPerMinute a minute (fingerprints
// m * kPerMinute + j, 10 ms apart from the minute's start + `delay_ns`), one batch a minute, as
// sensor `sensor` under key id `sensor`; calls `after(m)` after each.
void SendMinutes(OverlapIndex& index, uint32_t sensor, const std::string& name, int64_t from,
                 int64_t to, int64_t delay_ns, std::vector<OverlapIndex::Uncounted>* out,
                 const std::function<void(int64_t)>& after = nullptr) {
  const std::vector<OverlapIndex::RecordIds> ids = {{sensor, 1, 2}};
  for (int64_t m = from; m < to; ++m) {
    index.Add(sensor, name,
              KeyBatch(kT0 + m * kMinute, kMinute, static_cast<uint32_t>(m * kPerMinute),
                       kPerMinute, kT0 + m * kMinute + delay_ns),
              ids, out);
    if (after) {
      after(m);
    }
  }
}

TEST(OverlapIndexTest, AKeyOneSensorSentForHoursIsForgottenByChunksAndStillMatches) {
  // Edge alone sends 1,000 handshakes a minute for four hours (horizon two hours): its log
  // forgets whole chunks as they age, so what it keeps stays near two hours' worth. Then core
  // sends the last 40 minutes again, 5 ms later: each of core's is a duplicate; and one minute
  // now forgotten, which is late (counted whole, no change).
  OverlapIndex index(65 * kSecond, 2 * kHour, size_t{1} << 30, /*log_chunk=*/64);
  std::vector<OverlapIndex::Uncounted> out;
  size_t most_kept = 0;
  SendMinutes(index, 1, "edge", 0, 240, 0, &out,
              [&](int64_t) { most_kept = std::max(most_kept, index.sightings()); });
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(index.indexed_sightings(), 0u) << "a key one sensor sent is not indexed";
  EXPECT_LE(most_kept, 123 * kPerMinute) << "the log forgets what is past the horizon";
  EXPECT_GE(index.sightings(), 119 * kPerMinute);
  SendMinutes(index, 0, "core", 200, 240, 5 * kMs, &out);
  ASSERT_EQ(out.size(), 40 * kPerMinute);
  for (const OverlapIndex::Uncounted& u : out) {
    EXPECT_EQ(u.key_id, 0u);
    EXPECT_EQ(u.delta, 1);
  }
  EXPECT_GT(index.indexed_sightings(), 0u);
  out.clear();
  SendMinutes(index, 0, "core", 100, 101, 5 * kMs, &out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(index.late(), kPerMinute);
}

TEST(OverlapIndexTest, PastTheMemoryBudgetTheOldestAreForgottenFirst) {
  // 1 MiB holds about 65,000 logged sightings; edge alone sends 1,000 a minute for four hours
  // (a horizon of a day): the horizon kept shrinks until they fit. Core's copies of the last
  // minute are matched; of the first hour, late.
  OverlapIndex index(65 * kSecond, 24 * kHour, size_t{1} << 20, /*log_chunk=*/256);
  std::vector<OverlapIndex::Uncounted> out;
  SendMinutes(index, 1, "edge", 0, 240, 0, &out, [&](int64_t m) {
    EXPECT_LE(index.bytes(), (size_t{1} << 20) + 16 * (kPerMinute + 512)) << "minute " << m;
  });
  EXPECT_LT(index.kept_horizon_ns(), 2 * kHour);
  EXPECT_GE(index.kept_horizon_ns(), 260 * kSecond);
  SendMinutes(index, 0, "core", 239, 240, 5 * kMs, &out);
  EXPECT_EQ(out.size(), kPerMinute) << "the last minute is kept: each of core's is a duplicate";
  out.clear();
  SendMinutes(index, 0, "core", 30, 31, 5 * kMs, &out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(index.late(), kPerMinute);
}

TEST(OverlapIndexTest, SkewIsTheMedianOffsetPerPairOfSensors) {
  AggregateIndex index = Index();
  std::vector<Seen> seen;
  for (uint32_t h = 0; h < 9; ++h) {
    const int64_t at = kT0 + h * kSecond;
    seen.push_back({"edge", 443, h, at});
    // Core's clock runs 40 ms ahead; two handshakes it saw only as a retransmission.
    seen.push_back({"core", 443, h, at + 40 * kMs + (h < 2 ? 3 * kSecond : 0)});
  }
  ApplyEach(index, seen, kSensors);
  const std::vector<std::vector<OverlapPeer>> report = index.OverlapReport();
  ASSERT_GE(report.size(), 2u);
  ASSERT_EQ(report[0].size(), 1u);
  EXPECT_EQ(report[0][0].peer, 1u);
  EXPECT_EQ(report[0][0].matches, 9u);
  EXPECT_EQ(report[0][0].median_offset_ns, 40 * kMs);
  EXPECT_EQ(report[0][0].max_abs_offset_ns, 3040 * kMs);
  EXPECT_EQ(report[1][0].median_offset_ns, -40 * kMs);
}

TEST(OverlapIndexTest, OptionsRefuseNegativeTolerancesAndAShortHorizon) {
  OverlapOptions options;
  EXPECT_OK(options.Validate());
  options.skew_tolerance = absl::Seconds(-1);
  EXPECT_FALSE(options.Validate().ok());
  options = OverlapOptions();
  options.horizon = absl::Minutes(2);
  EXPECT_FALSE(options.Validate().ok());
}

TEST(HandshakeFingerprintTest, IsFixedAcrossProcessesAndSpreadsNeighbours) {
  EXPECT_EQ(common::HandshakeFingerprint(40000, 7), common::HandshakeFingerprint(40000, 7));
  EXPECT_NE(common::HandshakeFingerprint(40000, 7), common::HandshakeFingerprint(40001, 7));
  EXPECT_NE(common::HandshakeFingerprint(40000, 7), common::HandshakeFingerprint(40000, 8));
  // The function is part of the wire contract between sensor versions: fixed values.
  EXPECT_EQ(common::HandshakeFingerprint(0, 0), 0u);
}

}  // namespace
}  // namespace synmap::collector::internal
