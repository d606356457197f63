#include "common/limits/open_file_limit.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <vector>

#include "tests/testing/status_matchers.h"

namespace synmap::common {
namespace {

// With the soft limit lowered below the hard one, the raise brings it back up: descriptors past
// the old soft limit can then be opened.
TEST(OpenFileLimitTest, TheSoftLimitIsRaisedToTheHardOne) {
  rlimit original{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);
  if (original.rlim_max < 256) {
    GTEST_SKIP() << "hard limit " << original.rlim_max << " leaves no room to lower the soft one";
  }
  rlimit low = original;
  low.rlim_cur = 64;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> fds;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) {
    fds.push_back(fd);
  }
  const size_t at_low = fds.size();
  ASSERT_LT(at_low, 64u);  // The lowered limit holds.

  ASSERT_OK_AND_ASSIGN(const OpenFileLimit limit, RaiseOpenFileLimit());
  EXPECT_EQ(limit.soft_before, 64u);
  EXPECT_EQ(limit.soft, original.rlim_max);
  EXPECT_EQ(limit.hard, original.rlim_max);
  for (int i = 0; i < 100; ++i) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << "descriptor " << at_low + i << " past the old limit";
    fds.push_back(fd);
  }
  for (const int fd : fds) {
    ::close(fd);
  }
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &original), 0);
}

// At the hard limit already, nothing changes.
TEST(OpenFileLimitTest, AtTheHardLimitNothingChanges) {
  ASSERT_OK(RaiseOpenFileLimit().status());
  ASSERT_OK_AND_ASSIGN(const OpenFileLimit again, RaiseOpenFileLimit());
  EXPECT_EQ(again.soft_before, again.hard);
  EXPECT_EQ(again.soft, again.hard);
}

}  // namespace
}  // namespace synmap::common
