#include "common/aggregate/capture_window.h"

#include <gtest/gtest.h>

#include <optional>

#include "absl/time/time.h"

namespace synmap::common {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(CaptureWindowerTest, FirstTimestampOpensAlignedWindow) {
  CaptureWindower windower(absl::Seconds(10));
  EXPECT_EQ(windower.current(), std::nullopt);
  EXPECT_EQ(windower.Advance(1003 * kSecond + 5), std::nullopt);
  EXPECT_EQ(windower.current(), (CaptureWindow{1000 * kSecond, 1010 * kSecond}));
}

TEST(CaptureWindowerTest, ReachingTheEndClosesTheWindow) {
  CaptureWindower windower(absl::Seconds(10));
  windower.Advance(1003 * kSecond);
  EXPECT_EQ(windower.Advance(1010 * kSecond - 1), std::nullopt);
  EXPECT_EQ(windower.Advance(1010 * kSecond), (CaptureWindow{1000 * kSecond, 1010 * kSecond}));
  EXPECT_EQ(windower.current(), (CaptureWindow{1010 * kSecond, 1020 * kSecond}));
}

TEST(CaptureWindowerTest, JumpClosesOnlyTheOpenWindow) {
  CaptureWindower windower(absl::Seconds(10));
  windower.Advance(1003 * kSecond);
  EXPECT_EQ(windower.Advance(1047 * kSecond), (CaptureWindow{1000 * kSecond, 1010 * kSecond}));
  EXPECT_EQ(windower.current(), (CaptureWindow{1040 * kSecond, 1050 * kSecond}));
}

TEST(CaptureWindowerTest, EarlierTimestampStaysInOpenWindow) {
  CaptureWindower windower(absl::Seconds(10));
  windower.Advance(1013 * kSecond);
  EXPECT_EQ(windower.Advance(1008 * kSecond), std::nullopt);
  EXPECT_EQ(windower.current(), (CaptureWindow{1010 * kSecond, 1020 * kSecond}));
}

TEST(CaptureWindowerTest, CloseReturnsOpenWindowOnce) {
  CaptureWindower windower(absl::Seconds(10));
  EXPECT_EQ(windower.Close(), std::nullopt);
  windower.Advance(1003 * kSecond);
  EXPECT_EQ(windower.Close(), (CaptureWindow{1000 * kSecond, 1010 * kSecond}));
  EXPECT_EQ(windower.Close(), std::nullopt);
  EXPECT_EQ(windower.current(), std::nullopt);
}

TEST(CaptureWindowerTest, NegativeTimestampsRoundDown) {
  CaptureWindower windower(absl::Seconds(10));
  EXPECT_EQ(windower.WindowOf(-3 * kSecond), (CaptureWindow{-10 * kSecond, 0}));
  EXPECT_EQ(windower.WindowOf(-10 * kSecond), (CaptureWindow{-10 * kSecond, 0}));
  EXPECT_EQ(windower.WindowOf(0), (CaptureWindow{0, 10 * kSecond}));
}

TEST(CaptureWindowerTest, NonDivisorIntervalAlignsToEpoch) {
  CaptureWindower windower(absl::Seconds(7));
  EXPECT_EQ(windower.WindowOf(15 * kSecond), (CaptureWindow{14 * kSecond, 21 * kSecond}));
}

// The collector files a batch in the bucket holding its start; with an interval dividing 60 s
// every window lies inside one minute (and so inside one hour and one day).
TEST(CaptureWindowerTest, WindowsOfAnIntervalDividingAMinuteNeverStraddleAMinuteEdge) {
  constexpr int64_t kMinute = 60 * kSecond;
  for (int64_t seconds : {1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60}) {
    CaptureWindower windower(absl::Seconds(seconds));
    for (int64_t t = 1'699'999'200 * kSecond - 3 * kMinute;
         t < 1'699'999'200 * kSecond + 3 * kMinute; t += 777'777'777) {
      const CaptureWindow w = windower.WindowOf(t);
      EXPECT_EQ(w.start_ns / kMinute, (w.end_ns - 1) / kMinute) << seconds << "s at " << t;
    }
  }
  // 7 s does not divide a minute: some window straddles (filed by its start, see docs).
  CaptureWindower odd(absl::Seconds(7));
  const CaptureWindow w = odd.WindowOf(60 * kSecond);
  EXPECT_EQ(w, (CaptureWindow{56 * kSecond, 63 * kSecond}));
}

}  // namespace
}  // namespace synmap::common
