#include "cli/web/assets.h"

namespace synmap::cli::web {
namespace {

constexpr char kStyle[] = R"css(
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #1d2733; background: #f7f9fc; }
nav { background: #23395d; padding: 0 16px; }
nav a { display: inline-block; color: #dfe8f5; padding: 10px 12px; text-decoration: none; }
nav a.active, nav a:hover { background: #4a6fa5; color: #fff; }
main { padding: 8px 20px 24px; }
h1 { font-size: 20px; margin: 12px 0; }
form.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 12px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: #4b5a6b; }
form.filters input, form.filters select { font: inherit; padding: 3px 6px; width: 11em; }
table { border-collapse: collapse; background: #fff; margin: 8px 0; }
th, td { border: 1px solid #d5dde8; padding: 3px 10px; text-align: left; }
th { background: #e8eef7; }
th a { color: inherit; text-decoration: none; }
td.num, th.num { text-align: right; }
pre.coverage { background: #fff; border-left: 4px solid #4a6fa5; padding: 8px 12px;
  white-space: pre-wrap; font-size: 12px; }
.error { background: #fdecea; border-left: 4px solid #c0392b; padding: 8px 12px; }
.map { background: #fff; border: 1px solid #d5dde8; overflow: auto; max-height: 80vh; }
.map svg { max-width: none; }
.pager a { margin: 0 6px; }
ul.downloads li { margin: 4px 0; }
)css";

// Leaves empty filters out of the query string, so a submitted form gives the same URL as a
// link with only the filters that are set.
constexpr char kScript[] = R"js(
'use strict';
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('form.filters').forEach(function (form) {
    form.addEventListener('submit', function () {
      form.querySelectorAll('input, select').forEach(function (field) {
        if (field.value === '') { field.disabled = true; }
      });
    });
  });
});
)js";

constexpr char kFavicon[] =
    R"svg(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="4" cy="8" r="3" fill="#4a6fa5"/><circle cx="12" cy="4" r="3" fill="#23395d"/><circle cx="12" cy="12" r="3" fill="#23395d"/><path d="M4 8L12 4M4 8L12 12" stroke="#4a6fa5"/></svg>)svg";

const Asset kAssets[] = {
    {kStylePath, "text/css; charset=utf-8", kStyle},
    {kScriptPath, "text/javascript; charset=utf-8", kScript},
    {kFaviconPath, "image/svg+xml", kFavicon},
};

}  // namespace

const Asset* FindAsset(absl::string_view path) {
  for (const Asset& asset : kAssets) {
    if (asset.path == path) {
      return &asset;
    }
  }
  return nullptr;
}

}  // namespace synmap::cli::web
