#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace synmap::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// Matches a Status or StatusOr whose code is `code`.
MATCHER_P(StatusIs, code, "") {
  const absl::Status& s = ::synmap::testing::GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code;
}

}  // namespace synmap::testing

#define EXPECT_OK(expr) \
  EXPECT_TRUE(::synmap::testing::GetStatus(expr).ok()) << ::synmap::testing::GetStatus(expr)
#define ASSERT_OK(expr) \
  ASSERT_TRUE(::synmap::testing::GetStatus(expr).ok()) << ::synmap::testing::GetStatus(expr)

#define SYNMAP_TESTING_CONCAT_INNER_(a, b) a##b
#define SYNMAP_TESTING_CONCAT_(a, b) SYNMAP_TESTING_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(SYNMAP_TESTING_CONCAT_(statusor_, __LINE__), lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  ASSERT_TRUE(statusor.ok()) << statusor.status();       \
  lhs = std::move(statusor).value()
