#include "cli/web/html.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace synmap::cli::web {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(HtmlEscapeTest, ReplacesEveryCharacterThatCanEndTextOrAnAttribute) {
  EXPECT_EQ(HtmlEscape(R"(<script>alert("x")</script> & 'q' ]]>)"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39; ]]&gt;");
}

TEST(HtmlEscapeTest, LeavesOrdinaryTextAndUtf8Alone) {
  EXPECT_EQ(HtmlEscape("www 10.1.0.30 up:8443 caf\xc3\xa9"), "www 10.1.0.30 up:8443 caf\xc3\xa9");
}

TEST(HtmlEscapeTest, EscapesAnAmpersandOnceOnly) { EXPECT_EQ(HtmlEscape("&amp;"), "&amp;amp;"); }

TEST(UrlTest, PercentEncodesNamesAndValuesAndSkipsEmptyValues) {
  EXPECT_EQ(Url("/summary", {{"server", "a b&c=<d>"}, {"client", ""}, {"service", "up:80"}}),
            "/summary?server=a%20b%26c%3D%3Cd%3E&service=up%3A80");
}

TEST(UrlTest, IsThePathAloneWithoutValues) { EXPECT_EQ(Url("/new", {{"since", ""}}), "/new"); }

TEST(TableHtmlTest, EscapesCellsAndHeaders) {
  Table table;
  table.columns = {{.name = "count", .numeric = true}, {.name = "server"}};
  table.rows = {{"3", "<img src=x onerror=alert(1)>"}};
  const std::string html = TableHtml(table, 0, 10, nullptr);
  EXPECT_THAT(html, HasSubstr("<td>&lt;img src=x onerror=alert(1)&gt;</td>"));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
}

TEST(TableHtmlTest, ShowsOnlyTheRowsOfThePage) {
  Table table;
  table.columns = {{.name = "n"}};
  table.rows = {{"a"}, {"b"}, {"c"}};
  const std::string html = TableHtml(table, 1, 1, nullptr);
  EXPECT_THAT(html, HasSubstr("<td>b</td>"));
  EXPECT_THAT(html, Not(HasSubstr("<td>a</td>")));
  EXPECT_THAT(html, Not(HasSubstr("<td>c</td>")));
}

TEST(TableHtmlTest, HeaderLinksSortByTheColumnAndKeepTheFilters) {
  Table table;
  table.columns = {{.name = "count", .numeric = true}, {.name = "server"}};
  TableLinks links{.path = "/summary", .filters = {{"server", "a&b"}}};
  const std::string html = TableHtml(table, 0, 10, &links);
  EXPECT_THAT(html, HasSubstr("href=\"/summary?server=a%26b&amp;sort=server&amp;order=asc\""));
  // Numbers sort largest first on the first click.
  EXPECT_THAT(html, HasSubstr("sort=count&amp;order=desc"));
}

TEST(PageHtmlTest, LoadsOnlyBuiltInAssetsAndNoInlineScriptOrStyle) {
  const std::string html = PageHtml("A <title>", "/summary", "<p>x</p>");
  EXPECT_THAT(html, HasSubstr("<title>A &lt;title&gt; - synmap</title>"));
  EXPECT_THAT(html, HasSubstr("<script src=\"/assets/synmap.js\" defer></script>"));
  EXPECT_THAT(html, HasSubstr("<link rel=\"stylesheet\" href=\"/assets/synmap.css\">"));
  EXPECT_THAT(html, Not(HasSubstr("<style")));
  EXPECT_THAT(html, Not(HasSubstr("style=")));
  EXPECT_THAT(html, Not(HasSubstr("<script>")));
  EXPECT_THAT(html, HasSubstr("<a href=\"/summary\" class=\"active\">Summary</a>"));
}

}  // namespace
}  // namespace synmap::cli::web
