#pragma once

namespace synmap::cli {

// Process exit codes, the same for every subcommand (listed by `synmap --help`).
inline constexpr int kExitOk = 0;  // The answer was printed (its coverage says how complete).
// The command ran and failed: collector unreachable or certificate refused, a filter naming an
// unknown sensor/host/service, new/gone/export with nothing to answer from, bad or unreadable
// input file. One line on stderr says what and what to do; nothing on stdout.
inline constexpr int kExitFailure = 2;
inline constexpr int kExitUsage = 64;  // EX_USAGE: bad flags or arguments.
// `synmap check` only: the answer was printed and differs from the baseline.
inline constexpr int kExitDifferent = 1;

// The help paragraph that documents the codes above.
inline constexpr char kExitCodeHelp[] =
    "Exit status: 0 the answer was printed; 1 (check only) the services differ from the\n"
    "baseline; 2 error (collector unreachable or refused, unknown sensor/host/service in a\n"
    "filter, no sensor data to answer from, unreadable input); 64 usage (bad flag, argument or\n"
    "time).\n";

}  // namespace synmap::cli
