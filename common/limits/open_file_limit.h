#pragma once

#include <cstdint>

#include "absl/status/statusor.h"

namespace synmap::common {

// This process's limit on open descriptors (RLIMIT_NOFILE) before and after RaiseOpenFileLimit.
struct OpenFileLimit {
  uint64_t soft_before = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// Raises the soft limit on open descriptors to the hard one, as far as the kernel lets an
// unprivileged process: a process that may hold many descriptors at once (the collector's
// connections, summarize's capture files merged by time) should not stop at a low default soft
// limit (often 1024) below a high hard one. Internal error (with errno's text) when the limits
// cannot be read or set; the limit is then unchanged.
absl::StatusOr<OpenFileLimit> RaiseOpenFileLimit();

}  // namespace synmap::common
