#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "cli/table_format.h"

namespace synmap::cli::web {

// The HTML that `synmap web` writes. Every text that is not ours (host, service and sensor
// names, parameter values, error messages, coverage) goes through HtmlEscape before it is
// written into a page, an attribute or a URL shown in a page.

// `text` with & < > " ' replaced by character references: safe as element text and inside
// double- or single-quoted attribute values.
std::string HtmlEscape(absl::string_view text);

// `text` percent-encoded for a URL query component (everything but A-Z a-z 0-9 - . _ ~).
std::string UrlQueryEscape(absl::string_view text);

// Query parameters in order; pairs with an empty value are left out.
using UrlParams = std::vector<std::pair<std::string, std::string>>;

// "path?name=value&..." (path alone when no parameter has a value), each name and value
// percent-encoded. Not yet HTML-escaped.
std::string Url(absl::string_view path, const UrlParams& params);

// How a table page links its column headers (sorting) and its pages.
struct TableLinks {
  std::string path{};   // "/summary".
  UrlParams filters{};  // The filters the page was asked with, kept by every link.
  std::string sort{};   // Current sort column ("" = as the collector answered).
  bool descending = false;
  size_t page = 1;  // 1-based.
  size_t page_size = 100;
};

// One <table> of the in_text columns of `table`: a header row (links that sort by the column
// when `links` is given) and the rows [first, first + count). Cells are escaped.
std::string TableHtml(const Table& table, size_t first, size_t count, const TableLinks* links);

// A whole page: head with the built-in stylesheet and script, the navigation bar with `active`
// (a path) marked, an <h1> of `title`, then `body` (HTML, already escaped by its author).
std::string PageHtml(absl::string_view title, absl::string_view active, absl::string_view body);

// The coverage statement of a view: `footer` (CoverageFooter's text, as the CLI prints it) in
// a <pre class="coverage">, escaped.
std::string CoverageHtml(absl::string_view footer);

}  // namespace synmap::cli::web
