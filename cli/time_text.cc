#include "cli/time_text.h"

#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace synmap::cli {
namespace {

// "90m", "24h", "7d", "2w", "1h30m": digits and a unit (s, m, h, d, w), repeated.
bool ParseAgo(absl::string_view text, absl::Duration* out) {
  if (text.empty()) {
    return false;
  }
  absl::Duration total = absl::ZeroDuration();
  while (!text.empty()) {
    size_t digits = 0;
    while (digits < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[digits]))) {
      ++digits;
    }
    int64_t n = 0;
    if (digits == 0 || digits == text.size() || !absl::SimpleAtoi(text.substr(0, digits), &n)) {
      return false;
    }
    switch (text[digits]) {
      case 's':
        total += absl::Seconds(n);
        break;
      case 'm':
        total += absl::Minutes(n);
        break;
      case 'h':
        total += absl::Hours(n);
        break;
      case 'd':
        total += absl::Hours(24 * n);
        break;
      case 'w':
        total += absl::Hours(24 * 7 * n);
        break;
      default:
        return false;
    }
    text.remove_prefix(digits + 1);
  }
  *out = total;
  return true;
}

bool ParseCivil(absl::string_view text, absl::TimeZone zone, absl::Time* out) {
  static constexpr const char* kLayouts[] = {
      "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
  };
  for (const char* layout : kLayouts) {
    std::string err;
    if (absl::ParseTime(layout, text, zone, out, &err)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string TimeHelp() {
  return absl::StrCat(
      "Times: RFC 3339 with a zone, a date or date and time (YYYY-MM-DD[ HH:MM[:SS]]) in local\n"
      "time (UTC with --utc), or a duration back from now; e.g. ",
      absl::StrJoin(kTimeExamples, ", ",
                    [](std::string* out, const char* t) { absl::StrAppend(out, "'", t, "'"); }),
      ".\n");
}

absl::StatusOr<int64_t> ParseTimeText(absl::string_view flag, absl::string_view text,
                                      absl::Time now, absl::TimeZone zone) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (trimmed.empty()) {
    return 0;
  }
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, trimmed, &t, &err) || ParseCivil(trimmed, zone, &t)) {
    return absl::ToUnixNanos(t);
  }
  absl::string_view ago_text = trimmed;
  if (absl::ConsumeSuffix(&ago_text, "ago")) {
    ago_text = absl::StripTrailingAsciiWhitespace(ago_text);
  }
  absl::Duration ago;
  if (ParseAgo(ago_text, &ago)) {
    return absl::ToUnixNanos(now - ago);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, ": '", text,
                   "' is not a time; use RFC 3339, YYYY-MM-DD[ HH:MM[:SS]] or a duration like 24h, "
                   "7d or '7d ago'"));
}

std::string FormatTextTime(int64_t unix_ns, absl::TimeZone zone) {
  if (unix_ns == 0) {
    return "-";
  }
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixNanos(unix_ns), zone);
}

std::string FormatMachineTime(int64_t unix_ns) {
  if (unix_ns == 0) {
    return "";
  }
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", absl::FromUnixNanos(unix_ns),
                          absl::UTCTimeZone());
}

std::string ZoneText(absl::TimeZone zone, absl::Time at) {
  const absl::TimeZone::CivilInfo info = zone.At(at);
  if (zone == absl::UTCTimeZone() ||
      (info.offset == 0 && absl::string_view(info.zone_abbr) == "UTC")) {
    return "UTC";
  }
  const int minutes = info.offset / 60;
  const int abs_minutes = minutes < 0 ? -minutes : minutes;
  return absl::StrCat("local time (", info.zone_abbr, ", UTC", minutes < 0 ? "-" : "+",
                      absl::Dec(abs_minutes / 60, absl::kZeroPad2), ":",
                      absl::Dec(abs_minutes % 60, absl::kZeroPad2), ")");
}

}  // namespace synmap::cli
