#include "common/aggregate/synack_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/aggregate/merge.h"
#include "common/aggregate/parallel_sort.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/common/aggregate/make_event.h"

namespace synmap::common {
namespace {

using ::synmap::common::testing::At;
using ::synmap::common::testing::Ip;
using ::synmap::common::testing::MakeSynAck;
using ::synmap::testing::StatusIs;

SynAckTableOptions Options(size_t max_handshakes = 1024) {
  SynAckTableOptions options;
  options.max_handshakes = max_handshakes;
  return options;
}

SynAckEvent Later(SynAckEvent event, absl::Duration offset) {
  event.timestamp_ns += absl::ToInt64Nanoseconds(offset);
  return event;
}

TEST(SynAckTableOptionsTest, DefaultsAreValid) { EXPECT_OK(SynAckTableOptions{}.Validate()); }

TEST(SynAckTableOptionsTest, RejectsNonPositiveWindow) {
  SynAckTableOptions options;
  options.retransmission_window = absl::ZeroDuration();
  EXPECT_THAT(options.Validate(), StatusIs(absl::StatusCode::kInvalidArgument));
  options.retransmission_window = absl::Seconds(-1);
  EXPECT_THAT(options.Validate(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SynAckTableOptionsTest, RejectsZeroHandshakeBound) {
  SynAckTableOptions options;
  options.max_handshakes = 0;
  EXPECT_THAT(options.Validate(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SynAckTableTest, RetransmissionAddsPacketNotConnection) {
  SynAckTable table(Options());
  const SynAckEvent first =
      MakeSynAck("10.0.0.2", 443, "10.0.0.1", 40000, 7, At(absl::ZeroDuration()));
  EXPECT_TRUE(table.Add(first));
  EXPECT_FALSE(table.Add(Later(first, absl::Seconds(1))));
  const std::vector<Record> records = table.TakeRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].packets, 2u);
  EXPECT_EQ(records[0].connections, 1u);
  EXPECT_EQ(table.stats().synacks, 2u);
  EXPECT_EQ(table.stats().retransmissions, 1u);
}

TEST(SynAckTableTest, OtherIsnOrClientPortIsAnotherConnection) {
  SynAckTable table(Options());
  const SynAckEvent first =
      MakeSynAck("10.0.0.2", 443, "10.0.0.1", 40000, 7, At(absl::ZeroDuration()));
  SynAckEvent other_isn = Later(first, absl::Seconds(1));
  other_isn.isn = 8;
  SynAckEvent other_port = Later(first, absl::Seconds(2));
  other_port.client_port = 40001;
  EXPECT_TRUE(table.Add(first));
  EXPECT_TRUE(table.Add(other_isn));
  EXPECT_TRUE(table.Add(other_port));
  const std::vector<Record> records = table.TakeRecords();
  ASSERT_EQ(records.size(), 1u);  // Same (client, server, server port).
  EXPECT_EQ(records[0].packets, 3u);
  EXPECT_EQ(records[0].connections, 3u);
}

TEST(SynAckTableTest, CopyAt59SecondsIsRetransmission) {
  SynAckTable table(Options());
  const SynAckEvent first =
      MakeSynAck("10.0.0.2", 22, "10.0.0.1", 50000, 99, At(absl::ZeroDuration()));
  table.Add(first);
  EXPECT_FALSE(table.Add(Later(first, absl::Seconds(59))));
}

TEST(SynAckTableTest, CopyAt61SecondsIsNewConnection) {
  SynAckTable table(Options());
  const SynAckEvent first =
      MakeSynAck("10.0.0.2", 22, "10.0.0.1", 50000, 99, At(absl::ZeroDuration()));
  table.Add(first);
  EXPECT_TRUE(table.Add(Later(first, absl::Seconds(61))));
  const std::vector<Record> records = table.TakeRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].connections, 2u);
  EXPECT_EQ(table.stats().retransmissions, 0u);
}

TEST(SynAckTableTest, CopyExactlyOneWindowLaterIsNewConnection) {
  // "Seen less than the window before" is a retransmission; a full window apart is not.
  SynAckTable table(Options());
  const SynAckEvent first =
      MakeSynAck("10.0.0.2", 22, "10.0.0.1", 50000, 99, At(absl::ZeroDuration()));
  table.Add(first);
  EXPECT_FALSE(table.Add(Later(first, absl::Seconds(60) - absl::Nanoseconds(1))));
  EXPECT_TRUE(table.Add(Later(first, absl::Seconds(60))));
}

TEST(SynAckTableTest, WindowIsMeasuredFromFirstSighting) {
  SynAckTable table(Options());
  const SynAckEvent first =
      MakeSynAck("10.0.0.2", 22, "10.0.0.1", 50000, 99, At(absl::ZeroDuration()));
  EXPECT_TRUE(table.Add(first));
  EXPECT_FALSE(table.Add(Later(first, absl::Seconds(30))));
  EXPECT_FALSE(table.Add(Later(first, absl::Seconds(59))));
  // Two seconds after the last copy, but 61 s after the first: a new handshake, which then
  // starts its own window.
  EXPECT_TRUE(table.Add(Later(first, absl::Seconds(61))));
  EXPECT_FALSE(table.Add(Later(first, absl::Seconds(120))));
}

TEST(SynAckTableTest, CustomWindowIsHonoured) {
  SynAckTableOptions options = Options();
  options.retransmission_window = absl::Seconds(5);
  SynAckTable table(options);
  const SynAckEvent first =
      MakeSynAck("10.0.0.2", 22, "10.0.0.1", 50000, 99, At(absl::ZeroDuration()));
  table.Add(first);
  EXPECT_FALSE(table.Add(Later(first, absl::Seconds(4))));
  EXPECT_TRUE(table.Add(Later(first, absl::Seconds(6))));
}

TEST(SynAckTableTest, HandshakeMemorySpansTakeRecords) {
  SynAckTable table(Options());
  const SynAckEvent first =
      MakeSynAck("10.0.0.2", 443, "10.0.0.1", 40000, 7, At(absl::ZeroDuration()));
  table.Add(first);
  ASSERT_EQ(table.TakeRecords().size(), 1u);
  EXPECT_EQ(table.key_count(), 0u);
  EXPECT_EQ(table.handshake_count(), 1u);

  EXPECT_FALSE(table.Add(Later(first, absl::Seconds(3))));
  const std::vector<Record> records = table.TakeRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].packets, 1u);
  EXPECT_EQ(records[0].connections, 0u);
}

