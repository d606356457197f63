#include "common/status/grpc_status.h"

#include <gtest/gtest.h>

#include "absl/status/status.h"

namespace synmap {
namespace {

TEST(GrpcStatusTest, EveryCodeSurvivesTheRoundTripWithItsMessage) {
  for (int code = 1; code <= 16; ++code) {
    if (code == static_cast<int>(absl::StatusCode::kInternal) ||
        code == static_cast<int>(absl::StatusCode::kUnknown)) {
      continue;  // Their messages are withheld from peers (next test).
    }
    const absl::Status original(static_cast<absl::StatusCode>(code), "seq 7 refused");
    const grpc::Status wire = ToGrpcStatus(original);
    EXPECT_EQ(static_cast<int>(wire.error_code()), code);
    EXPECT_EQ(wire.error_message(), "seq 7 refused");
    EXPECT_EQ(FromGrpcStatus(wire), original);
  }
}

TEST(GrpcStatusTest, InternalDetailsAreNotSentToThePeer) {
  const grpc::Status wire = ToGrpcStatus(absl::InternalError("index 42 out of range in ledger"));
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(wire.error_message(), "internal error");
  EXPECT_EQ(ToGrpcStatus(absl::UnknownError("x")).error_message(), "internal error");
}

TEST(GrpcStatusTest, OkMapsToOkBothWays) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatusTest, GrpcCodesMatchAbslCodesByName) {
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")),
            absl::UnavailableError("down"));
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "slow")),
            absl::DeadlineExceededError("slow"));
  EXPECT_EQ(ToGrpcStatus(absl::PermissionDeniedError("role")).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace synmap
