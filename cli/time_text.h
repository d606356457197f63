#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace synmap::cli {

// Times as people write them, for --since/--until, and as every command prints them.

// Examples shown in --help; each is accepted by ParseTimeText (a test runs them all).
inline constexpr const char* kTimeExamples[] = {
    "90m",
    "24h",
    "7d",
    "7d ago",
    "2026-12-02",
    "2026-12-02 13:30",
    "2026-12-02 13:30:15",
    "2026-12-02T13:30:00Z",
    "2026-12-02T13:30:00+01:00",
};

// The help paragraph on times, listing kTimeExamples.
std::string TimeHelp();

// Parses a time: RFC 3339 (with a zone), "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" (also with "T";
// in `zone`: local time, or UTC under --utc), or a duration back from `now` ("90m", "24h",
// "7d", "2w", "1h30m", each optionally followed by " ago"). Returns unix nanoseconds; empty
// text gives 0 (open). InvalidArgument "--FLAG: 'TEXT' is not a time ..." otherwise.
[[nodiscard]] absl::StatusOr<int64_t> ParseTimeText(absl::string_view flag, absl::string_view text,
                                                    absl::Time now, absl::TimeZone zone);

// "2026-12-02 13:13:28" in `zone` (text output; whole seconds), or "-" for 0.
std::string FormatTextTime(int64_t unix_ns, absl::TimeZone zone);

// RFC 3339 in UTC with only the fractional digits needed ("2026-12-02T13:13:28Z",
// "2026-12-02T13:13:28.5Z"): machine formats. "" for 0.
std::string FormatMachineTime(int64_t unix_ns);

// How text output names its zone once: "UTC" or "local time (CET, UTC+01:00)".
std::string ZoneText(absl::TimeZone zone, absl::Time at);

}  // namespace synmap::cli
