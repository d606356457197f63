#pragma once

#include "absl/strings/string_view.h"

namespace synmap::cli::web {

// The stylesheet, script and icon of `synmap web`, compiled into the binary so the page needs
// no network and no installed files. Immutable.
inline constexpr char kStylePath[] = "/assets/synmap.css";
inline constexpr char kScriptPath[] = "/assets/synmap.js";
inline constexpr char kFaviconPath[] = "/assets/favicon.svg";

struct Asset {
  absl::string_view path;
  absl::string_view content_type;
  absl::string_view body;
};

// The asset served at `path`, or nullptr.
const Asset* FindAsset(absl::string_view path);

}  // namespace synmap::cli::web
