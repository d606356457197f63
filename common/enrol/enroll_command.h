#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/config/options.h"

namespace synmap::common {

// The `enroll` subcommand shared by `synmap-sensor enroll` (role "sensor") and `synmap enroll`
// (role "reader"): --collector HOST:PORT --token TOKEN --ca-fingerprint SHA256:... [--name N]
// [--ca F --cert F --key F | --config FILE | --dir DIR] [--force]. With --config, the program's
// own YAML file (read with `program_specs`) says where its ca, cert and key live; else --dir
// (default ".") holds ca.pem, NAME.pem and NAME.key. Prints what it wrote. Returns the exit
// code: 0, 2 for bad flags, 1 when enrolment failed (the message says why and what to do).
int EnrollMain(absl::string_view program, absl::string_view role,
               absl::Span<const std::string> args, absl::Span<const OptionSpec> program_specs);

}  // namespace synmap::common
