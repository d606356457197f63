#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace synmap::common::internal {

// Reads the whole file at `path`. On failure returns the errno-derived code (NotFound,
// PermissionDenied, ...) with a message "read <what> <path>: <reason>".
absl::StatusOr<std::string> ReadFile(absl::string_view path, absl::string_view what);

}  // namespace synmap::common::internal
