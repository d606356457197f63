#pragma once

#include <string>
#include <vector>

#include "absl/types/span.h"
#include "common/config/options.h"

namespace synmap::collector {

// `synmap-collector token create --name NAME --role sensor|reader [--ttl 24h] --db DB
// [--ca CA.pem] [--enrol-address HOST:PORT] [--config FILE]`: makes a one-time enrolment token,
// stores its hash in the database (next to running collectors: see OpenAdminStore) and prints
// the token and the command that enrols with it. `collector_specs` are the collector's own
// options, so that --config can name the collector's YAML file (db, ca and enrol-listen are
// read from it). Returns the exit code: 0, 2 for bad flags, 1 for a failure.
int TokenMain(const std::vector<std::string>& args,
              absl::Span<const common::OptionSpec> collector_specs);

// The usage line and flag list of `token create`, for synmap-collector --help.
std::string TokenCommandHelp();

}  // namespace synmap::collector
