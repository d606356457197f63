#include "collector/server/admin_command.h"

#include <string>
#include <utility>

#include "common/status/status_macros.h"

namespace synmap::collector {

absl::StatusOr<common::OptionMap> WithCollectorConfig(
    const common::OptionMap& flags, absl::Span<const common::OptionSpec> collector_specs,
    absl::Span<const char* const> keys) {
  if (!flags.contains("config")) {
    return flags;
  }
  SYNMAP_ASSIGN_OR_RETURN(std::string path, common::GetString(flags, "config"));
  SYNMAP_ASSIGN_OR_RETURN(common::OptionMap file, common::LoadYamlOptions(path, collector_specs));
  common::OptionMap picked;
  for (const char* key : keys) {
    if (auto it = file.find(key); it != file.end()) {
      picked.insert(*it);
    }
  }
  return common::MergeOptions(std::move(picked), flags);
}

}  // namespace synmap::collector