TEST(SynAckTableTest, OutOfOrderCopyBeforeFirstSightingIsRetransmission) {
  // Two interfaces: the copy stamped earlier arrives second.
  SynAckTable table(Options());
  const SynAckEvent later = MakeSynAck("10.0.0.2", 443, "10.0.0.1", 40000, 7, At(absl::Seconds(5)));
  EXPECT_TRUE(table.Add(later));
  EXPECT_FALSE(table.Add(Later(later, absl::Milliseconds(-3))));
  const std::vector<Record> records = table.TakeRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].first_seen_ns, At(absl::Seconds(5) - absl::Milliseconds(3)));
  EXPECT_EQ(records[0].last_seen_ns, At(absl::Seconds(5)));
}

TEST(SynAckTableTest, OutOfOrderStreamCountsEachHandshakeOnce) {
  SynAckTable table(Options());
  // Three handshakes, each seen on two interfaces with up to 2 ms skew, interleaved.
  const std::vector<SynAckEvent> events = {
      MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1000, 1, At(absl::Milliseconds(10))),
      MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1001, 2, At(absl::Milliseconds(11))),
      MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1000, 1, At(absl::Milliseconds(9))),
      MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1002, 3, At(absl::Milliseconds(13))),
      MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1001, 2, At(absl::Milliseconds(12))),
      MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1002, 3, At(absl::Milliseconds(11))),
  };
  for (const SynAckEvent& event : events) {
    table.Add(event);
  }
  const std::vector<Record> records = table.TakeRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].packets, 6u);
  EXPECT_EQ(records[0].connections, 3u);
  EXPECT_EQ(records[0].first_seen_ns, At(absl::Milliseconds(9)));
  EXPECT_EQ(records[0].last_seen_ns, At(absl::Milliseconds(13)));
}

