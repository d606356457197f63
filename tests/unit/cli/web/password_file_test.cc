#include "cli/web/password_file.h"

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/cli/web/status_has.h"

namespace synmap::cli::web {
namespace {

using ::synmap::testing::StatusHas;
using ::synmap::testing::StatusIs;
using ::testing::HasSubstr;

std::string Basic(absl::string_view credentials) {
  return "Basic " + absl::Base64Escape(credentials);
}

TEST(PasswordFileTest, AllowsEachAccountWithItsPasswordOnly) {
  ASSERT_OK_AND_ASSIGN(PasswordFile file,
                       PasswordFile::Parse("# readers\nalice:s3cret: with colon\n\nbob:pw\n", "f"));
  EXPECT_TRUE(file.Allows(Basic("alice:s3cret: with colon")));
  EXPECT_TRUE(file.Allows(Basic("bob:pw")));
  EXPECT_FALSE(file.Allows(Basic("bob:pW")));
  EXPECT_FALSE(file.Allows(Basic("alice:pw")));
  EXPECT_FALSE(file.Allows(Basic("bob:pw ")));
}

TEST(PasswordFileTest, RefusesMissingOrMalformedAuthorization) {
  ASSERT_OK_AND_ASSIGN(PasswordFile file, PasswordFile::Parse("bob:pw\n", "f"));
  EXPECT_FALSE(file.Allows(""));
  EXPECT_FALSE(file.Allows("Bearer abc"));
  EXPECT_FALSE(file.Allows("Basic !!!not-base64"));
}

TEST(PasswordFileTest, AcceptsCrlfLineEnds) {
  ASSERT_OK_AND_ASSIGN(PasswordFile file, PasswordFile::Parse("bob:pw\r\n", "f"));
  EXPECT_TRUE(file.Allows(Basic("bob:pw")));
}

TEST(PasswordFileTest, NamesTheBadLine) {
  EXPECT_THAT(PasswordFile::Parse("bob:pw\nnocolon\n", "pw.txt"),
              StatusHas(absl::StatusCode::kInvalidArgument, "pw.txt:2:"));
  EXPECT_THAT(PasswordFile::Parse(":pw\n", "f"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PasswordFile::Parse("bob:\n", "f"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PasswordFileTest, RefusesAFileWithoutAccounts) {
  EXPECT_THAT(PasswordFile::Parse("# nobody\n", "f"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PasswordFileTest, MissingFileIsNotFound) {
  EXPECT_THAT(PasswordFile::Load("/nonexistent/synmap-passwords"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace synmap::cli::web
