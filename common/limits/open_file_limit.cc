#include "common/limits/open_file_limit.h"

#include <sys/resource.h>

#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace synmap::common {

absl::StatusOr<OpenFileLimit> RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::ErrnoToStatus(errno, "read the open file limit");
  }
  OpenFileLimit out{.soft_before = limit.rlim_cur, .soft = limit.rlim_cur, .hard = limit.rlim_max};
  if (limit.rlim_cur != limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("raise the open file limit from ",
                                                     out.soft_before, " to ", out.hard));
    }
    out.soft = limit.rlim_cur;
  }
  return out;
}

}  // namespace synmap::common
