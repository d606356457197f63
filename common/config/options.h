#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace synmap::common {

// Declares one option of a binary: the flag `--name` and the config-file key `name` (a key
// may also be spelled with '_' for '-'). Plain data.
struct OptionSpec {
  std::string name;          // e.g. "listen"; lowercase words joined by '-'.
  std::string value_name;    // Shown in help ("HOST:PORT"); empty makes a boolean switch.
  std::string help;          // One line.
  bool repeated = false;     // May be given several times, or as a YAML list.
  bool file_allowed = true;  // False for flags that make no sense in a file (--config, --help).
};

// The values given for one option and where they came from. Plain data.
struct OptionValue {
  std::vector<std::string> values;  // One for a scalar; each occurrence for a repeated option.
  std::string origin;               // "FILE:LINE: key NAME" or "flag --NAME", for errors.
};

// Option name -> values. Names are canonical (as in OptionSpec::name).
using OptionMap = std::map<std::string, OptionValue>;

// Reads the YAML file at `path`: a mapping of keys from `specs` to scalars (or, for repeated
// options, lists of scalars). NotFound when the file is missing; InvalidArgument naming the
// file and line for a YAML syntax error, a non-mapping document, an unknown or duplicate key,
// a nested value, or a key not allowed in files. An empty file gives an empty map.
[[nodiscard]] absl::StatusOr<OptionMap> LoadYamlOptions(absl::string_view path,
                                                        absl::Span<const OptionSpec> specs);

// Parses `args` (argv without the program name): `--name VALUE`, `--name=VALUE`, switches
// `--name` / `--name=true|false`; `--` ends options. Other words go to `positional` (which
// may be null, making them errors). InvalidArgument naming the flag for an unknown flag, a
// missing value, or a scalar given twice.
[[nodiscard]] absl::StatusOr<OptionMap> ParseFlags(absl::Span<const std::string> args,
                                                   absl::Span<const OptionSpec> specs,
                                                   std::vector<std::string>* positional);

// Returns `base` with each option present in `overrides` replaced by it (flags win over the
// file, option by option; a repeated flag replaces the whole file list).
OptionMap MergeOptions(OptionMap base, const OptionMap& overrides);

// "  --name VALUE   help" lines for --help.
std::string OptionsHelp(absl::Span<const OptionSpec> specs);

// Typed reads of one option. Each returns `fallback` when `name` is absent, and
// InvalidArgument naming the value's origin when it does not parse.
[[nodiscard]] absl::StatusOr<std::string> GetString(const OptionMap& options,
                                                    absl::string_view name,
                                                    absl::string_view fallback = "");
[[nodiscard]] absl::StatusOr<int64_t> GetInt(const OptionMap& options, absl::string_view name,
                                             int64_t fallback);
// true/false/yes/no/1/0/on/off (a bare switch flag is "true").
[[nodiscard]] absl::StatusOr<bool> GetBool(const OptionMap& options, absl::string_view name,
                                           bool fallback);
// A Go-style duration ("90s", "1h30m") or a whole number of days ("90d", "2w" weeks).
[[nodiscard]] absl::StatusOr<absl::Duration> GetDuration(const OptionMap& options,
                                                         absl::string_view name,
                                                         absl::Duration fallback);
// Every value of a repeated option (empty when absent).
std::vector<std::string> GetList(const OptionMap& options, absl::string_view name);

// Parses a duration as GetDuration does. InvalidArgument for anything else.
[[nodiscard]] absl::StatusOr<absl::Duration> ParseDurationText(absl::string_view text);

}  // namespace synmap::common
