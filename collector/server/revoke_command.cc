#include "collector/server/revoke_command.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "collector/server/admin_command.h"
#include "collector/store/admin_store.h"
#include "common/json/json_string.h"
#include "common/status/status_macros.h"
#include "common/time/clock.h"
#include "common/tls/peer_identity.h"

namespace synmap::collector {
namespace {

using common::OptionMap;
using common::OptionSpec;

constexpr const char* kConfigKeys[] = {"db"};

const OptionSpec kDbSpec = {.name = "db", .value_name = "FILE|URI", .help = "the collector's --db"};
const OptionSpec kConfigSpec = {
    .name = "config", .value_name = "FILE", .help = "the collector's YAML config (its db is used)"};
const OptionSpec kHelpSpec = {.name = "help", .value_name = "", .help = "show this help"};

const std::vector<OptionSpec>& RevokeSpecs() {
  static const auto* specs = new std::vector<OptionSpec>{
      {.name = "reason", .value_name = "TEXT", .help = "why (shown by `revocations`)"},
      {.name = "undo", .value_name = "", .help = "lift the revocation of NAME instead"},
      kDbSpec,
      kConfigSpec,
      kHelpSpec,
  };
  return *specs;
}

const std::vector<OptionSpec>& ListSpecs() {
  static const auto* specs = new std::vector<OptionSpec>{
      {.name = "format", .value_name = "FORMAT", .help = "text (default), tsv or json"},
      kDbSpec,
      kConfigSpec,
      kHelpSpec,
  };
  return *specs;
}

constexpr absl::string_view kRevokeUsage =
    "usage: synmap-collector revoke NAME [--reason TEXT] (--db DB | --config collector.yaml)\n"
    "       synmap-collector revoke --undo NAME (--db DB | --config collector.yaml)\n\n"
    "Revokes NAME (a sensor's or reader's certificate CN) as of now: every collector on the\n"
    "database refuses NAME's certificates issued up to now and closes its open streams within\n"
    "a second; a certificate issued later is accepted. Collectors may be running.\n\n";

constexpr absl::string_view kListUsage =
    "usage: synmap-collector revocations [--format text|tsv|json] (--db DB | --config FILE)\n\n"
    "Lists the revoked names with the time and reason of each revocation.\n\n";

// Parses `args` against `specs` with the collector's config under them; `positional` gets the
// other words. Prints the usage and returns the exit code when the command should not run.
std::optional<int> ParseAdminFlags(const std::vector<std::string>& args,
                                   const std::vector<OptionSpec>& specs,
                                   absl::Span<const OptionSpec> collector_specs,
                                   absl::string_view command, absl::string_view usage,
                                   OptionMap* flags, std::vector<std::string>* positional) {
  absl::StatusOr<OptionMap> parsed = common::ParseFlags(args, specs, positional);
  if (parsed.ok() && parsed->contains("help")) {
    std::cout << usage << common::OptionsHelp(specs);
    return 0;
  }
  if (parsed.ok()) {
    parsed = WithCollectorConfig(*parsed, collector_specs, kConfigKeys);
  }
  if (parsed.ok() && !parsed->contains("db")) {
    parsed =
        absl::InvalidArgumentError("--db (or --config naming the collector's file) is required");
  }
  if (!parsed.ok()) {
    std::cerr << "synmap-collector " << command << ": " << parsed.status().message() << "\n"
              << usage;
    return 2;
  }
  *flags = *std::move(parsed);
  return std::nullopt;
}

int ExitCode(absl::string_view command, const absl::Status& status) {
  if (status.ok()) {
    return 0;
  }
  std::cerr << "synmap-collector " << command << ": " << status.message() << "\n";
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    return 2;
  }
  return status.code() == absl::StatusCode::kNotFound ? 3 : 1;
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

absl::Status Revoke(const OptionMap& flags, const std::string& name) {
  if (!common::IsValidPeerName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", name, "' is not a certificate name (1 to 64 characters of [A-Za-z0-9._-])"));
  }
  SYNMAP_ASSIGN_OR_RETURN(const bool undo, common::GetBool(flags, "undo", false));
  SYNMAP_ASSIGN_OR_RETURN(std::string reason, common::GetString(flags, "reason"));
  if (undo && flags.contains("reason")) {
    return absl::InvalidArgumentError("--reason goes with a revocation, not with --undo");
  }
  SYNMAP_ASSIGN_OR_RETURN(std::string db, common::GetString(flags, "db"));
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<AdminStore> store, OpenAdminStore(db));
  if (undo) {
    SYNMAP_RETURN_IF_ERROR(store->Unrevoke(name));
    std::cout << "lifted the revocation of " << name
              << "; its certificates are accepted again within a second\n";
    return absl::OkStatus();
  }
  const Revocation revocation{.name = name, .revoked_at = RealClock::Get().Now(), .reason = reason};
  SYNMAP_RETURN_IF_ERROR(store->Revoke(revocation));
  std::cout << "revoked " << name << " at " << TimeText(revocation.revoked_at)
            << ": its certificates issued up to then are refused, its streams closed within a "
               "second; a certificate issued later is accepted\n";
  return absl::OkStatus();
}

void Print(const std::vector<Revocation>& revocations, absl::string_view format) {
  std::string out;
  if (format == "json") {
    out = "[";
    for (const Revocation& r : revocations) {
      absl::StrAppend(&out, out.size() > 1 ? ",\n " : "", "{\"name\":");
      common::AppendJsonString(r.name, &out);
      out += ",\"revoked_at\":";
      common::AppendJsonString(
          absl::FormatTime(absl::RFC3339_full, r.revoked_at, absl::UTCTimeZone()), &out);
      out += ",\"reason\":";
      common::AppendJsonString(r.reason, &out);
      out += "}";
    }
    out += "]\n";
  } else if (format == "tsv") {
    out = "name\trevoked_at\treason\n";
    for (const Revocation& r : revocations) {
      std::string reason = r.reason;
      std::replace_if(
          reason.begin(), reason.end(), [](char c) { return c == '\t' || c == '\n'; }, ' ');
      absl::StrAppend(&out, r.name, "\t",
                      absl::FormatTime(absl::RFC3339_full, r.revoked_at, absl::UTCTimeZone()), "\t",
                      reason, "\n");
    }
  } else {
    size_t width = 4;
    for (const Revocation& r : revocations) {
      width = std::max(width, r.name.size());
    }
    absl::StrAppend(&out, "NAME", std::string(width - 4 + 2, ' '), "REVOKED AT",
                    std::string(15, ' '), "REASON\n");
    for (const Revocation& r : revocations) {
      absl::StrAppend(&out, r.name, std::string(width - r.name.size() + 2, ' '),
                      TimeText(r.revoked_at), "  ", r.reason, "\n");
    }
    if (revocations.empty()) {
      out = "no revocations\n";
    }
  }
  std::cout << out;
}

absl::Status List(const OptionMap& flags) {
  SYNMAP_ASSIGN_OR_RETURN(std::string format, common::GetString(flags, "format", "text"));
  if (format != "text" && format != "tsv" && format != "json") {
    return absl::InvalidArgumentError(
        absl::StrCat("--format ", format, " is not one of text, tsv, json"));
  }
  SYNMAP_ASSIGN_OR_RETURN(std::string db, common::GetString(flags, "db"));
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<AdminStore> store, OpenAdminStore(db));
  SYNMAP_ASSIGN_OR_RETURN(std::vector<Revocation> revocations, store->Revocations());
  Print(revocations, format);
  return absl::OkStatus();
}

}  // namespace