TEST(SynAckTableTest, HandshakesExpireAsCaptureTimeAdvances) {
  SynAckTable table(Options());
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1000, 1, At(absl::ZeroDuration())));
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1001, 2, At(absl::Seconds(30))));
  EXPECT_EQ(table.handshake_count(), 2u);
  // 61 s: the first handshake's window is over, the second's is not.
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1002, 3, At(absl::Seconds(61))));
  EXPECT_EQ(table.handshake_count(), 2u);
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1003, 4, At(absl::Seconds(200))));
  EXPECT_EQ(table.handshake_count(), 1u);
  EXPECT_EQ(table.stats().handshakes_evicted, 0u);
}

// Input far out of time order (files given out of order, two captures of one time span): a
// SYN/ACK a window or more older than the newest one before it is counted, but if it is counted
// as a new connection that may be a handshake counted twice, so it is counted in the stats.
TEST(SynAckTableTest, NewConnectionsFromFarOutOfOrderSynAcksAreCounted) {
  SynAckTable table(Options());
  const SynAckEvent early =
      MakeSynAck("10.0.0.2", 443, "10.0.0.1", 40000, 7, At(absl::ZeroDuration()));
  EXPECT_TRUE(table.Add(early));
  // The newest is now at 200 s; the handshake at 0 s has been forgotten.
  EXPECT_TRUE(table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1002, 3, At(absl::Seconds(200)))));
  EXPECT_EQ(table.stats().late_connections, 0u);
  // Its retransmission at 1 s (a second capture of the same span) counts as a new connection:
  // flagged.
  EXPECT_TRUE(table.Add(Later(early, absl::Seconds(1))));
  EXPECT_EQ(table.stats().late_connections, 1u);
  // Less than a window out of order: handled exactly, not flagged.
  EXPECT_TRUE(table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1003, 4, At(absl::Seconds(141)))));
  EXPECT_EQ(table.stats().late_connections, 1u);
  // Far out of order but still found in memory (the late copy just remembered): a
  // retransmission, not flagged.
  EXPECT_FALSE(table.Add(Later(early, absl::Seconds(2))));
  EXPECT_EQ(table.stats().late_connections, 1u);
  EXPECT_EQ(table.stats().synacks, 5u);
  EXPECT_EQ(table.stats().retransmissions, 1u);
}

TEST(SynAckTableTest, SteadyTrafficKeepsOnlyOneWindowOfHandshakes) {
  SynAckTable table(Options(/*max_handshakes=*/1'000'000));
  for (int i = 0; i < 1000; ++i) {
    table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", static_cast<uint16_t>(1000 + i), i,
                         At(absl::Seconds(i))));
  }
  // One per second, 60 s window: the ones first seen in (t-60 s, t].
  EXPECT_EQ(table.handshake_count(), 60u);
  EXPECT_EQ(table.stats().handshakes_evicted, 0u);
}

TEST(SynAckTableTest, BoundEvictsOldestAndCountsIt) {
  SynAckTable table(Options(/*max_handshakes=*/3));
  std::vector<SynAckEvent> handshakes;
  for (int i = 0; i < 4; ++i) {
    handshakes.push_back(MakeSynAck("10.0.0.2", 80, "10.0.0.1", static_cast<uint16_t>(1000 + i),
                                    100 + i, At(absl::Seconds(i))));
    EXPECT_TRUE(table.Add(handshakes.back()));
  }
  EXPECT_EQ(table.handshake_count(), 3u);
  EXPECT_EQ(table.stats().handshakes_evicted, 1u);
  // The newest is still remembered; the oldest was forgotten, so its copy looks new (and
  // pushes out the next oldest).
  EXPECT_FALSE(table.Add(Later(handshakes[3], absl::Seconds(1))));
  EXPECT_TRUE(table.Add(Later(handshakes[0], absl::Seconds(5))));
  EXPECT_EQ(table.stats().handshakes_evicted, 2u);
  EXPECT_TRUE(table.Add(Later(handshakes[1], absl::Seconds(5))));
  EXPECT_EQ(table.handshake_count(), 3u);
}

