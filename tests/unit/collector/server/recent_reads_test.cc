#include "collector/server/internal/recent_reads.h"

#include <atomic>
#include <barrier>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace synmap::collector::internal {
namespace {

constexpr uint64_t kProbe = 0x0123'4567'89ab'cdefULL;  // The hash of some first bytes.
constexpr uint64_t kT0 = 1'000;                        // Seconds.

TEST(RecentReadsTest, NamesTheSocketThatReadTheBytesOnce) {
  auto reads = std::make_unique<RecentReads>();
  reads->Note(7, kProbe, kT0);
  EXPECT_EQ(reads->Claim(kProbe, kT0), 7);
  EXPECT_EQ(reads->Claim(kProbe, kT0), RecentReads::kNone);  // Taken out.
}

TEST(RecentReadsTest, OtherBytesAreNotNamed) {
  auto reads = std::make_unique<RecentReads>();
  reads->Note(7, kProbe, kT0);
  EXPECT_EQ(reads->Claim(kProbe ^ (uint64_t{1} << 40), kT0), RecentReads::kNone);  // Same slot.
  EXPECT_EQ(reads->Claim(kProbe ^ 1, kT0), RecentReads::kNone);                    // Another slot.
  EXPECT_EQ(reads->Claim(kProbe, kT0), 7);
}

// Two sockets send the same bytes before the first was traced: neither may be named, since the
// table cannot tell which handshake step is whose (naming the later one for both was the bug).
TEST(RecentReadsTest, TheSameBytesFromTwoSocketsNameNeither) {
  auto reads = std::make_unique<RecentReads>();
  reads->Note(7, kProbe, kT0);
  reads->Note(9, kProbe, kT0 + 1);
  EXPECT_EQ(reads->Claim(kProbe, kT0 + 1), RecentReads::kSeveral);
  // A third socket sending them while one of the two is still unclaimed is not named either
  // (its step and the other's could be taken for one another).
  reads->Note(11, kProbe, kT0 + 2);
  EXPECT_EQ(reads->Claim(kProbe, kT0 + 2), RecentReads::kSeveral);
  EXPECT_EQ(reads->Claim(kProbe, kT0 + 2), RecentReads::kSeveral);
  // Every read of them was claimed: the next socket sending them is named.
  EXPECT_EQ(reads->Claim(kProbe, kT0 + 2), RecentReads::kNone);
  reads->Note(13, kProbe, kT0 + 3);
  EXPECT_EQ(reads->Claim(kProbe, kT0 + 3), 13);
}

TEST(RecentReadsTest, TheSameBytesAfterTheFirstWasTracedNameTheirSocket) {
  auto reads = std::make_unique<RecentReads>();
  reads->Note(7, kProbe, kT0);
  EXPECT_EQ(reads->Claim(kProbe, kT0), 7);
  reads->Note(9, kProbe, kT0);
  EXPECT_EQ(reads->Claim(kProbe, kT0), 9);
}

TEST(RecentReadsTest, OneSocketReadingTheSameBytesTwiceIsStillNamed) {
  auto reads = std::make_unique<RecentReads>();
  reads->Note(7, kProbe, kT0);
  reads->Note(7, kProbe, kT0 + 2);
  EXPECT_EQ(reads->Claim(kProbe, kT0 + 2), 7);
  EXPECT_EQ(reads->Claim(kProbe, kT0 + 2), 7);
  EXPECT_EQ(reads->Claim(kProbe, kT0 + 2), RecentReads::kNone);
}

TEST(RecentReadsTest, AnUnclaimedReadIsForgottenAfterAboutAMinute) {
  auto reads = std::make_unique<RecentReads>();
  reads->Note(7, kProbe, kT0);  // Its connection closed before any handshake step.
  reads->Note(9, kProbe, kT0 + RecentReads::kForgetAfterSeconds + RecentReads::kSecondsPerUnit);
  EXPECT_EQ(reads->Claim(kProbe, kT0 + 100), 9);
  // Within the time, it is still there.
  reads->Note(7, kProbe, kT0);
  reads->Note(9, kProbe, kT0 + RecentReads::kForgetAfterSeconds - RecentReads::kSecondsPerUnit);
  EXPECT_EQ(reads->Claim(kProbe, kT0 + 40), RecentReads::kSeveral);
  // An ambiguous slot left behind is forgotten too, and a claim then finds nothing.
  EXPECT_EQ(reads->Claim(kProbe, kT0 + 1000), RecentReads::kNone);
}

TEST(RecentReadsTest, SoManyReadsThatTheCountStopsStayAmbiguousUntilForgotten) {
  auto reads = std::make_unique<RecentReads>();
  for (int fd = 0; fd < 200; ++fd) {
    reads->Note(fd, kProbe, kT0);
  }
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(reads->Claim(kProbe, kT0), RecentReads::kSeveral) << i;
  }
  reads->Note(5, kProbe, kT0 + 10 * RecentReads::kForgetAfterSeconds);
  EXPECT_EQ(reads->Claim(kProbe, kT0 + 10 * RecentReads::kForgetAfterSeconds), 5);
}

TEST(RecentReadsTest, SocketsOutsideTheFieldAreNotNoted) {
  auto reads = std::make_unique<RecentReads>();
  reads->Note(-1, kProbe, kT0);
  reads->Note(RecentReads::kMaxFd, kProbe, kT0);
  EXPECT_EQ(reads->Claim(kProbe, kT0), RecentReads::kNone);
  reads->Note(RecentReads::kMaxFd - 1, kProbe, kT0);
  EXPECT_EQ(reads->Claim(kProbe, kT0), RecentReads::kMaxFd - 1);
  reads->Note(0, kProbe, kT0);
  EXPECT_EQ(reads->Claim(kProbe, kT0), 0);
}

// Threads note the same bytes from different sockets at once, then each claims: every claim
// answers kSeveral, whatever the interleaving of the notes (none is lost in a race).
TEST(RecentReadsTest, ConcurrentSameBytesNeverNameOneOfThem) {
  constexpr int kThreads = 4;
  for (int round = 0; round < 300; ++round) {
    auto reads = std::make_unique<RecentReads>();
    std::barrier sync(kThreads);
    std::atomic<int> several{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        sync.arrive_and_wait();
        reads->Note(100 + t, kProbe, kT0);
        sync.arrive_and_wait();  // Every note is in before the first claim.
        several += reads->Claim(kProbe, kT0) == RecentReads::kSeveral ? 1 : 0;
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
    ASSERT_EQ(several.load(), kThreads) << "round " << round;
  }
}

}  // namespace
}  // namespace synmap::collector::internal