std::string RevokeCommandsHelp() {
  return absl::StrCat(kRevokeUsage, common::OptionsHelp(RevokeSpecs()), "\n", kListUsage,
                      common::OptionsHelp(ListSpecs()));
}

int RevokeMain(const std::vector<std::string>& args,
               absl::Span<const common::OptionSpec> collector_specs) {
  OptionMap flags;
  std::vector<std::string> positional;
  if (std::optional<int> exit = ParseAdminFlags(args, RevokeSpecs(), collector_specs, "revoke",
                                                kRevokeUsage, &flags, &positional)) {
    return *exit;
  }
  if (positional.size() != 1) {
    std::cerr << "synmap-collector revoke: give exactly one NAME\n" << kRevokeUsage;
    return 2;
  }
  return ExitCode("revoke", Revoke(flags, positional[0]));
}

int RevocationsMain(const std::vector<std::string>& args,
                    absl::Span<const common::OptionSpec> collector_specs) {
  OptionMap flags;
  std::vector<std::string> positional;
  if (std::optional<int> exit = ParseAdminFlags(args, ListSpecs(), collector_specs, "revocations",
                                                kListUsage, &flags, &positional)) {
    return *exit;
  }
  if (!positional.empty()) {
    std::cerr << "synmap-collector revocations: takes no NAME\n" << kListUsage;
    return 2;
  }
  return ExitCode("revocations", List(flags));
}

}  // namespace synmap::collector
