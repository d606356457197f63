#include "cli/cmd_enroll.h"

#include "cli/collector_client.h"
#include "common/enrol/enroll_command.h"
#include "common/tls/peer_identity.h"

namespace synmap::cli {

int RunEnroll(absl::Span<const std::string> args) {
  return common::EnrollMain("synmap", common::kRoleReader, args, ConnectionConfigSpecs());
}

}  // namespace synmap::cli
