#include "common/lockfile/lock_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"

namespace synmap::common {
namespace {

// The pid holding a flock on the file `fd` is open on, from /proc/locks ("1: FLOCK  ADVISORY
// WRITE 14300 fe:00:247066 0 EOF": the pid, then the device in hex and the inode), or
// "unknown".
std::string FlockHolder(int fd) {
  struct stat st {};
  FILE* locks = ::fstat(fd, &st) == 0 ? std::fopen("/proc/locks", "r") : nullptr;
  if (locks == nullptr) {
    return "unknown";
  }
  std::string holder = "unknown";
  char line[256];
  while (std::fgets(line, sizeof(line), locks) != nullptr) {
    char kind[16] = {};
    long pid = 0;
    unsigned int dev_major = 0;
    unsigned int dev_minor = 0;
    uintmax_t inode = 0;
    // Lines of waiters ("1: -> FLOCK ...") do not match: their second word is "->".
    if (std::sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%" SCNuMAX, kind, &pid, &dev_major,
                    &dev_minor, &inode) == 5 &&
        std::string_view(kind) == "FLOCK" && dev_major == major(st.st_dev) &&
        dev_minor == minor(st.st_dev) && inode == st.st_ino) {
      holder = absl::StrCat(pid);
      break;
    }
  }
  std::fclose(locks);
  return holder;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LockFile>> LockFile::Acquire(const std::string& path,
                                                            const LockUse& use) {
  struct stat st {};
  const bool directory = ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  const int fd = directory ? ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                           : ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", directory ? "" : "lock file ", path));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string holder = err == EWOULDBLOCK ? FlockHolder(fd) : "";
    ::close(fd);
    if (err != EWOULDBLOCK) {
      return absl::ErrnoToStatus(
          err, absl::StrCat("lock ", path, " (it needs a local file system with flock)"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat(use.what, " is in use by another ", use.holder, " (pid ", holder,
                     directory ? "" : absl::StrCat(", lock file ", path),
                     "); stop that one first or ", use.other_choice));
  }
  if (!directory) {
    // For whoever reads the file; the refusal above reads the kernel's list instead.
    const std::string pid = absl::StrCat(::getpid(), "\n");
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      const int err = errno;
      ::close(fd);
      return absl::ErrnoToStatus(err, absl::StrCat("write lock file ", path));
    }
  }
  return absl::WrapUnique(new LockFile(fd));
}

LockFile::~LockFile() { ::close(fd_); }

}  // namespace synmap::common
