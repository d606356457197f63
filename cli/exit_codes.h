#pragma once

namespace synmap::cli {

// Process exit codes, the same for every subcommand (listed by `synmap --help`).
inline constexpr int kExitOk = 0;  // The answer was printed (its coverage says how complete).
// The command ran and failed: collector unreachable or certificate refused, a filter naming an
// unknown sensor/host/service, new/gone/export with nothing to answer from, bad or unreadable
// input file. One line on stderr says what and what to do; nothing on stdout.
inline constexpr int kExitFailure = 2;
inline constexpr int kExitUsage = 64;  // EX_USAGE: bad flags or arguments.

// The help paragraph that documents the codes above.
inline constexpr char kExitCodeHelp[] =
    "Exit status: 0 the answer was printed; 2 error (collector unreachable or refused, unknown\n"
    "sensor/host/service in a filter, no sensor data to answer from, unreadable input); 64 usage\n"
    "(bad flag, argument or time).\n";

}  // namespace synmap::cli
