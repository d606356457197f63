#pragma once

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/config/options.h"

namespace synmap::collector {

// The options of an admin subcommand of synmap-collector (revoke, revocations, token create),
// which opens the collector's database next to the running collector (OpenAdminStore): when
// `flags` has --config, the values of `keys` (e.g. "db") from that collector YAML file, read with
// the collector's own `collector_specs`, overridden by `flags`; else `flags` as they are. Errors:
// as LoadYamlOptions (missing file, bad YAML, unknown key).
[[nodiscard]] absl::StatusOr<common::OptionMap> WithCollectorConfig(
    const common::OptionMap& flags, absl::Span<const common::OptionSpec> collector_specs,
    absl::Span<const char* const> keys);

}  // namespace synmap::collector
