#include "common/lockfile/lock_file.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap::common {
namespace {

using ::synmap::testing::StatusIs;
using ::synmap::testing::TempDir;

const LockUse kUse{.what = "thing T", .holder = "owner", .other_choice = "take another"};

TEST(LockFileTest, AFileIsLockedByOneHolderAtATimeAndNamesItsPid) {
  TempDir dir;
  const std::string path = dir.File("db.lock");
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<LockFile> first, LockFile::Acquire(path, kUse));
    const absl::StatusOr<std::unique_ptr<LockFile>> second = LockFile::Acquire(path, kUse);
    EXPECT_THAT(second.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_EQ(second.status().message(),
              absl::StrCat("thing T is in use by another owner (pid ", getpid(), ", lock file ",
                           path, "); stop that one first or take another"));
    std::ifstream in(path);
    std::string pid;
    in >> pid;
    EXPECT_EQ(pid, absl::StrCat(getpid()));  // For whoever reads the file.
  }
  EXPECT_OK(LockFile::Acquire(path, kUse).status());  // Released with its holder.
}

TEST(LockFileTest, ADirectoryIsLockedItselfWithNothingWrittenIntoIt) {
  TempDir dir;
  const std::string spool = dir.File("spool");
  std::filesystem::create_directory(spool);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<LockFile> first, LockFile::Acquire(spool, kUse));
    EXPECT_TRUE(std::filesystem::is_empty(spool));
    const absl::StatusOr<std::unique_ptr<LockFile>> second = LockFile::Acquire(spool, kUse);
    EXPECT_EQ(second.status().message(),
              absl::StrCat("thing T is in use by another owner (pid ", getpid(),
                           "); stop that one first or take another"));
  }
  EXPECT_OK(LockFile::Acquire(spool, kUse).status());
}

// The holder is another process: the refusal names it; once it has exited (the kernel drops
// its lock however it ends), the lock is free.
TEST(LockFileTest, AnotherProcessHoldingTheLockIsNamedAndItsExitFreesIt) {
  TempDir dir;
  const std::string spool = dir.File("spool");
  std::filesystem::create_directory(spool);
  int ready[2];
  int go[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(go), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const absl::StatusOr<std::unique_ptr<LockFile>> lock = LockFile::Acquire(spool, kUse);
    const char byte = lock.ok() ? 1 : 0;
    (void)!write(ready[1], &byte, 1);
    char wait_for = 0;
    (void)!read(go[0], &wait_for, 1);
    _exit(0);  // Without running destructors: as a crash would.
  }
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, 1);
  const absl::StatusOr<std::unique_ptr<LockFile>> refused = LockFile::Acquire(spool, kUse);
  EXPECT_EQ(refused.status().message(),
            absl::StrCat("thing T is in use by another owner (pid ", child,
                         "); stop that one first or take another"));
  ASSERT_EQ(write(go[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_OK(LockFile::Acquire(spool, kUse).status());
}

TEST(LockFileTest, APathThatCannotBeOpenedIsAnError) {
  TempDir dir;
  EXPECT_THAT(LockFile::Acquire(dir.File("missing/dir/db.lock"), kUse).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace synmap::common
