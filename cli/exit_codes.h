#pragma once

namespace synmap::cli {

// Process exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure =
    2;                                 // The command ran and failed (bad input, I/O, corrupt file).
inline constexpr int kExitUsage = 64;  // EX_USAGE: bad flags or arguments.

}  // namespace synmap::cli
