#include "cli/graph_dot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/graph_render.h"
#include "cli/summary_table.h"
#include "tests/testing/status_matchers.h"

namespace synmap::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Table Rows(const std::vector<std::vector<std::string>>& rows, uint64_t total = 0) {
  Table t;
  t.columns = SummaryTableColumns(false);
  for (const auto& r : rows) {
    t.rows.push_back({r[0], r[1], r[2], r[3], "", "", "", "", "", "", ""});
  }
  if (total > 0) t.total_rows = total;
  return t;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(GraphDotTest, QuotesEscapeQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(DoubleQuoted("a\"b\\c\nd"), "\"a\\\"b\\\\c d\"");
  EXPECT_EQ(DoubleQuoted("<script>"), "\"<script>\"");
}

TEST(GraphDotTest, ServersAreClustersServicesNodesRowsEdges) {
  const std::string dot = SummaryDot(Rows({{"9", "desk", "web", "http"},
                                           {"5", "_", "web", "http"},
                                           {"4", "_", "web", "ssh"},
                                           {"2", "desk", "db", "pg"}}),
                                     100, "caption");
  EXPECT_EQ(Count(dot, "subgraph cluster_"), 2u);
  EXPECT_EQ(Count(dot, " -> "), 4u);
  // One remote-clients node per service: http and ssh of web.
  EXPECT_EQ(Count(dot, "label=\"_\", tooltip"), 2u);
  EXPECT_EQ(Count(dot, "shape=ellipse, label=\"desk\""), 1u);
  EXPECT_THAT(dot, HasSubstr("label=\"9\", penwidth=5.00"));
  EXPECT_THAT(dot, Not(HasSubstr("more rows")));
  // Graphviz reads it.
  ASSERT_OK_AND_ASSIGN(const std::string svg, RenderGraph(dot, "dot", "svg"));
  EXPECT_THAT(svg, HasSubstr("<svg"));
}

TEST(GraphDotTest, RowsBeyondMaxEdgesAndTheTopCutAreCountedInANote) {
  const std::string dot = SummaryDot(
      Rows({{"9", "a", "s", "x"}, {"5", "b", "s", "x"}, {"4", "c", "s", "x"}}, /*total=*/10), 2,
      "caption");
  EXPECT_EQ(Count(dot, " -> "), 2u);
  // 10 rows in the answer, 2 drawn.
  EXPECT_THAT(dot, HasSubstr("label=\"8 more rows not drawn"));
  EXPECT_THAT(dot, Not(HasSubstr("\"c\"")));
}

TEST(GraphDotTest, HostileNamesStayTextInDotAndSvg) {
  const std::string hostile = "<script>alert(\"x\")</script>";
  const std::string dot = SummaryDot(
      Rows({{"3", hostile, "srv\" ]; evil [label=\"x", "a\\\"b"}, {"1", "_", hostile, hostile}}),
      100, hostile);
  ASSERT_OK_AND_ASSIGN(const std::string svg, RenderGraph(dot, "dot", "svg"));
  // Nothing broke out of a quoted string: exactly the four nodes drawn (client, two services,
  // the remote clients of one), no node "evil", and the server's name is one text.
  EXPECT_EQ(Count(svg, "class=\"node\""), 4u);
  EXPECT_THAT(svg, Not(HasSubstr("<title>evil</title>")));
  EXPECT_THAT(svg, HasSubstr("srv&quot; ]; evil [label=&quot;x"));
  EXPECT_THAT(svg, Not(HasSubstr("<script>")));
  EXPECT_THAT(svg, HasSubstr("&lt;script&gt;"));
}

TEST(GraphDotTest, RenderRefusesWhatIsNotDotOrNotAnEngine) {
  EXPECT_THAT(RenderGraph("this is not dot {", "dot", "svg"),
              testing::StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RenderGraph("digraph g { a -> b }", "nosuchengine", "svg"),
              testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(GraphDotTest, LargeMapsUseTheForceDirectedLayout) {
  EXPECT_STREQ(LayoutFor(100), "dot");
  EXPECT_STREQ(LayoutFor(2000), "sfdp");
}

}  // namespace
}  // namespace synmap::cli
