#include "sensor/uplink/internal/backoff.h"

#include <gtest/gtest.h>

namespace synmap::sensor::internal {
namespace {

TEST(BackoffTest, CeilingDoublesUpToMaxAndDelayScalesWithJitter) {
  Backoff backoff(absl::Milliseconds(100), absl::Milliseconds(700), [] { return 0.5; });
  // Full jitter with u = 0.5: half of 100, 200, 400, then capped at 700.
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(50));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(100));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(200));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(350));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(350));
}

TEST(BackoffTest, FloorKeepsEveryDelayAtLeastThatShareOfTheCeiling) {
  Backoff backoff(
      absl::Seconds(60), absl::Seconds(600), [] { return 0.0; }, /*floor=*/0.5);
  EXPECT_EQ(backoff.Next(), absl::Seconds(30));
  EXPECT_EQ(backoff.Next(), absl::Seconds(60));
  EXPECT_EQ(backoff.Next(), absl::Seconds(120));
  EXPECT_EQ(backoff.Next(), absl::Seconds(240));
  EXPECT_EQ(backoff.Next(), absl::Seconds(300));  // Capped: half of 600.
  Backoff top(
      absl::Seconds(60), absl::Seconds(600), [] { return 1.0; }, /*floor=*/0.5);
  EXPECT_EQ(top.Next(), absl::Seconds(60));
}

TEST(BackoffTest, ZeroJitterGivesZeroDelay) {
  Backoff backoff(absl::Seconds(1), absl::Seconds(30), [] { return 0.0; });
  EXPECT_EQ(backoff.Next(), absl::ZeroDuration());
  EXPECT_EQ(backoff.ceiling(), absl::Seconds(2));
}

TEST(BackoffTest, ResetReturnsToInitialCeiling) {
  Backoff backoff(absl::Seconds(1), absl::Seconds(30), [] { return 0.99; });
  backoff.Next();
  backoff.Next();
  backoff.Next();
  EXPECT_EQ(backoff.ceiling(), absl::Seconds(8));
  backoff.Reset();
  EXPECT_EQ(backoff.ceiling(), absl::Seconds(1));
}

TEST(BackoffTest, DelaysStayWithinCeilingForAnyDraw) {
  double u = 0.0;
  Backoff backoff(absl::Milliseconds(10), absl::Seconds(1), [&u] {
    u += 0.37;
    if (u >= 1.0) u -= 1.0;
    return u;
  });
  for (int i = 0; i < 50; ++i) {
    const absl::Duration ceiling = backoff.ceiling();
    const absl::Duration d = backoff.Next();
    EXPECT_GE(d, absl::ZeroDuration());
    EXPECT_LE(d, ceiling);
    EXPECT_LE(ceiling, absl::Seconds(1));
  }
}

}  // namespace
}  // namespace synmap::sensor::internal
