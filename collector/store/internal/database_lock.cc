#include "collector/store/internal/database_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "absl/memory/memory.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace synmap::collector::internal {

absl::StatusOr<std::unique_ptr<DatabaseLock>> DatabaseLock::Acquire(const std::string& db_path) {
  const std::string path = absl::StrCat(db_path, ".lock");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open lock file ", path));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK) {
      return absl::ErrnoToStatus(err, absl::StrCat("lock ", path));
    }
    const std::string holder =
        n > 0 ? std::string(absl::StripAsciiWhitespace(absl::string_view(buf, n))) : "unknown";
    return absl::FailedPreconditionError(
        absl::StrCat("database ", db_path, " is in use by another collector (pid ", holder,
                     ", lock file ", path, "); stop that one first or use another --db"));
  }
  const std::string pid = absl::StrCat(::getpid(), "\n");
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int err = errno;
    ::close(fd);
    return absl::ErrnoToStatus(err, absl::StrCat("write lock file ", path));
  }
  return absl::WrapUnique(new DatabaseLock(fd));
}

DatabaseLock::~DatabaseLock() { ::close(fd_); }

}  // namespace synmap::collector::internal
