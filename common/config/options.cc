#include "common/config/options.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <filesystem>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace synmap::common {
namespace {

const OptionSpec* FindSpec(absl::Span<const OptionSpec> specs, absl::string_view name) {
  for (const OptionSpec& spec : specs) {
    if (spec.name == name) {
      return &spec;
    }
  }
  return nullptr;
}

std::string Where(absl::string_view path, const YAML::Mark& mark) {
  // yaml-cpp marks are 0-based; editors count lines from 1.
  return absl::StrCat(path, ":", mark.line + 1);
}

// Converts one key/value pair of the top-level mapping into `out`.
absl::Status AddYamlEntry(absl::string_view path, const YAML::Node& key, const YAML::Node& value,
                          absl::Span<const OptionSpec> specs, OptionMap& out) {
  const std::string where = Where(path, key.Mark());
  if (!key.IsScalar()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": keys must be plain names"));
  }
  const std::string name = absl::StrReplaceAll(key.Scalar(), {{"_", "-"}});
  const OptionSpec* spec = FindSpec(specs, name);
  if (spec == nullptr || !spec->file_allowed) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": unknown key '", key.Scalar(), "'"));
  }
  const std::string origin = absl::StrCat(where, ": key ", name);
  if (out.contains(name)) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": given twice"));
  }
  OptionValue option{{}, origin};
  if (value.IsScalar()) {
    option.values.push_back(value.Scalar());
  } else if (value.IsSequence() && spec->repeated) {
    for (const YAML::Node& item : value) {
      if (!item.IsScalar()) {
        return absl::InvalidArgumentError(
            absl::StrCat(Where(path, item.Mark()), ": key ", name, ": list items must be plain"));
      }
      option.values.push_back(item.Scalar());
    }
  } else if (value.IsNull()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": has no value"));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        origin, spec->repeated ? ": must be a value or a list of values" : ": must be one value"));
  }
  out.emplace(name, std::move(option));
  return absl::OkStatus();
}

absl::StatusOr<const OptionValue*> FindSingle(const OptionMap& options, absl::string_view name) {
  auto it = options.find(std::string(name));
  if (it == options.end() || it->second.values.empty()) {
    return nullptr;
  }
  if (it->second.values.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(it->second.origin, ": takes one value"));
  }
  return &it->second;
}

absl::Status BadValue(const OptionValue& v, absl::string_view want) {
  return absl::InvalidArgumentError(absl::StrCat(v.origin, ": '", v.values[0], "' is not ", want));
}

}  // namespace

absl::StatusOr<OptionMap> LoadYamlOptions(absl::string_view path,
                                          absl::Span<const OptionSpec> specs) {
  const std::string path_str(path);
  std::error_code ec;
  if (!std::filesystem::exists(path_str, ec)) {
    return absl::NotFoundError(absl::StrCat("config file ", path, ": no such file"));
  }
  // yaml-cpp reports errors only by throwing; this is the one place we catch its exceptions.
  YAML::Node root;
  try {
    root = YAML::LoadFile(path_str);
  } catch (const YAML::BadFile&) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open config file ", path));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ": YAML syntax error: ", e.msg));
  }
  OptionMap out;
  if (root.IsNull()) {
    return out;
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(path, root.Mark()), ": expected a mapping of option: value"));
  }
  for (auto it = root.begin(); it != root.end(); ++it) {
    absl::Status s = AddYamlEntry(path, it->first, it->second, specs, out);
    if (!s.ok()) {
      return s;
    }
  }
  return out;
}

absl::StatusOr<OptionMap> ParseFlags(absl::Span<const std::string> args,
                                     absl::Span<const OptionSpec> specs,
                                     std::vector<std::string>* positional) {
  OptionMap out;
  bool options_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (options_ended || !absl::StartsWith(arg, "--")) {
      if (positional == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
      }
      positional->emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    absl::string_view body = absl::StripPrefix(arg, "--");
    std::string name(body.substr(0, body.find('=')));
    const bool has_inline = body.find('=') != absl::string_view::npos;
    const OptionSpec* spec = FindSpec(specs, name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    std::string value;
    if (has_inline) {
      value = std::string(body.substr(body.find('=') + 1));
    } else if (spec->value_name.empty()) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", name, " needs a value (", spec->value_name, ")"));
    }
    OptionValue& option = out[name];
    if (!option.values.empty() && !spec->repeated) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " given twice"));
    }
    option.origin = absl::StrCat("flag --", name);
    option.values.push_back(std::move(value));
  }
  return out;
}

