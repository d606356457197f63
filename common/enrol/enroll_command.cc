#include "common/enrol/enroll_command.h"

#include <iostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/enrol/enrol_client.h"
#include "common/enrol/enrolment_token.h"
#include "common/status/status_macros.h"

namespace synmap::common {
namespace {

const std::vector<OptionSpec>& EnrollSpecs() {
  static const auto* specs = new std::vector<OptionSpec>{
      {.name = "collector",
       .value_name = "HOST:PORT",
       .help = "the collector's enrolment address (its --enrol-listen)"},
      {.name = "token", .value_name = "TOKEN", .help = "from `synmap-collector token create`"},
      {.name = "ca-fingerprint",
       .value_name = "SHA256:...",
       .help = "fingerprint of the deployment CA, printed with the token"},
      {.name = "name", .value_name = "NAME", .help = "certificate name (default: the token's)"},
      {.name = "ca", .value_name = "FILE", .help = "write the deployment CA here"},
      {.name = "cert", .value_name = "FILE", .help = "write the certificate here"},
      {.name = "key", .value_name = "FILE", .help = "write the new private key here (0600)"},
      {.name = "config",
       .value_name = "FILE",
       .help = "this program's YAML config: write to its ca, cert and key paths"},
      {.name = "dir",
       .value_name = "DIR",
       .help = "without --config or --ca/--cert/--key: write ca.pem, NAME.pem, NAME.key here "
               "(default .)"},
      {.name = "force", .value_name = "", .help = "replace an existing certificate and key"},
      {.name = "help", .value_name = "", .help = "show this help"},
  };
  return *specs;
}

// The file paths to write: flags, else the program's config file, else DIR/ca.pem etc.
absl::StatusOr<TlsFiles> OutputFiles(const OptionMap& flags, const std::string& name,
                                     absl::Span<const OptionSpec> program_specs) {
  OptionMap file;
  if (flags.contains("config")) {
    SYNMAP_ASSIGN_OR_RETURN(std::string path, GetString(flags, "config"));
    SYNMAP_ASSIGN_OR_RETURN(file, LoadYamlOptions(path, program_specs));
  }
  SYNMAP_ASSIGN_OR_RETURN(std::string dir, GetString(flags, "dir", "."));
  TlsFiles out;
  const std::pair<const char*, std::string*> fields[] = {
      {"ca", &out.ca_path}, {"cert", &out.cert_path}, {"key", &out.key_path}};
  const std::string defaults[] = {dir + "/ca.pem", absl::StrCat(dir, "/", name, ".pem"),
                                  absl::StrCat(dir, "/", name, ".key")};
  for (size_t i = 0; i < 3; ++i) {
    const OptionMap& source = flags.contains(fields[i].first) ? flags : file;
    SYNMAP_ASSIGN_OR_RETURN(*fields[i].second, GetString(source, fields[i].first, defaults[i]));
  }
  return out;
}

absl::StatusOr<EnrolOptions> ResolveEnrolOptions(const OptionMap& flags, absl::string_view role,
                                                 absl::Span<const OptionSpec> program_specs) {
  for (const char* required : {"collector", "token", "ca-fingerprint"}) {
    if (!flags.contains(required)) {
      return absl::InvalidArgumentError(absl::StrCat("--", required, " is required"));
    }
  }
  EnrolOptions options;
  options.role = std::string(role);
  SYNMAP_ASSIGN_OR_RETURN(options.collector, GetString(flags, "collector"));
  SYNMAP_ASSIGN_OR_RETURN(options.token, GetString(flags, "token"));
  SYNMAP_ASSIGN_OR_RETURN(options.ca_fingerprint, GetString(flags, "ca-fingerprint"));
  SYNMAP_ASSIGN_OR_RETURN(options.name, GetString(flags, "name"));
  SYNMAP_ASSIGN_OR_RETURN(options.replace, GetBool(flags, "force", false));
  SYNMAP_ASSIGN_OR_RETURN(std::string token_name, EnrolmentTokenName(options.token));
  SYNMAP_ASSIGN_OR_RETURN(
      options.out,
      OutputFiles(flags, options.name.empty() ? token_name : options.name, program_specs));
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  return options;
}

}  // namespace

int EnrollMain(absl::string_view program, absl::string_view role,
               absl::Span<const std::string> args, absl::Span<const OptionSpec> program_specs) {
  const std::string usage = absl::StrCat(
      "usage: ", program,
      " enroll --collector HOST:PORT --token TOKEN --ca-fingerprint SHA256:... "
      "[--config FILE | --dir DIR | --ca F --cert F --key F]\n\n"
      "Makes this host's private key (it never leaves the host), sends a certificate request\n"
      "with the one-time token to the collector over TLS pinned by the CA fingerprint, and\n"
      "writes the CA, the signed certificate and the key.\n\n",
      OptionsHelp(EnrollSpecs()));
  absl::StatusOr<OptionMap> flags = ParseFlags(args, EnrollSpecs(), nullptr);
  if (flags.ok() && flags->contains("help")) {
    std::cout << usage;
    return 0;
  }
  absl::StatusOr<EnrolOptions> options =
      flags.ok() ? ResolveEnrolOptions(*flags, role, program_specs) : flags.status();
  if (!options.ok()) {
    std::cerr << program << " enroll: " << options.status().message() << "\n\n" << usage;
    return 2;
  }
  absl::StatusOr<EnrolResult> result = Enroll(*options);
  if (!result.ok()) {
    std::cerr << program << " enroll: " << result.status().message() << "\n";
    return 1;
  }
  std::cout << "enrolled as " << result->name << " (" << role << "), certificate valid until "
            << absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", result->not_after, absl::UTCTimeZone())
            << " and renewed automatically\n  --ca " << options->out.ca_path << " --cert "
            << options->out.cert_path << " --key " << options->out.key_path << "\n";
  return 0;
}

}  // namespace synmap::common
