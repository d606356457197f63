#include "cli/flag_parser.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/options.h"

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
  // The words are split by the daemons' parser (common/config), so every synmap binary reads
  // flags by the same rules; this class adds --help/-h, choices, switches without values and
  // the bound variables.
  const auto end_of_flags = std::find(args.begin(), args.end(), "--");
  std::vector<std::string> flag_args;
  for (auto it = args.begin(); it != end_of_flags; ++it) {
    if (*it == "--help" || *it == "-h") {
      help_ = true;
      continue;
    }
    // A switch is set by its name alone here, as the commands have always taken it.
    const size_t eq = it->find('=');
    if (absl::StartsWith(*it, "--") && eq != std::string::npos) {
      const Flag* flag = Find(absl::string_view(*it).substr(2, eq - 2));
      if (flag != nullptr && flag->bool_out != nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("--", flag->name, " takes no value"));
      }
    }
    flag_args.push_back(*it);
  }
  std::vector<common::OptionSpec> specs;
  for (const Flag& f : flags_) {
    specs.push_back(common::OptionSpec{.name = f.name, .value_name = f.value_name, .help = f.help});
  }
  std::vector<std::string> words;
  absl::StatusOr<common::OptionMap> options = common::ParseFlags(flag_args, specs, &words);
  if (!options.ok()) {
    return options.status();
  }
  for (const std::string& word : words) {
    if (absl::StartsWith(word, "-") && word != "-") {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag '", word, "'"));
    }
  }
  for (const Flag& f : flags_) {
    if (!options->contains(f.name)) {
      continue;
    }
    if (f.bool_out != nullptr) {
      *f.bool_out = true;
      continue;
    }
    if (absl::Status s = Set(f, options->at(f.name).values.front()); !s.ok()) {
      return s;
    }
  }
  positional->insert(positional->end(), words.begin(), words.end());
  if (end_of_flags != args.end()) {
    positional->insert(positional->end(), end_of_flags + 1, args.end());
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
