#include "common/config/options.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap::common {
namespace {

using ::synmap::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<OptionSpec>& Specs() {
  static const auto* specs = new std::vector<OptionSpec>{
      {.name = "listen", .value_name = "HOST:PORT", .help = "address"},
      {.name = "retention", .value_name = "DURATION", .help = "keep"},
      {.name = "collector", .value_name = "HOST:PORT", .help = "targets", .repeated = true},
      {.name = "workers", .value_name = "N", .help = "threads"},
      {.name = "insecure-for-testing", .value_name = "", .help = "plaintext"},
      {.name = "config", .value_name = "FILE", .help = "yaml", .file_allowed = false},
  };
  return *specs;
}

class OptionsTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    const std::string path = dir_.File("c.yaml");
    std::ofstream(path) << text;
    return path;
  }
  absl::StatusOr<OptionMap> Flags(std::vector<std::string> args,
                                  std::vector<std::string>* positional = nullptr) {
    return ParseFlags(args, Specs(), positional);
  }
  synmap::testing::TempDir dir_;
};

TEST_F(OptionsTest, LoadsScalarsAndLists) {
  const std::string path = Write(
      "# comment\nlisten: 0.0.0.0:7443\nretention: 90d\ncollector: [a:1, b:2]\n"
      "insecure_for_testing: true\n");
  ASSERT_OK_AND_ASSIGN(OptionMap m, LoadYamlOptions(path, Specs()));
  EXPECT_EQ(GetString(m, "listen").value(), "0.0.0.0:7443");
  EXPECT_EQ(GetDuration(m, "retention", absl::ZeroDuration()).value(), absl::Hours(24 * 90));
  EXPECT_THAT(GetList(m, "collector"), ElementsAre("a:1", "b:2"));
  EXPECT_TRUE(GetBool(m, "insecure-for-testing", false).value());
  EXPECT_EQ(m.at("listen").origin, path + ":2: key listen");
}

TEST_F(OptionsTest, EmptyFileGivesNoOptions) {
  ASSERT_OK_AND_ASSIGN(OptionMap m, LoadYamlOptions(Write(""), Specs()));
  EXPECT_TRUE(m.empty());
}

TEST_F(OptionsTest, UnknownKeyNamesFileAndLine) {
  const std::string path = Write("listen: x:1\n\nlisten_port: 7\n");
  absl::StatusOr<OptionMap> m = LoadYamlOptions(path, Specs());
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr(path + ":3: unknown key 'listen_port'"));
}

TEST_F(OptionsTest, FlagOnlyOptionIsUnknownInFile) {
  EXPECT_THAT(LoadYamlOptions(Write("config: other.yaml\n"), Specs()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(OptionsTest, DuplicateKeyIsError) {
  absl::StatusOr<OptionMap> m = LoadYamlOptions(Write("listen: a:1\nlisten: b:2\n"), Specs());
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr(":2: key listen: given twice"));
}

TEST_F(OptionsTest, SyntaxErrorNamesLine) {
  const std::string path = Write("listen: a:1\nretention: [90d\n");
  absl::StatusOr<OptionMap> m = LoadYamlOptions(path, Specs());
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr(path + ":"));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("YAML syntax error"));
}

TEST_F(OptionsTest, ListForScalarOptionIsError) {
  EXPECT_THAT(LoadYamlOptions(Write("listen: [a:1, b:2]\n"), Specs()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(OptionsTest, NestedMappingIsError) {
  EXPECT_THAT(LoadYamlOptions(Write("listen:\n  host: a\n"), Specs()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(OptionsTest, TopLevelListIsError) {
  EXPECT_THAT(LoadYamlOptions(Write("- listen\n"), Specs()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(OptionsTest, MissingFileIsNotFound) {
  EXPECT_THAT(LoadYamlOptions(dir_.File("none.yaml"), Specs()),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(OptionsTest, ParsesFlagForms) {
  std::vector<std::string> positional;
  ASSERT_OK_AND_ASSIGN(
      OptionMap m, Flags({"--listen", "h:1", "--retention=7d", "file1", "--insecure-for-testing",
                          "--collector", "a:1", "--collector=b:2", "--", "--file2"},
                         &positional));
  EXPECT_EQ(GetString(m, "listen").value(), "h:1");
  EXPECT_EQ(GetDuration(m, "retention", absl::ZeroDuration()).value(), absl::Hours(24 * 7));
  EXPECT_TRUE(GetBool(m, "insecure-for-testing", false).value());
  EXPECT_THAT(GetList(m, "collector"), ElementsAre("a:1", "b:2"));
  EXPECT_THAT(positional, ElementsAre("file1", "--file2"));
}

TEST_F(OptionsTest, FlagErrors) {
  EXPECT_THAT(Flags({"--nope"}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Flags({"--listen"}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Flags({"--listen", "a", "--listen", "b"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Flags({"stray"}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(OptionsTest, FlagsWinOverFileOptionByOption) {
  ASSERT_OK_AND_ASSIGN(OptionMap file,
                       LoadYamlOptions(Write("listen: file:1\nretention: 30d\n"), Specs()));
  ASSERT_OK_AND_ASSIGN(OptionMap flags, Flags({"--listen", "flag:2"}));
  OptionMap merged = MergeOptions(file, flags);
  EXPECT_EQ(GetString(merged, "listen").value(), "flag:2");
  EXPECT_EQ(GetDuration(merged, "retention", absl::ZeroDuration()).value(), absl::Hours(24 * 30));
}

TEST_F(OptionsTest, TypedGettersNameOriginOnBadValue) {
  const std::string path = Write("workers: many\nretention: soon\ninsecure-for-testing: maybe\n");
  ASSERT_OK_AND_ASSIGN(OptionMap m, LoadYamlOptions(path, Specs()));
  absl::StatusOr<int64_t> workers = GetInt(m, "workers", 1);
  EXPECT_THAT(workers, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(workers.status().message()), HasSubstr(path + ":1: key workers"));
  EXPECT_THAT(GetDuration(m, "retention", absl::ZeroDuration()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(GetBool(m, "insecure-for-testing", false),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(OptionsTest, AbsentOptionsGiveFallbacks) {
  OptionMap empty;
  EXPECT_EQ(GetString(empty, "listen", "x").value(), "x");
  EXPECT_EQ(GetInt(empty, "workers", 4).value(), 4);
  EXPECT_FALSE(GetBool(empty, "insecure-for-testing", false).value());
  EXPECT_TRUE(GetList(empty, "collector").empty());
}

TEST(ParseDurationTextTest, AcceptsDaysWeeksAndGoDurations) {
  EXPECT_EQ(ParseDurationText("90d").value(), absl::Hours(90 * 24));
  EXPECT_EQ(ParseDurationText("2w").value(), absl::Hours(14 * 24));
  EXPECT_EQ(ParseDurationText("1h30m").value(), absl::Minutes(90));
  EXPECT_THAT(ParseDurationText("d"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDurationText(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDurationText("10 days"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace synmap::common
