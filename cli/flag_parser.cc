#include "cli/flag_parser.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace synmap::cli {

void FlagParser::AddString(absl::string_view name, absl::string_view value_name, std::string* out,
                           absl::string_view help) {
  flags_.push_back(
      Flag{std::string(name), std::string(value_name), {}, std::string(help), out, nullptr});
}

void FlagParser::AddChoice(absl::string_view name, std::vector<std::string> choices,
                           std::string* out, absl::string_view help) {
  std::string value_name = absl::StrJoin(choices, "|");
  flags_.push_back(
      Flag{std::string(name), value_name, std::move(choices), std::string(help), out, nullptr});
}

void FlagParser::AddBool(absl::string_view name, bool* out, absl::string_view help) {
  flags_.push_back(Flag{std::string(name), "", {}, std::string(help), nullptr, out});
}

const FlagParser::Flag* FlagParser::Find(absl::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

absl::Status FlagParser::Set(const Flag& flag, absl::string_view value) const {
  if (!flag.choices.empty() &&
      std::find(flag.choices.begin(), flag.choices.end(), value) == flag.choices.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag.name, ": '", value, "' is not one of ", flag.value_name));
  }
  *flag.string_out = std::string(value);
  return absl::OkStatus();
}

absl::Status FlagParser::Parse(absl::Span<const std::string> args,
                               std::vector<std::string>* positional) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional->insert(positional->end(), args.begin() + i + 1, args.end());
      return absl::OkStatus();
    }
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    if (!absl::StartsWith(arg, "-") || arg == "-") {
      positional->push_back(arg);
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag '", arg, "'"));
    }
    const size_t eq = arg.find('=');
    const absl::string_view name =
        absl::string_view(arg).substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const Flag* flag = Find(name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag '--", name, "'"));
    }
    if (flag->bool_out != nullptr) {
      if (eq != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      }
      *flag->bool_out = true;
      continue;
    }
    if (eq != std::string::npos) {
      if (absl::Status s = Set(*flag, absl::string_view(arg).substr(eq + 1)); !s.ok()) {
        return s;
      }
      continue;
    }
    if (i + 1 >= args.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " needs a value (", flag->value_name, ")"));
    }
    if (absl::Status s = Set(*flag, args[++i]); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

std::string FlagParser::Usage() const {
  std::vector<std::string> left;
  size_t width = 0;
  for (const Flag& f : flags_) {
    left.push_back(absl::StrCat("--", f.name, f.value_name.empty() ? "" : " ", f.value_name));
    width = std::max(width, left.back().size());
  }
  std::string out;
  for (size_t i = 0; i < flags_.size(); ++i) {
    absl::StrAppend(&out, "  ", left[i], std::string(width - left[i].size() + 3, ' '),
                    flags_[i].help, "\n");
  }
  absl::StrAppend(&out, "  --help", std::string(width > 6 ? width - 6 + 3 : 3, ' '),
                  "show this help\n");
  return out;
}

}  // namespace synmap::cli