OptionMap MergeOptions(OptionMap base, const OptionMap& overrides) {
  for (const auto& [name, value] : overrides) {
    base[name] = value;
  }
  return base;
}

std::string OptionsHelp(absl::Span<const OptionSpec> specs) {
  std::string out;
  for (const OptionSpec& spec : specs) {
    std::string left = absl::StrCat("  --", spec.name);
    if (!spec.value_name.empty()) {
      absl::StrAppend(&left, " ", spec.value_name);
    }
    if (left.size() < 30) {
      left.resize(30, ' ');
    } else {
      absl::StrAppend(&left, " ");
    }
    absl::StrAppend(&out, left, spec.help, spec.repeated ? " (repeatable)" : "", "\n");
  }
  return out;
}

absl::StatusOr<std::string> GetString(const OptionMap& options, absl::string_view name,
                                      absl::string_view fallback) {
  absl::StatusOr<const OptionValue*> v = FindSingle(options, name);
  if (!v.ok()) {
    return v.status();
  }
  return *v == nullptr ? std::string(fallback) : (*v)->values[0];
}

absl::StatusOr<int64_t> GetInt(const OptionMap& options, absl::string_view name, int64_t fallback) {
  absl::StatusOr<const OptionValue*> v = FindSingle(options, name);
  if (!v.ok() || *v == nullptr) {
    return v.ok() ? absl::StatusOr<int64_t>(fallback) : v.status();
  }
  int64_t out = 0;
  if (!absl::SimpleAtoi((*v)->values[0], &out)) {
    return BadValue(**v, "a whole number");
  }
  return out;
}

absl::StatusOr<bool> GetBool(const OptionMap& options, absl::string_view name, bool fallback) {
  absl::StatusOr<const OptionValue*> v = FindSingle(options, name);
  if (!v.ok() || *v == nullptr) {
    return v.ok() ? absl::StatusOr<bool>(fallback) : v.status();
  }
  const std::string text = absl::AsciiStrToLower((*v)->values[0]);
  if (text == "true" || text == "yes" || text == "1" || text == "on") {
    return true;
  }
  if (text == "false" || text == "no" || text == "0" || text == "off") {
    return false;
  }
  return BadValue(**v, "true or false");
}

absl::StatusOr<absl::Duration> ParseDurationText(absl::string_view text) {
  for (const auto& [suffix, unit] :
       {std::pair<absl::string_view, absl::Duration>{"d", absl::Hours(24)},
        std::pair<absl::string_view, absl::Duration>{"w", absl::Hours(24 * 7)}}) {
    int64_t count = 0;
    if (absl::EndsWith(text, suffix) && absl::SimpleAtoi(absl::StripSuffix(text, suffix), &count)) {
      return count * unit;
    }
  }
  absl::Duration d;
  if (!text.empty() && absl::ParseDuration(text, &d)) {
    return d;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not a duration (e.g. 90s, 15m, 24h, 90d)"));
}

absl::StatusOr<absl::Duration> GetDuration(const OptionMap& options, absl::string_view name,
                                           absl::Duration fallback) {
  absl::StatusOr<const OptionValue*> v = FindSingle(options, name);
  if (!v.ok() || *v == nullptr) {
    return v.ok() ? absl::StatusOr<absl::Duration>(fallback) : v.status();
  }
  absl::StatusOr<absl::Duration> d = ParseDurationText((*v)->values[0]);
  if (!d.ok()) {
    return BadValue(**v, "a duration (e.g. 90s, 15m, 24h, 90d)");
  }
  return d;
}

std::vector<std::string> GetList(const OptionMap& options, absl::string_view name) {
  auto it = options.find(std::string(name));
  return it == options.end() ? std::vector<std::string>{} : it->second.values;
}

}  // namespace synmap::common
