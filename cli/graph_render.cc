#include "cli/graph_render.h"

#include <graphviz/gvc.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace synmap::cli {
namespace {

struct GraphCloser {
  void operator()(Agraph_t* g) const { agclose(g); }
};

// One Graphviz context for the whole process, never freed. Graphviz 2.42's pango
// plugin keeps a pointer to the last font name it measured, and that name lives in
// the context's font dictionary: a second context after gvFreeContext reads freed
// memory (AddressSanitizer catches it on the second render). Graphviz is not
// thread-safe either, so renders take turns.
GVC_t* SharedContext() {
  static GVC_t* const context = gvContext();
  return context;
}

absl::Mutex render_mutex(absl::kConstInit);

}  // namespace

absl::StatusOr<std::string> RenderGraph(absl::string_view dot, absl::string_view layout,
                                        absl::string_view format) {
  // Graphviz prints its own warnings on stderr; errors are returned instead.
  absl::MutexLock lock(&render_mutex);
  agseterr(AGERR);
  GVC_t* const context = SharedContext();
  if (context == nullptr) {
    return absl::InternalError("Graphviz: cannot create a context");
  }
  const std::string text(dot);
  std::unique_ptr<Agraph_t, GraphCloser> graph(agmemread(text.c_str()));
  if (graph == nullptr) {
    return absl::InvalidArgumentError("Graphviz: the graph is not valid DOT");
  }
  const std::string engine(layout);
  if (gvLayout(context, graph.get(), engine.c_str()) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Graphviz: layout '", layout, "' failed (is it a Graphviz engine?)"));
  }
  char* data = nullptr;
  unsigned int length = 0;
  const std::string out_format(format);
  const int rc = gvRenderData(context, graph.get(), out_format.c_str(), &data, &length);
  std::string out;
  if (rc == 0 && data != nullptr) {
    out.assign(data, length);
  }
  if (data != nullptr) {
    gvFreeRenderData(data);
  }
  gvFreeLayout(context, graph.get());
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Graphviz: cannot render format '", format, "'"));
  }
  return out;
}

}  // namespace synmap::cli
