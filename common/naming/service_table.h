#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace synmap::common {

inline constexpr absl::string_view kSystemServicesPath = "/etc/services";

// The system's TCP service names (port -> name), read from a services(5) file by our own
// parser (getservbyport is not thread-safe). Immutable after construction; thread-safe.
class ServiceTable {
 public:
  ServiceTable() = default;  // Empty: every lookup misses.

  // Reads and parses `path`. NotFound if it does not exist, another errno-derived code if it
  // cannot be read; a malformed line is never an error (see Parse).
  static absl::StatusOr<ServiceTable> LoadFile(absl::string_view path);

  // Parses services(5) text: "name port/protocol [aliases...] [# comment]". Keeps tcp entries
  // only; the first name given for a port wins (as getservbyport answers). Lines that do not
  // fit the format or have a port outside 1-65535 are skipped: the file is the system's.
  static ServiceTable Parse(absl::string_view text);

  // The TCP service name of `port`, or nullptr. The pointer lives as long as this table.
  const std::string* Find(uint16_t port) const;
  size_t size() const { return names_.size(); }

 private:
  absl::flat_hash_map<uint16_t, std::string> names_;
};

}  // namespace synmap::common
