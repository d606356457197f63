#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "common/log/log.h"

namespace synmap::collector::internal {

// absl::Status -> grpc::Status with the same code. Internal (and Unknown) details go to the
// log; the peer gets a generic message. (STYLE.md places this in common/status/grpc_status.h;
// kept here until that header exists.)
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) {
    return grpc::Status::OK;
  }
  if (status.code() == absl::StatusCode::kInternal || status.code() == absl::StatusCode::kUnknown) {
    SYNMAP_LOG(ERROR) << "internal_error status=" << status.ToString();
    return grpc::Status(static_cast<grpc::StatusCode>(status.code()), "internal error");
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace synmap::collector::internal
