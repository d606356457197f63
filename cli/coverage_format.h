#pragma once

#include <string>

#include "absl/time/time.h"
#include "synmap/v1/query.pb.h"

namespace synmap::cli {

// The coverage footer of a text answer: the window read, each sensor that reported in it with
// its last batch, and every kind of loss (kernel/interface drops, malformed, spool losses,
// handshake evictions) — or a line saying no sensor reported. `now` dates "ago" figures; times
// print as "2026-12-02 13:13:28" in `zone`, named once on the first line.
std::string CoverageFooter(const synmap::v1::Coverage& coverage, absl::Time now,
                           absl::TimeZone zone = absl::UTCTimeZone());

// Every loss a sensor reported in the window ("3 kernel drops, 1 batches lost in spool"), or ""
// when it lost nothing. The one wording of losses for footers and export headers.
std::string SensorLosses(const synmap::v1::SensorCoverage& sensor);

// `coverage` as a JSON object (numbers unquoted, times RFC 3339). Appends to `out`.
void AppendCoverageJson(const synmap::v1::Coverage& coverage, std::string* out);

// RFC 3339 in UTC without padding ("2026-11-27T09:10:29Z"), or "-" for 0.
std::string FormatTime(int64_t unix_ns);

// "3m ago", "2h ago", "5d ago" (from `now`), or "never" for 0.
std::string FormatAgo(int64_t unix_ns, absl::Time now);

}  // namespace synmap::cli
