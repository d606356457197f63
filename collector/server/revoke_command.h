#pragma once

#include <string>
#include <vector>

#include "absl/types/span.h"
#include "common/config/options.h"

namespace synmap::collector {

// `synmap-collector revoke NAME [--reason TEXT] (--db DB | --config FILE)`: revokes NAME as of
// now in the database (next to running collectors: OpenAdminStore); every collector on it
// refuses that name's certificates issued up to now and closes its open streams within a
// second. `revoke --undo NAME` lifts the revocation. `collector_specs` are the collector's own
// options (for --config). Returns the exit code: 0, 2 for bad flags, 1 for a failure (3 for
// --undo of a name that is not revoked).
int RevokeMain(const std::vector<std::string>& args,
               absl::Span<const common::OptionSpec> collector_specs);

// The help of both subcommands, for synmap-collector --help.
std::string RevokeCommandsHelp();

// `synmap-collector revocations [--format text|tsv|json] (--db DB | --config FILE)`: lists
// every revocation (name, time, reason), sorted by name. Exit codes as RevokeMain.
int RevocationsMain(const std::vector<std::string>& args,
                    absl::Span<const common::OptionSpec> collector_specs);

}  // namespace synmap::collector
