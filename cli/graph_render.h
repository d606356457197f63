#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace synmap::cli {

// Lays out a DOT graph with Graphviz (libgvc) and renders it: `layout` is a Graphviz engine
// ("dot" for layered maps, "sfdp" for large ones), `format` an output format ("svg", "png",
// "pdf"). InvalidArgument when the text is not DOT or the engine/format is unknown. Graphviz
// keeps global state: call from one thread at a time.
[[nodiscard]] absl::StatusOr<std::string> RenderGraph(absl::string_view dot,
                                                      absl::string_view layout,
                                                      absl::string_view format);

// The engine for a map of `edges` edges: "dot" up to 400 edges (readable layers), "sfdp"
// (force-directed, scales to thousands) beyond.
inline const char* LayoutFor(size_t edges) { return edges <= 400 ? "dot" : "sfdp"; }

}  // namespace synmap::cli