TEST(SynAckTableTest, ExpiredHandshakesAreNotCountedAsEvicted) {
  SynAckTable table(Options(/*max_handshakes=*/2));
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1000, 1, At(absl::ZeroDuration())));
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1001, 2, At(absl::Seconds(1))));
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1002, 3, At(absl::Seconds(100))));
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1003, 4, At(absl::Seconds(101))));
  EXPECT_EQ(table.stats().handshakes_evicted, 0u);
  EXPECT_EQ(table.handshake_count(), 2u);
}

TEST(SynAckTableTest, EvictingAnAlreadyExpiredHandshakeIsNotCounted) {
  SynAckTable table(Options(/*max_handshakes=*/2));
  // Out of order: the handshake stamped 0 s sits behind the one stamped 50 s in the memory.
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1000, 1, At(absl::Seconds(50))));
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1001, 2, At(absl::ZeroDuration())));
  // At 70 s the 50 s handshake is still live: making room for a new one evicts it early.
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1002, 3, At(absl::Seconds(70))));
  EXPECT_EQ(table.stats().handshakes_evicted, 1u);
  // Now the 0 s handshake is at the head, its window over (newest seen: 70 s) but not yet
  // dropped, as time has not advanced since; dropping it to make room is no loss.
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1003, 4, At(absl::Seconds(65))));
  EXPECT_EQ(table.stats().handshakes_evicted, 1u);
  EXPECT_EQ(table.handshake_count(), 2u);
}

TEST(SynAckTableTest, CopyAWindowBeforeFirstSightingStartsItsOwnWindow) {
  // Files read out of order: the same tuple and ISN 70 s apart is two handshakes; the later
  // one's memory entry is superseded without disturbing the earlier one's.
  SynAckTable table(Options(/*max_handshakes=*/2));
  const SynAckEvent late = MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1000, 1, At(absl::Seconds(100)));
  EXPECT_TRUE(table.Add(late));
  EXPECT_TRUE(table.Add(Later(late, absl::Seconds(-70))));
  // Room for another handshake: the superseded entry goes, losing nothing.
  EXPECT_TRUE(table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1001, 2, At(absl::Seconds(101)))));
  EXPECT_EQ(table.stats().handshakes_evicted, 0u);
  EXPECT_FALSE(table.Add(Later(late, absl::Seconds(-69))));  // Copy of the 30 s handshake.
}

TEST(SynAckTableTest, RecordsCarryFirstAndLastSeenPerKey) {
  SynAckTable table(Options());
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1000, 1, At(absl::Seconds(5))));
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1001, 2, At(absl::Seconds(1))));
  table.Add(MakeSynAck("10.0.0.2", 80, "10.0.0.1", 1002, 3, At(absl::Seconds(9))));
  table.Add(MakeSynAck("10.0.0.3", 80, "10.0.0.1", 1003, 4, At(absl::Seconds(7))));
  const std::vector<Record> records = table.TakeRecords();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].key.server, Ip("10.0.0.2"));
  EXPECT_EQ(records[0].first_seen_ns, At(absl::Seconds(1)));
  EXPECT_EQ(records[0].last_seen_ns, At(absl::Seconds(9)));
  EXPECT_EQ(records[1].key.server, Ip("10.0.0.3"));
  EXPECT_EQ(records[1].first_seen_ns, At(absl::Seconds(7)));
  EXPECT_EQ(records[1].last_seen_ns, At(absl::Seconds(7)));
}

