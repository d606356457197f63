#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "common/log/log.h"

namespace synmap {

// The one conversion between absl::Status and grpc::Status (STYLE.md §5). The two code enums
// share their numbering, so codes map one to one.

// absl::Status -> grpc::Status with the same code, for a server answering a peer. Internal and
// Unknown details go to the log and the peer gets a generic "internal error"; every other
// message is passed on as is.
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

// grpc::Status -> absl::Status with the same code and message, for a client reporting what a
// call or stream ended with.
inline absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) {
    return absl::OkStatus();
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace synmap
