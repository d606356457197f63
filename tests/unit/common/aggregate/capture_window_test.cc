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

}  // namespace
}  // namespace synmap::common
