#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/flag_parser.h"
#include "common/config/options.h"
#include "common/enrol/certificate_renewer.h"
#include "common/tls/reloading_credentials.h"
#include "common/tls/tls_files.h"
#include "synmap/v1/query.grpc.pb.h"

namespace synmap::cli {

// Where the collector is and which reader certificate to present. Each field comes from the
// flag, else the environment (SYNMAP_COLLECTOR, SYNMAP_CA, SYNMAP_CERT, SYNMAP_KEY,
// SYNMAP_TLS_SERVER_NAME), else the config file (--config FILE, else $SYNMAP_CONFIG, else
// ~/.config/synmap/cli.yaml, else /etc/synmap/synmap-cli.yaml; keys are the flag names).
struct ConnectionFlags {
  std::string collector;  // HOST:PORT.
  std::string ca;
  std::string cert;
  std::string key;
  std::string tls_name;  // Name to check on the collector certificate instead of HOST.
  std::string config;
  std::string timeout;  // Empty: the config file's, else 30s.
};

// The keys of the connection config file (cli.yaml): collector, ca, cert, key,
// tls-server-name, timeout.
const std::vector<common::OptionSpec>& ConnectionConfigSpecs();

// Registers --collector, --ca, --cert, --key, --tls-server-name, --config, --timeout.
void AddConnectionFlags(FlagParser& parser, ConnectionFlags* flags);

// Help text on how the connection settings are found.
extern const char kConnectionHelp[];

// A Query stub over mutual TLS plus the settings used (for error messages).
struct CollectorConnection {
  std::unique_ptr<synmap::v1::Query::Stub> stub;
  std::string target;
  absl::Duration timeout;
  common::TlsMaterial tls;  // The reader's CA, certificate and key (for DescribeCallError).
  // With KeepRenewed: renews the certificate file while the connection lives (stopped when it
  // goes); DescribeCallError then reads the files again rather than `tls`.
  std::unique_ptr<common::CertificateRenewer> renewer;
  common::TlsFiles files;  // Where `tls` was read from.
};

// For a process that runs for long (`synmap web`): the channel re-reads the reader's certificate
// files every `reload_every`, and a CertificateRenewer renews the certificate two thirds into
// its life, so the reader never runs out of certificate as the sensor does not.
struct KeepRenewed {
  absl::Duration reload_every = common::kTlsFileRefreshInterval;
  absl::Duration retry = absl::Minutes(1);  // After a failed renewal (CertificateRenewer).
};

// Resolves the settings and builds the channel (connects lazily). A certificate due for renewal
// is renewed first. With `keep_renewed`, see KeepRenewed. InvalidArgument naming what is missing
// or wrong (no collector address, unreadable certificate, bad config file).
[[nodiscard]] absl::StatusOr<CollectorConnection> ConnectToCollector(
    const ConnectionFlags& flags, std::optional<KeepRenewed> keep_renewed = std::nullopt);

// A one-line, actionable message for a failed call, e.g.
// "cannot reach collector at 127.0.0.1:7443: connection refused" or
// "certificate rejected: role sensor may not query"; for a query the collector refused
// (unknown filter name, window without sensor data, answer too large) its own message.
std::string DescribeRpcError(const grpc::Status& status, absl::string_view target);

// DescribeRpcError, except that a call that failed UNAVAILABLE is checked with a TLS handshake
// of its own: a collector that refused the reader's certificate is said to have done so, with
// what to check, instead of "cannot reach collector ... Socket closed".
std::string DescribeCallError(const CollectorConnection& conn, const grpc::Status& status);

}  // namespace synmap::cli