TEST(SynAckTableTest, TakeRecordsSortsByClientThenServerThenPort) {
  SynAckTable table(Options());
  const int64_t t = At(absl::ZeroDuration());
  // Added in scrambled order; the expected order is written out by hand: client first,
  // IPv4 before IPv6, then server, then port (numerically: 80 < 443).
  table.Add(MakeSynAck("10.0.0.9", 443, "2001:db8::1", 1, 1, t));
  table.Add(MakeSynAck("10.0.0.9", 443, "10.0.0.2", 2, 2, t));
  table.Add(MakeSynAck("10.0.0.9", 80, "10.0.0.2", 3, 3, t));
  table.Add(MakeSynAck("10.0.0.3", 8080, "10.0.0.2", 4, 4, t));
  table.Add(MakeSynAck("10.0.0.9", 22, "10.0.0.1", 5, 5, t));
  const std::vector<Record> records = table.TakeRecords();
  ASSERT_EQ(records.size(), 5u);
  const std::vector<std::tuple<std::string, std::string, uint16_t>> expected = {
      {"10.0.0.1", "10.0.0.9", 22},  {"10.0.0.2", "10.0.0.3", 8080},   {"10.0.0.2", "10.0.0.9", 80},
      {"10.0.0.2", "10.0.0.9", 443}, {"2001:db8::1", "10.0.0.9", 443},
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(records[i].key.client, Ip(std::get<0>(expected[i]))) << i;
    EXPECT_EQ(records[i].key.server, Ip(std::get<1>(expected[i]))) << i;
    EXPECT_EQ(records[i].key.server_port, std::get<2>(expected[i])) << i;
  }
  EXPECT_TRUE(table.TakeRecords().empty());
}

TEST(SynAckTableTest, MovedTableKeepsItsMemoryAndCounts) {
  SynAckTable original(Options());
  const SynAckEvent first =
      MakeSynAck("10.0.0.2", 443, "10.0.0.1", 40000, 7, At(absl::ZeroDuration()));
  original.Add(first);
  SynAckTable moved(std::move(original));
  EXPECT_FALSE(moved.Add(Later(first, absl::Seconds(1))));
  const std::vector<Record> records = moved.TakeRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].packets, 2u);
  EXPECT_EQ(records[0].connections, 1u);
}

