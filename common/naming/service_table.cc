#include "common/naming/service_table.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/naming/internal/read_file.h"
#include "common/status/status_macros.h"

namespace synmap::common {

absl::StatusOr<ServiceTable> ServiceTable::LoadFile(absl::string_view path) {
  SYNMAP_ASSIGN_OR_RETURN(const std::string text, internal::ReadFile(path, "services file"));
  return Parse(text);
}

ServiceTable ServiceTable::Parse(absl::string_view text) {
  ServiceTable table;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = line.substr(0, line.find('#'));
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.size() < 2) {
      continue;
    }
    const std::vector<absl::string_view> port_protocol = absl::StrSplit(fields[1], '/');
    if (port_protocol.size() != 2 || !absl::EqualsIgnoreCase(port_protocol[1], "tcp")) {
      continue;
    }
    uint32_t port = 0;
    const absl::string_view port_text = port_protocol[0];
    if (port_text.empty() || !absl::ascii_isdigit(port_text.front()) ||
        !absl::SimpleAtoi(port_text, &port) || port == 0 || port > 65535) {
      continue;
    }
    table.names_.try_emplace(static_cast<uint16_t>(port), std::string(fields[0]));
  }
  return table;
}

const std::string* ServiceTable::Find(uint16_t port) const {
  auto it = names_.find(port);
  return it == names_.end() ? nullptr : &it->second;
}

}  // namespace synmap::common
