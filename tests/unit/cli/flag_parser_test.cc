#include "cli/flag_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/status_matchers.h"

namespace synmap::cli {
namespace {

using ::synmap::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Flags {
  std::string names;
  std::string count = "connections";
  bool remote = false;
};

class FlagParserTest : public ::testing::Test {
 protected:
  FlagParserTest() {
    parser_.AddString("names", "FILE", &flags_.names, "names file");
    parser_.AddChoice("count", {"connections", "packets"}, &flags_.count, "what to count");
    parser_.AddBool("show-remote", &flags_.remote, "show remote IPs");
  }
  absl::Status Parse(std::vector<std::string> args) { return parser_.Parse(args, &positional_); }

  Flags flags_;
  FlagParser parser_;
  std::vector<std::string> positional_;
};

TEST_F(FlagParserTest, AcceptsSpaceAndEqualsFormsAndPositionals) {
  ASSERT_OK(Parse({"a.pcap", "--names", "n.yaml", "--count=packets", "-", "--show-remote"}));
  EXPECT_EQ(flags_.names, "n.yaml");
  EXPECT_EQ(flags_.count, "packets");
  EXPECT_TRUE(flags_.remote);
  EXPECT_THAT(positional_, ElementsAre("a.pcap", "-"));
  EXPECT_FALSE(parser_.help());
}

TEST_F(FlagParserTest, DoubleDashEndsFlags) {
  ASSERT_OK(Parse({"--", "--names", "-x"}));
  EXPECT_EQ(flags_.names, "");
  EXPECT_THAT(positional_, ElementsAre("--names", "-x"));
}

TEST_F(FlagParserTest, RejectsMistakesWithOneLineMessages) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--nope"}, "unknown flag --nope (see --help)"},
           {{"-x"}, "unknown flag '-x'"},
           {{"--names"}, "flag --names needs a value (FILE)"},
           {{"--names", "a", "--names", "b"}, "flag --names given twice"},
           {{"--count", "bytes"}, "--count: 'bytes' is not one of connections|packets"},
           {{"--show-remote=1"}, "--show-remote takes no value"},
       }) {
    positional_.clear();
    absl::Status s = Parse(c.args);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument)) << c.args[0];
    EXPECT_EQ(s.message(), c.message);
  }
}

TEST_F(FlagParserTest, ValueMayStartWithADash) {
  ASSERT_OK(Parse({"--names", "-n.yaml", "-"}));
  EXPECT_EQ(flags_.names, "-n.yaml");
  EXPECT_THAT(positional_, ElementsAre("-"));
}

TEST_F(FlagParserTest, HelpIsRecognisedAndUsageListsFlags) {
  ASSERT_OK(Parse({"--help"}));
  EXPECT_TRUE(parser_.help());
  const std::string usage = parser_.Usage();
  EXPECT_THAT(usage, HasSubstr("--names FILE"));
  EXPECT_THAT(usage, HasSubstr("--count connections|packets"));
  EXPECT_THAT(usage, HasSubstr("--show-remote"));
  EXPECT_THAT(usage, HasSubstr("--help"));
}

}  // namespace
}  // namespace synmap::cli
