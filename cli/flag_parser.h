#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace synmap::cli {

// A subcommand's flags bound to variables, read by the daemons' rules (common/config's
// ParseFlags, so every synmap binary parses flags alike): "--flag value" and "--flag=value"
// for valued flags, "--" ends flags, "-" alone is a positional argument (stdin). Adds
// booleans set by "--flag" alone, "--help"/"-h" (sets help()) and choices. Registered pointers
// must outlive Parse(). Thread-compatible.
class FlagParser {
 public:
  FlagParser() = default;
  FlagParser(const FlagParser&) = delete;
  FlagParser& operator=(const FlagParser&) = delete;

  // A flag taking any value; `value_name` shows in Usage() ("--names FILE").
  void AddString(absl::string_view name, absl::string_view value_name, std::string* out,
                 absl::string_view help);
  // A flag taking one of `choices` (the first listed is documented as the default).
  void AddChoice(absl::string_view name, std::vector<std::string> choices, std::string* out,
                 absl::string_view help);
  // A boolean flag; "--flag" sets it (no value).
  void AddBool(absl::string_view name, bool* out, absl::string_view help);

  // Parses `args` (without the program and subcommand names), storing flag values and
  // appending positional arguments to `positional`. InvalidArgument with a one-line message
  // for an unknown flag, a missing value, a flag given twice, a value not among the choices,
  // or a value given to a boolean flag.
  [[nodiscard]] absl::Status Parse(absl::Span<const std::string> args,
                                   std::vector<std::string>* positional);

  bool help() const { return help_; }
  // One line per flag, "  --name VALUE   help", aligned.
  std::string Usage() const;

 private:
  struct Flag {
    std::string name;
    std::string value_name;  // Empty for booleans.
    std::vector<std::string> choices;
    std::string help;
    std::string* string_out = nullptr;
    bool* bool_out = nullptr;
  };
  const Flag* Find(absl::string_view name) const;
  [[nodiscard]] absl::Status Set(const Flag& flag, absl::string_view value) const;

  std::vector<Flag> flags_;
  bool help_ = false;
};

}  // namespace synmap::cli