// A deliberately naive model of the documented rule, on full tuples: a copy is a
// retransmission iff its handshake was first seen less than a window before it.
TEST(SynAckTableTest, MatchesNaiveModelOnRandomInOrderTraffic) {
  std::mt19937 rng(12345);
  SynAckTable table(Options(/*max_handshakes=*/1'000'000));
  using Tuple = std::tuple<uint16_t, uint32_t>;  // client port, isn (hosts fixed).
  std::map<Tuple, int64_t> first_seen;
  std::vector<Tuple> recent;
  int64_t now = At(absl::ZeroDuration());
  uint64_t model_connections = 0;
  uint64_t table_connections = 0;
  for (int i = 0; i < 20000; ++i) {
    now += std::uniform_int_distribution<int64_t>(0, 30'000'000)(rng);  // 0..30 ms.
    Tuple tuple;
    if (!recent.empty() && rng() % 3 == 0) {
      tuple = recent[rng() % recent.size()];  // A copy of a handshake seen before.
    } else {
      tuple = Tuple(static_cast<uint16_t>(rng() % 50), static_cast<uint32_t>(rng() % 40));
      recent.push_back(tuple);
    }
    auto it = first_seen.find(tuple);
    const bool model_new = it == first_seen.end() || now - it->second >= int64_t{60'000'000'000};
    if (model_new) {
      first_seen[tuple] = now;
      ++model_connections;
    }
    const bool table_new = table.Add(
        MakeSynAck("10.0.0.2", 80, "10.0.0.1", std::get<0>(tuple), std::get<1>(tuple), now));
    ASSERT_EQ(table_new, model_new) << "event " << i;
    table_connections += table_new ? 1 : 0;
  }
  EXPECT_EQ(table_connections, model_connections);
  // The model test must exercise both outcomes to mean anything.
  EXPECT_GT(table.stats().retransmissions, 1000u);
  EXPECT_GT(model_connections, 1000u);
}

TEST(SynAckTableTest, ManyDistinctHandshakesAreAllConnections) {
  // Fingerprint collisions would show as false retransmissions.
  SynAckTable table(Options(/*max_handshakes=*/1 << 18));
  const int64_t t = At(absl::ZeroDuration());
  uint64_t connections = 0;
  for (uint32_t i = 0; i < 200'000; ++i) {
    connections += table.Add(MakeSynAck("10.0.0.2", 443, "10.0.0.1",
                                        static_cast<uint16_t>(i & 0xffff), i >> 16, t))
                       ? 1
                       : 0;
  }
  EXPECT_EQ(connections, 200'000u);
  EXPECT_EQ(table.handshake_count(), 200'000u);
}

// Many keys that differ in single bytes, address families and ports above 255: every key keeps
// its own counts through the index's growth, and TakeRecords() orders them as RecordKey's <.
// Many keys sharing long prefixes, taken sorted on `threads`: every count kept, in RecordKey's
// order (on two threads too: there are more keys than ParallelSort sorts on one).
void ExpectManyKeysKeepTheirCountsAndSortAsRecordKey(SortThreads threads) {
  std::mt19937 rng(99);
  SynAckTable table(Options(/*max_handshakes=*/1 << 20));
  std::map<RecordKey, uint64_t> model;
  const int64_t t = At(absl::ZeroDuration());
  auto random_ip = [&](bool v6) {
    IpAddress ip;
    ip.length = v6 ? 16 : 4;
    // Few distinct byte values, so keys share long prefixes and differ late.
    for (int i = 0; i < ip.length; ++i) {
      ip.bytes[i] = static_cast<uint8_t>(rng() % 3 == 0 ? rng() : 0);
    }
    return ip;
  };
  for (uint32_t i = 0; i < 250'000; ++i) {
    SynAckEvent event;
    const bool v6 = rng() % 4 == 0;
    event.client = random_ip(v6);
    event.server = random_ip(v6);
    event.server_port = static_cast<uint16_t>(rng() % 3 == 0 ? rng() % 4 : rng());
    event.client_port = static_cast<uint16_t>(i);
    event.isn = i;
    event.timestamp_ns = t;
    table.Add(event);
    ++model[RecordKey{event.client, event.server, event.server_port}];
  }
  const std::vector<Record> records = table.TakeRecords(threads);
  ASSERT_EQ(records.size(), model.size());
  EXPECT_GT(records.size(), static_cast<size_t>(kParallelSortMin));
  size_t i = 0;
  for (const auto& [key, packets] : model) {  // std::map iterates in RecordKey's order.
    ASSERT_EQ(records[i].key, key) << "record " << i;
    ASSERT_EQ(records[i].packets, packets) << "record " << i;
    ++i;
  }
}

TEST(SynAckTableTest, ManyKeysKeepTheirCountsAndSortAsRecordKey) {
  ExpectManyKeysKeepTheirCountsAndSortAsRecordKey(SortThreads::kOne);
}

TEST(SynAckTableTest, ManyKeysSortedOnTwoThreadsAsOnOne) {
  ExpectManyKeysKeepTheirCountsAndSortAsRecordKey(SortThreads::kTwo);
}

// Keys past several blocks, some seen again as retransmissions or new connections:
// TakeRecordBlocks() gives the records TakeRecords() gives (unsorted, in blocks of 2^14, all full
// but the last) and clears them as it does, keeping the handshake memory: the same handshakes
// seen again two seconds later count afresh, as retransmissions only.
TEST(SynAckTableTest, TakeRecordBlocksHoldsWhatTakeRecordsSorts) {
  constexpr size_t kBlock = size_t{1} << 14;
  std::mt19937 rng(21);
  std::vector<SynAckEvent> events;
  const int64_t t = At(absl::ZeroDuration());
  for (uint32_t i = 0; i < 40'000; ++i) {
    const SynAckEvent event =
        MakeSynAck(absl::StrCat("10.1.", i % 200, ".", i / 200), static_cast<uint16_t>(443 + i % 3),
                   "2001:db8::1", static_cast<uint16_t>(i), i, t + int64_t{i} * 1000);
    events.push_back(event);
    switch (rng() % 6) {
      case 0:  // A retransmission, later in the stream.
        events.push_back(Later(event, absl::Seconds(1)));
        break;
      case 1:  // A new connection of the same key.
        events.push_back(Later(event, absl::Seconds(1)));
        events.back().isn += 1'000'000;
        break;
      default:
        break;
    }
  }
  std::shuffle(events.begin(), events.end(), rng);
  SynAckTable sorted(Options(/*max_handshakes=*/1 << 17));
  SynAckTable blocked(Options(/*max_handshakes=*/1 << 17));
  for (const absl::Duration later : {absl::ZeroDuration(), absl::Seconds(2)}) {
    for (const SynAckEvent& event : events) {
      sorted.Add(Later(event, later));
      blocked.Add(Later(event, later));
    }
    const std::vector<Record> want = sorted.TakeRecords();
    ASSERT_EQ(want.size(), 40'000u);
    ASSERT_EQ(blocked.key_count(), want.size());
    const std::vector<std::vector<Record>> blocks = blocked.TakeRecordBlocks();
    EXPECT_EQ(blocked.key_count(), 0u);
    ASSERT_EQ(blocks.size(), (want.size() + kBlock - 1) / kBlock);
    std::vector<Record> flat;
    for (size_t b = 0; b < blocks.size(); ++b) {
      EXPECT_EQ(blocks[b].size(), b + 1 < blocks.size() ? kBlock : want.size() - b * kBlock)
          << "block " << b;
      flat.insert(flat.end(), blocks[b].begin(), blocks[b].end());
    }
    std::sort(flat.begin(), flat.end(),
              [](const Record& a, const Record& b) { return a.key < b.key; });
    EXPECT_EQ(flat, want);
    uint64_t packets = 0;
    uint64_t connections = 0;
    for (const Record& r : want) {
      packets += r.packets;
      connections += r.connections;
    }
    EXPECT_EQ(packets, events.size());
    if (later == absl::ZeroDuration()) {
      EXPECT_LT(connections, events.size());  // Retransmissions among them.
      EXPECT_GT(connections, want.size());    // And new connections of keys seen before.
    } else {
      EXPECT_EQ(connections, 0u);  // Every handshake remembered across the take.
    }
  }
  EXPECT_EQ(blocked.stats(), sorted.stats());
  EXPECT_TRUE(blocked.TakeRecordBlocks().empty());
}

// AddBatch is Add on each event in order: same records, stats, retransmissions and evictions,
// whatever the batch boundaries (repeats inside one batch included).
TEST(SynAckTableTest, AddBatchCountsExactlyAsAddInOrder) {
  std::mt19937 rng(7);
  std::vector<SynAckEvent> events;
  int64_t now = At(absl::ZeroDuration());
  for (int i = 0; i < 30'000; ++i) {
    now += std::uniform_int_distribution<int64_t>(0, 5'000'000'000)(rng);
    if (!events.empty() && rng() % 4 == 0) {
      SynAckEvent copy = events[events.size() - 1 - rng() % std::min<size_t>(events.size(), 20)];
      copy.timestamp_ns = now;  // Often inside a batch with its original.
      events.push_back(copy);
      continue;
    }
    events.push_back(MakeSynAck(absl::StrCat("10.0.", rng() % 4, ".", rng() % 250),
                                static_cast<uint16_t>(rng() % 3 == 0 ? 443 : rng()),
                                absl::StrCat("2001:db8::", rng() % 5000), 1, rng(), now));
  }
  SynAckTable one_by_one(Options(/*max_handshakes=*/16));  // Small: evictions happen too.
  SynAckTable batched(Options(/*max_handshakes=*/16));
  for (const SynAckEvent& event : events) {
    one_by_one.Add(event);
  }
  for (size_t i = 0; i < events.size();) {
    const size_t n = std::min<size_t>(rng() % 100, events.size() - i);
    batched.AddBatch(absl::MakeConstSpan(events).subspan(i, n));
    i += n;
  }
  EXPECT_GT(one_by_one.stats().retransmissions, 1000u);
  EXPECT_GT(one_by_one.stats().handshakes_evicted, 0u);
  EXPECT_EQ(batched.stats(), one_by_one.stats());
  EXPECT_EQ(batched.TakeRecords(), one_by_one.TakeRecords());
}

}  // namespace
}  // namespace synmap::common
