#include "cli/collector_client.h"

#include <grpc/support/log.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/config/options.h"
#include "common/enrol/enrol_client.h"
#include "common/tls/credentials.h"
#include "common/tls/handshake_check.h"
#include "common/tls/tls_files.h"

namespace synmap::cli {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

// gRPC core logs transport failures ("Handshake failed ...") on stderr on its own; the CLI
// reports every failed call in one line of its own (DescribeRpcError), so those lines are
// dropped unless GRPC_VERBOSITY is set to ask for them when debugging.
void DiscardGrpcLog(gpr_log_func_args* /*args*/) {}

// The config file to read: explicit flag, $SYNMAP_CONFIG, then the per-user and system files
// when they exist. "" when none.
std::string ConfigPath(const ConnectionFlags& flags) {
  if (!flags.config.empty()) {
    return flags.config;
  }
  if (std::string env = Env("SYNMAP_CONFIG"); !env.empty()) {
    return env;
  }
  std::vector<std::string> candidates;
  if (std::string home = Env("HOME"); !home.empty()) {
    candidates.push_back(home + "/.config/synmap/cli.yaml");
  }
  candidates.push_back("/etc/synmap/synmap-cli.yaml");
  for (const std::string& path : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) {
      return path;
    }
  }
  return "";
}

}  // namespace

const std::vector<common::OptionSpec>& ConnectionConfigSpecs() {
  static const auto* specs = new std::vector<common::OptionSpec>{
      {.name = "collector", .value_name = "HOST:PORT", .help = "collector address"},
      {.name = "ca", .value_name = "FILE", .help = "CA certificate"},
      {.name = "cert", .value_name = "FILE", .help = "reader certificate"},
      {.name = "key", .value_name = "FILE", .help = "reader key"},
      {.name = "tls-server-name", .value_name = "NAME", .help = "collector certificate name"},
      {.name = "timeout", .value_name = "DURATION", .help = "call deadline"},
  };
  return *specs;
}

namespace {

// flag > environment > config file.
std::string Pick(const std::string& flag, const char* env, const common::OptionMap& file,
                 absl::string_view key) {
  if (!flag.empty()) {
    return flag;
  }
  if (std::string v = Env(env); !v.empty()) {
    return v;
  }
  auto it = file.find(std::string(key));
  return it != file.end() && !it->second.values.empty() ? it->second.values.front() : "";
}

// A reader certificate two thirds into its life is renewed before the command runs (readers
// have no process that lives long enough to do it in the background). A failure is only a
// warning: the current certificate is still valid, or the call itself will say it is not.
// An expired (or not yet valid) certificate is not tried: Renew needs the identity it proves,
// so the attempt could only fail, and would be one more refused handshake in the collector's
// log; the call says why instead.
// How a reader's certificate in `tls` is renewed at the collector `target`.
common::RenewalOptions ReaderRenewal(const std::string& target, const common::TlsFiles& tls,
                                     const common::ChannelOptions& options) {
  common::RenewalOptions renewal;
  renewal.collectors = {target};
  renewal.files = tls;
  renewal.channel = options;
  return renewal;
}

void RenewIfDue(const std::string& target, const common::TlsFiles& tls,
                const common::ChannelOptions& options) {
  absl::StatusOr<std::string> cert = common::ReadPemFile("cert", tls.cert_path);
  absl::StatusOr<absl::Time> due = cert.ok() ? common::RenewalDue(*cert) : cert.status();
  const absl::Time now = absl::Now();
  if (!due.ok() || now < *due || !common::CheckCertificateValidity("cert", *cert, now).ok()) {
    return;
  }
  absl::StatusOr<absl::Time> renewed =
      common::RenewCertificate(ReaderRenewal(target, tls, options));
  if (!renewed.ok()) {
    std::fprintf(stderr, "synmap: warning: reader certificate %s is due for renewal: %s\n",
                 tls.cert_path.c_str(), std::string(renewed.status().message()).c_str());
  }
}

}  // namespace

const char kConnectionHelp[] =
    "Connection: --collector, --ca, --cert, --key (a certificate with OU \"reader\"), else the\n"
    "environment SYNMAP_COLLECTOR, SYNMAP_CA, SYNMAP_CERT, SYNMAP_KEY, SYNMAP_TLS_SERVER_NAME, "
    "else a\n"
    "YAML file whose keys are the flag names: --config FILE, $SYNMAP_CONFIG,\n"
    "~/.config/synmap/cli.yaml or /etc/synmap/synmap-cli.yaml.\n";

void AddConnectionFlags(FlagParser& parser, ConnectionFlags* flags) {
  parser.AddString("collector", "HOST:PORT", &flags->collector, "collector address");
  parser.AddString("ca", "FILE", &flags->ca, "CA certificate (PEM)");
  parser.AddString("cert", "FILE", &flags->cert, "reader certificate (PEM, OU=reader)");
  parser.AddString("key", "FILE", &flags->key, "reader private key (PEM)");
  parser.AddString("tls-server-name", "NAME", &flags->tls_name,
                   "name to verify on the collector certificate (default: the HOST)");
  parser.AddString("config", "FILE", &flags->config, "YAML file with the settings above");
  parser.AddString("timeout", "DURATION", &flags->timeout, "deadline of the call (default 30s)");
}

