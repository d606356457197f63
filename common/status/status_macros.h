#pragma once

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace synmap {

// Returns `status` with `context` prefixed to its message ("context: message"); keeps the code.
[[nodiscard]] inline absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) {
    return status;
  }
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

}  // namespace synmap

#define SYNMAP_STATUS_CONCAT_INNER_(a, b) a##b
#define SYNMAP_STATUS_CONCAT_(a, b) SYNMAP_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function if not OK.
#define SYNMAP_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status synmap_status_ = (expr);          \
    if (!synmap_status_.ok()) return synmap_status_; \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, else moves the
// value into `lhs` (which may be a declaration: `SYNMAP_ASSIGN_OR_RETURN(auto x, F())`).
#define SYNMAP_ASSIGN_OR_RETURN(lhs, rexpr) \
  SYNMAP_ASSIGN_OR_RETURN_IMPL_(SYNMAP_STATUS_CONCAT_(synmap_statusor_, __LINE__), lhs, rexpr)

#define SYNMAP_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()
