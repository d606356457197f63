// synmap diff's row comparison and synmap check's baseline file and comparison.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/expect_file.h"
#include "cli/summary_diff.h"
#include "tests/testing/status_matchers.h"

namespace synmap::cli {
namespace {

using ::testing::HasSubstr;

TEST(SummaryDiffTest, AppearedDisappearedAndChangedByTheFactor) {
  const std::vector<CountedRow> a = {{"c", "web", "http", 10},
                                     {"c", "web", "ssh", 4},
                                     {"d", "db", "pg", 5},
                                     {"e", "web", "http", 3}};
  const std::vector<CountedRow> b = {{"c", "web", "http", 19},  // x1.9: within a factor 2.
                                     {"c", "web", "ssh", 8},    // x2: changed.
                                     {"f", "web", "smtp", 1},   // appeared.
                                     {"e", "web", "http", 1}};  // /3: changed.
  const std::vector<DiffRow> diff = DiffSummaries(a, b, 2.0);
  ASSERT_EQ(diff.size(), 4u);
  EXPECT_EQ(diff[0].change, RowChange::kAppeared);
  EXPECT_EQ(diff[0].service, "smtp");
  EXPECT_EQ(diff[1].change, RowChange::kDisappeared);
  EXPECT_EQ(diff[1].server, "db");
  EXPECT_EQ(diff[1].count_a, 5u);
  EXPECT_EQ(diff[1].count_b, 0u);
  // Changed rows by their larger count: ssh (8) before e's http (3).
  EXPECT_EQ(diff[2].change, RowChange::kChanged);
  EXPECT_EQ(diff[2].service, "ssh");
  EXPECT_EQ(diff[3].client, "e");
  EXPECT_TRUE(DiffSummaries(a, a, 2.0).empty());
}

TEST(ExpectFileTest, ParsesServicesWithAndWithoutClientLists) {
  ASSERT_OK_AND_ASSIGN(
      std::vector<ExpectedService> s,
      ParseExpectFile("services:\n"
                      "  - server: www\n    service: https\n"
                      "  - server: db\n    service: pg\n    clients: [app1, app2]\n"
                      "  - server: nobody\n    service: ssh\n    clients: []\n",
                      "expect.yaml"));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_FALSE(s[0].clients_listed);
  EXPECT_TRUE(s[1].clients_listed);
  EXPECT_EQ(s[1].clients, (std::set<std::string>{"app1", "app2"}));
  EXPECT_TRUE(s[2].clients_listed);
  EXPECT_TRUE(s[2].clients.empty());
}

TEST(ExpectFileTest, BadFilesNameTheLineAndTheProblem) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"services:\n  - server: www\n", "expect.yaml:2: a service needs both"},
      {"services:\n  - server: a\n    service: b\n  - server: a\n    service: b\n",
       "expect.yaml:4: server 'a' service 'b' is listed twice"},
      {"services:\n  - server: a\n    service: b\n    port: 80\n",
       "expect.yaml:4: unexpected 'port'"},
      {"services: []\nhosts: []\n", "expect.yaml:2: unknown key 'hosts'"},
      {"services: {a: b}\n", "'services' must be a list"},
      {"[unclosed\n", "expect.yaml: not YAML"},
      {"- a\n", "expected a map with a 'services' list"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const absl::StatusOr<std::vector<ExpectedService>> s = ParseExpectFile(c.text, "expect.yaml");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr(c.message));
  }
}

TEST(ExpectFileTest, RenderedFileReadsBackWhateverTheNames) {
  std::vector<ExpectedService> services(3);
  services[0].server = "null";  // YAML would read a bare null as no value.
  services[0].service = "yes";
  services[1].server = "a \"quoted\" # name: \\ here";
  services[1].service = "up:8443";
  services[2].server = "_";
  services[2].service = "ssh";
  services[2].clients_listed = true;
  services[2].clients = {"[x]", "- y"};
  const std::string text = RenderExpectFile(services, {"comment line", "# another"});
  EXPECT_THAT(text, ::testing::StartsWith("# comment line\n# # another\nservices:\n"));
  ASSERT_OK_AND_ASSIGN(std::vector<ExpectedService> back, ParseExpectFile(text, "rendered"));
  ASSERT_EQ(back.size(), 3u);
  // Sorted by server: "_" < "a ..." < "null".
  EXPECT_EQ(back[0].server, "_");
  EXPECT_EQ(back[0].clients, services[2].clients);
  EXPECT_EQ(back[1].server, services[1].server);
  EXPECT_EQ(back[1].service, "up:8443");
  EXPECT_EQ(back[2].server, "null");
  EXPECT_EQ(back[2].service, "yes");
  ASSERT_OK_AND_ASSIGN(back, ParseExpectFile(RenderExpectFile({}, {}), "empty"));
  EXPECT_TRUE(back.empty());
}

TEST(CheckServicesTest, UnexpectedSilentAndUnexpectedClients) {
  std::vector<ExpectedService> expected(3);
  expected[0] = {"www", "https", false, {}};
  expected[1] = {"db", "pg", true, {"app1"}};
  expected[2] = {"mail", "smtp", false, {}};
  SeenServices seen;
  seen[{"www", "https"}] = {10, {{"_", 10}}};
  seen[{"db", "pg"}] = {7, {{"app1", 5}, {"laptop", 2}}};
  seen[{"www", "ssh"}] = {3, {{"_", 3}}};
  const std::vector<CheckFinding> f = CheckServices(expected, seen);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].kind, CheckFinding::kUnexpected);
  EXPECT_EQ(f[0].service, "ssh");
  EXPECT_EQ(f[0].connections, 3u);
  EXPECT_EQ(f[1].kind, CheckFinding::kSilent);
  EXPECT_EQ(f[1].server, "mail");
  EXPECT_EQ(f[2].kind, CheckFinding::kUnexpectedClient);
  EXPECT_EQ(f[2].client, "laptop");
  EXPECT_EQ(f[2].connections, 2u);
  seen.erase({"www", "ssh"});
  seen[{"mail", "smtp"}] = {1, {}};
  seen[{"db", "pg"}].clients.erase("laptop");
  EXPECT_TRUE(CheckServices(expected, seen).empty());
}

}  // namespace
}  // namespace synmap::cli