absl::StatusOr<CollectorConnection> ConnectToCollector(const ConnectionFlags& flags,
                                                       std::optional<KeepRenewed> keep_renewed) {
  if (Env("GRPC_VERBOSITY").empty()) {
    gpr_set_log_function(DiscardGrpcLog);
  }
  common::OptionMap file;
  if (const std::string path = ConfigPath(flags); !path.empty()) {
    absl::StatusOr<common::OptionMap> loaded =
        common::LoadYamlOptions(path, ConnectionConfigSpecs());
    if (!loaded.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("config file: ", loaded.status().message()));
    }
    file = *std::move(loaded);
  }
  CollectorConnection conn;
  conn.target = Pick(flags.collector, "SYNMAP_COLLECTOR", file, "collector");
  const common::TlsFiles tls{.ca_path = Pick(flags.ca, "SYNMAP_CA", file, "ca"),
                             .cert_path = Pick(flags.cert, "SYNMAP_CERT", file, "cert"),
                             .key_path = Pick(flags.key, "SYNMAP_KEY", file, "key")};
  const std::string tls_name =
      Pick(flags.tls_name, "SYNMAP_TLS_SERVER_NAME", file, "tls-server-name");
  std::string timeout_text = flags.timeout;
  if (auto it = file.find("timeout"); timeout_text.empty() && it != file.end()) {
    timeout_text = it->second.values.front();
  }
  if (timeout_text.empty()) {
    timeout_text = "30s";
  }
  if (conn.target.empty()) {
    return absl::InvalidArgumentError(
        "no collector address: give --collector HOST:PORT or set SYNMAP_COLLECTOR");
  }
  if (tls.ca_path.empty() || tls.cert_path.empty() || tls.key_path.empty()) {
    return absl::InvalidArgumentError(
        "no reader certificate: give --ca, --cert and --key (or SYNMAP_CA, SYNMAP_CERT, "
        "SYNMAP_KEY)");
  }
  absl::StatusOr<absl::Duration> timeout = common::ParseDurationText(timeout_text);
  if (!timeout.ok() || *timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout: '", timeout_text, "' is not a positive duration"));
  }
  conn.timeout = *timeout;
  conn.files = tls;
  common::ChannelOptions options;
  options.target_name_override = tls_name;
  RenewIfDue(conn.target, tls, options);
  absl::StatusOr<common::TlsMaterial> material = common::LoadTlsMaterial(tls);
  if (!material.ok()) {
    return absl::InvalidArgumentError(std::string(material.status().message()));
  }
  // The collector sends answers of up to 1 GiB (query.proto), e.g. a complete map of millions
  // of rows; anything larger it refuses with a message of its own.
  options.max_receive_message_bytes = 1 << 30;
  // A connection kept renewed re-reads the certificate files, so it uses what the renewer writes.
  conn.stub = synmap::v1::Query::NewStub(common::MakeChannel(
      conn.target,
      keep_renewed.has_value()
          ? common::MakeReloadingClientCredentials(tls, keep_renewed->reload_every)
          : common::MakeClientCredentials(*material),
      options));
  conn.tls = *std::move(material);
  if (!keep_renewed.has_value()) {
    return conn;
  }
  common::ChannelOptions renewal_channel;
  renewal_channel.target_name_override = tls_name;
  conn.renewer = std::make_unique<common::CertificateRenewer>(
      ReaderRenewal(conn.target, tls, renewal_channel), RealClock::Get(), keep_renewed->retry);
  if (absl::Status started = conn.renewer->Start(); !started.ok()) {
    return started;
  }
  return conn;
}

std::string DescribeCallError(const CollectorConnection& conn, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    // A renewed certificate is in the files, not in conn.tls.
    absl::StatusOr<common::TlsMaterial> current =
        conn.renewer != nullptr ? common::LoadTlsMaterial(conn.files) : conn.tls;
    const std::string refusal =
        common::ExplainTlsRefusal(conn.target, current.ok() ? *current : conn.tls, "reader");
    if (!refusal.empty()) {
      return absl::StrCat("collector at ", conn.target, ": ", refusal);
    }
  }
  return DescribeRpcError(status, conn.target);
}

std::string DescribeRpcError(const grpc::Status& status, absl::string_view target) {
  const std::string message = status.error_message();
  const std::string lower = absl::AsciiStrToLower(message);
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      if (absl::StrContains(lower, "handshake") || absl::StrContains(lower, "ssl") ||
          absl::StrContains(lower, "certificate") || absl::StrContains(lower, "tls")) {
        return absl::StrCat("TLS handshake with collector at ", target,
                            " failed (wrong CA, expired or revoked certificate?): ", message);
      }
      if (absl::StrContains(lower, "connection refused")) {
        return absl::StrCat("cannot reach collector at ", target, ": connection refused");
      }
      return absl::StrCat("cannot reach collector at ", target, ": ", message);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrCat("collector at ", target,
                          " did not answer in time (is it reachable? try --timeout)");
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::StrCat("certificate rejected: ", message);
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::StrCat("not authenticated by collector at ", target, ": ", message);
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      // The collector's own words: an unknown filter name with the known choices, a window
      // no sensor covered, an answer too large.
      return message;
    default:
      return absl::StrCat("query failed at ", target, ": ", message);
  }
}

}  // namespace synmap::cli
