#pragma once

#include <string>

#include "absl/types/span.h"

namespace synmap::cli {

// `synmap enroll`: gets a reader certificate from the collector with a one-time token (see
// common/enrol/enroll_command.h); --config names the CLI's cli.yaml to write its ca, cert and
// key paths. Returns the exit code.
int RunEnroll(absl::Span<const std::string> args);

inline constexpr char kEnrollSummary[] =
    "get a reader certificate from the collector with a one-time token";

}  // namespace synmap::cli
