#include "common/enrol/enrolment_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_matchers.h"

namespace synmap::common {
namespace {

using ::synmap::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(EnrolmentTokenTest, CarriesItsNameEvenWhenTheNameHasDots) {
  ASSERT_OK_AND_ASSIGN(std::string token, NewEnrolmentToken("router-c.lab"));
  ASSERT_OK_AND_ASSIGN(std::string name, EnrolmentTokenName(token));
  EXPECT_EQ(name, "router-c.lab");
}

TEST(EnrolmentTokenTest, TwoTokensForOneNameDifferAndHashDifferently) {
  ASSERT_OK_AND_ASSIGN(std::string a, NewEnrolmentToken("s1"));
  ASSERT_OK_AND_ASSIGN(std::string b, NewEnrolmentToken("s1"));
  EXPECT_NE(a, b);
  EXPECT_NE(EnrolmentTokenHash(a), EnrolmentTokenHash(b));
  EXPECT_EQ(EnrolmentTokenHash(a), EnrolmentTokenHash(a));
  EXPECT_EQ(EnrolmentTokenHash(a).size(), 64u);
  EXPECT_THAT(EnrolmentTokenHash(a), Not(HasSubstr("s1")));
}

TEST(EnrolmentTokenTest, MangledTokensAreRefusedWithoutEchoingThem) {
  ASSERT_OK_AND_ASSIGN(std::string token, NewEnrolmentToken("s1"));
  for (const std::string& bad :
       {token.substr(0, token.size() - 1), token + "x", std::string("nodot"),
        "bad/name." + token.substr(3), "." + token.substr(3)}) {
    absl::StatusOr<std::string> name = EnrolmentTokenName(bad);
    EXPECT_THAT(name, StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
    EXPECT_THAT(std::string(name.status().message()), Not(HasSubstr(bad)));
  }
}

TEST(EnrolmentTokenTest, AnInvalidNameGetsNoToken) {
  EXPECT_THAT(NewEnrolmentToken("has space"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NewEnrolmentToken(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace synmap::common
