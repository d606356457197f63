#include "collector/server/token_command.h"

#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "collector/fleet/registrar.h"
#include "collector/server/admin_command.h"
#include "collector/store/enrolment_tokens.h"
#include "common/status/status_macros.h"
#include "common/time/clock.h"
#include "common/tls/certificate_request.h"
#include "common/tls/tls_files.h"

namespace synmap::collector {
namespace {

using common::OptionMap;
using common::OptionSpec;

const std::vector<OptionSpec>& TokenSpecs() {
  static const auto* specs = new std::vector<OptionSpec>{
      {.name = "name", .value_name = "NAME", .help = "sensor or reader name (certificate CN)"},
      {.name = "role", .value_name = "ROLE", .help = "sensor or reader (certificate OU)"},
      {.name = "ttl", .value_name = "DURATION", .help = "the token expires after this (24h)"},
      {.name = "db", .value_name = "FILE|URI", .help = "the collector's --db"},
      {.name = "ca",
       .value_name = "CA.pem",
       .help = "deployment CA: its fingerprint is printed for the enroll command"},
      {.name = "enrol-listen",
       .value_name = "HOST:PORT",
       .help = "the collector's enrolment address, printed in the enroll command"},
      {.name = "config",
       .value_name = "FILE",
       .help = "the collector's YAML config (db, ca, enrol-listen are read from it)"},
      {.name = "help", .value_name = "", .help = "show this help"},
  };
  return *specs;
}

constexpr absl::string_view kUsage =
    "usage: synmap-collector token create --name NAME --role sensor|reader [--ttl 24h] "
    "(--db DB | --config collector.yaml)\n\n"
    "Makes a one-time enrolment token bound to NAME and ROLE, stores its SHA-256 in the\n"
    "database (collectors may be running on it) and prints the token. The token is shown only\n"
    "once; it is used up by its first use, refused or not.\n\n";

absl::Status CreateToken(const OptionMap& o) {
  for (const char* required : {"name", "role", "db"}) {
    if (!o.contains(required)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", required, " is required (see token create --help)"));
    }
  }
  SYNMAP_ASSIGN_OR_RETURN(std::string name, common::GetString(o, "name"));
  SYNMAP_ASSIGN_OR_RETURN(std::string role, common::GetString(o, "role"));
  SYNMAP_ASSIGN_OR_RETURN(absl::Duration ttl, common::GetDuration(o, "ttl", absl::Hours(24)));
  SYNMAP_ASSIGN_OR_RETURN(std::string db, common::GetString(o, "db"));
  SYNMAP_ASSIGN_OR_RETURN(std::string ca_path, common::GetString(o, "ca"));
  SYNMAP_ASSIGN_OR_RETURN(std::string enrol_listen, common::GetString(o, "enrol-listen"));
  std::string fingerprint = "SHA256:...";
  if (!ca_path.empty()) {
    SYNMAP_ASSIGN_OR_RETURN(std::string ca_pem, common::ReadPemFile("ca", ca_path));
    SYNMAP_ASSIGN_OR_RETURN(fingerprint, common::CertificateFingerprint(ca_pem));
  }
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<EnrolmentTokens> tokens, OpenEnrolmentTokens(db));
  const absl::Time now = RealClock::Get().Now();
  SYNMAP_ASSIGN_OR_RETURN(std::string token, CreateEnrolmentToken(*tokens, name, role, ttl, now));
  const std::string program = role == common::kRoleSensor ? "synmap-sensor" : "synmap";
  std::cout << token << "\n";
  std::cerr << "token for " << name << " (" << role << "), single use, expires "
            << absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", now + ttl, absl::UTCTimeZone()) << ". On "
            << name << ":\n  " << program << " enroll --collector "
            << (enrol_listen.empty() ? "HOST:PORT" : enrol_listen) << " --token " << token
            << " --ca-fingerprint " << fingerprint << "\n";
  return absl::OkStatus();
}

}  // namespace

std::string TokenCommandHelp() {
  return absl::StrCat(
      "\nsynmap-collector token create --name NAME --role sensor|reader [--ttl 24h] --db DB: "
      "makes a one-time enrolment token\n",
      common::OptionsHelp(TokenSpecs()));
}

int TokenMain(const std::vector<std::string>& args,
              absl::Span<const common::OptionSpec> collector_specs) {
  std::vector<std::string> positional;
  absl::StatusOr<OptionMap> flags = common::ParseFlags(args, TokenSpecs(), &positional);
  if (flags.ok() && flags->contains("help")) {
    std::cout << kUsage << common::OptionsHelp(TokenSpecs());
    return 0;
  }
  if (flags.ok() && (positional.size() != 1 || positional[0] != "create")) {
    flags = absl::InvalidArgumentError("the token subcommand is `token create`");
  }
  if (flags.ok()) {
    static constexpr const char* kFromConfig[] = {"db", "ca", "enrol-listen"};
    flags = WithCollectorConfig(*flags, collector_specs, kFromConfig);
  }
  if (!flags.ok()) {
    std::cerr << "synmap-collector token: " << flags.status().message() << "\n" << kUsage;
    return 2;
  }
  if (absl::Status s = CreateToken(*flags); !s.ok()) {
    std::cerr << "synmap-collector token create: " << s.message() << "\n";
    return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace synmap::collector
