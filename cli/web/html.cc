#include "cli/web/html.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/web/assets.h"

namespace synmap::cli::web {
namespace {

struct NavItem {
  const char* path;
  const char* label;
};
constexpr NavItem kNav[] = {
    {"/", "Map"},
    {"/summary", "Summary"},
    {"/new", "New services"},
    {"/gone", "Gone services"},
    {"/sensors", "Sensors"},
    {"/downloads", "Downloads"},
};

}  // namespace

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string UrlQueryEscape(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string Url(absl::string_view path, const UrlParams& params) {
  std::string out(path);
  char sep = '?';
  for (const auto& [name, value] : params) {
    if (value.empty()) {
      continue;
    }
    absl::StrAppend(&out, std::string(1, sep), UrlQueryEscape(name), "=", UrlQueryEscape(value));
    sep = '&';
  }
  return out;
}

std::string TableHtml(const Table& table, size_t first, size_t count, const TableLinks* links) {
  std::string out = "<table>\n<thead><tr>";
  std::vector<size_t> shown;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const TableColumn& column = table.columns[i];
    if (!column.in_text) {
      continue;
    }
    shown.push_back(i);
    absl::StrAppend(&out, column.right_align ? "<th class=\"num\">" : "<th>");
    if (links == nullptr) {
      absl::StrAppend(&out, HtmlEscape(column.name), "</th>");
      continue;
    }
    // A second click on the sorted column reverses it.
    const bool descending = links->sort == column.name ? !links->descending : column.numeric;
    UrlParams params = links->filters;
    params.emplace_back("sort", column.name);
    params.emplace_back("order", descending ? "desc" : "asc");
    absl::StrAppend(&out, "<a href=\"", HtmlEscape(Url(links->path, params)), "\">",
                    HtmlEscape(column.name),
                    links->sort == column.name ? (links->descending ? " &#9660;" : " &#9650;") : "",
                    "</a></th>");
  }
  out += "</tr></thead>\n<tbody>\n";
  const size_t end = std::min(table.rows.size(), first + count);
  for (size_t r = first; r < end; ++r) {
    out += "<tr>";
    for (const size_t i : shown) {
      absl::StrAppend(&out, table.columns[i].right_align ? "<td class=\"num\">" : "<td>",
                      HtmlEscape(table.rows[r][i]), "</td>");
    }
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
  return out;
}

std::string PageHtml(absl::string_view title, absl::string_view active, absl::string_view body) {
  std::string out = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
      HtmlEscape(title), " - synmap</title>\n<link rel=\"icon\" href=\"", kFaviconPath,
      "\" type=\"image/svg+xml\">\n<link rel=\"stylesheet\" href=\"", kStylePath,
      "\">\n<script src=\"", kScriptPath, "\" defer></script>\n</head>\n<body>\n<nav>");
  for (const NavItem& item : kNav) {
    absl::StrAppend(&out, "<a href=\"", item.path, "\"",
                    active == item.path ? " class=\"active\"" : "", ">", item.label, "</a>");
  }
  absl::StrAppend(&out, "</nav>\n<main>\n<h1>", HtmlEscape(title), "</h1>\n", body,
                  "</main>\n</body>\n</html>\n");
  return out;
}

std::string CoverageHtml(absl::string_view footer) {
  return absl::StrCat("<pre class=\"coverage\">", HtmlEscape(footer), "</pre>\n");
}

}  // namespace synmap::cli::web
