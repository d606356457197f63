// synmap-collector: flags and config file -> options -> store, names, services -> serve until
// SIGTERM/SIGINT; SIGHUP reloads the names file. Only wiring lives here.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "collector/query/names_holder.h"
#include "collector/query/new_service_alerts.h"
#include "collector/query/query_engine.h"
#include "collector/server/accept_probe.h"
#include "collector/server/collector_metrics.h"
#include "collector/server/collector_server.h"
#include "collector/server/revoke_command.h"
#include "collector/server/token_command.h"
#include "collector/store/migrate.h"
#include "collector/store/postgres_store.h"
#include "collector/store/sqlite_store.h"
#include "common/config/options.h"
#include "common/limits/open_file_limit.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/metrics/metrics_endpoint.h"
#include "common/naming/name_table.h"
#include "common/status/status_macros.h"
#include "common/time/clock.h"
#include "common/tls/certificate_request.h"
#include "common/tls/crl.h"
#include "common/tls/peer_identity.h"
#include "common/tls/tls_files.h"

#ifndef SYNMAP_VERSION
#define SYNMAP_VERSION "unknown"
#endif

namespace synmap::collector {
namespace {

using common::OptionMap;
using common::OptionSpec;

const std::vector<OptionSpec>& Specs() {
  static const auto* specs = new std::vector<OptionSpec>{
      {.name = "listen", .value_name = "HOST:PORT", .help = "address to serve on (port 0: any)"},
      {.name = "db",
       .value_name = "FILE|URI",
       .help = "SQLite database file (created if missing), or a PostgreSQL database shared by "
               "several collectors: postgresql://USER@HOST/DBNAME (any libpq URI)"},
      {.name = "names",
       .value_name = "FILE",
       .help = "names file (hosts, local networks, services)"},
      {.name = "ca", .value_name = "CA.pem", .help = "deployment CA certificate"},
      {.name = "cert", .value_name = "C.pem", .help = "collector certificate (OU=collector)"},
      {.name = "key", .value_name = "K.pem", .help = "collector private key"},
      {.name = "retention",
       .value_name = "DURATION",
       .help = "keep data this long (90d); default: forever"},
      {.name = "log-retention",
       .value_name = "DURATION",
       .help = "keep the batch log (to rebuild corrupt aggregates) this long (default 48h; 0 = "
               "as long as --retention)"},
      {.name = "buckets",
       .value_name = "TIERS",
       .help = "aggregate buckets by age, WIDTH:AGE,...,WIDTH (default 1m:48h,1h:90d,1d)"},
      {.name = "sync-full", .value_name = "BOOL", .help = "fsync every commit (default true)"},
      {.name = "overlap-dedup",
       .value_name = "BOOL",
       .help = "count a handshake several sensors saw once in merged answers (default true)"},
      {.name = "overlap-skew-tolerance",
       .value_name = "DURATION",
       .help = "clock skew tolerated between sensors when matching handshakes (default 5s)"},
      {.name = "overlap-window",
       .value_name = "DURATION",
       .help = "sensors' retransmission window, added to the tolerance (default 60s)"},
      {.name = "overlap-horizon",
       .value_name = "DURATION",
       .help = "remember handshakes this far behind the newest batch (default 6h)"},
      {.name = "overlap-memory-mb",
       .value_name = "N",
       .help = "memory for remembered handshakes; past it the oldest go first (default 256)"},
      {.name = "store-threads",
       .value_name = "N",
       .help = "threads making store calls (default 16)"},
      {.name = "accept-probe-interval",
       .value_name = "DURATION",
       .help = "TLS-connect to our own port this often (default 10s; 0: off)"},
      {.name = "accept-probe-failures",
       .value_name = "N",
       .help = "exit non-zero after N probes fail in a row (default 3)"},
      {.name = "on-new-service",
       .value_name = "CMD",
       .help = "run CMD (sh -c) for each server and service first seen, its JSON on stdin"},
      {.name = "on-new-service-rate",
       .value_name = "N",
       .help = "run --on-new-service at most N times a minute (default 10; more are logged)"},
      {.name = "port-file",
       .value_name = "FILE",
       .help = "write the bound port here once listening"},
      {.name = "metrics-listen",
       .value_name = "ADDR:PORT",
       .help = "serve Prometheus metrics over HTTP at http://ADDR:PORT/metrics (default: off)"},
      {.name = "issuing-ca",
       .value_name = "FILE",
       .help = "issuing CA certificate (make-certs.sh issuing-ca): sign enrolments and renewals"},
      {.name = "issuing-ca-key", .value_name = "FILE", .help = "issuing CA private key"},
      {.name = "enrol-listen",
       .value_name = "HOST:PORT",
       .help = "serve enrolment by token here (TLS without client certificates; needs "
               "--issuing-ca)"},
      {.name = "certificate-lifetime",
       .value_name = "DURATION",
       .help = "lifetime of the certificates signed by --issuing-ca (default 30d)"},
      {.name = "crl",
       .value_name = "FILE",
       .help = "certificate revocation list of the deployment CA (PEM or DER), checked in every "
               "TLS handshake; reloaded on SIGHUP"},
      {.name = "insecure-for-testing",
       .value_name = "",
       .help = "plaintext, refuses every call; testing only"},
      {.name = "config",
       .value_name = "FILE",
       .help = "YAML file whose keys are these flag names",
       .file_allowed = false},
      {.name = "help", .value_name = "", .help = "show this help", .file_allowed = false},
      {.name = "version", .value_name = "", .help = "show the version", .file_allowed = false},
  };
  return *specs;
}

const std::vector<OptionSpec>& MigrateSpecs() {
  static const auto* specs = new std::vector<OptionSpec>{
      {.name = "from", .value_name = "FILE.db", .help = "SQLite store to copy (not changed)"},
      {.name = "to", .value_name = "URI", .help = "empty PostgreSQL database (postgresql://...)"},
      {.name = "buckets",
       .value_name = "TIERS",
       .help = "aggregate buckets by age, as the collectors use (default 1m:48h,1h:90d,1d)"},
      {.name = "help", .value_name = "", .help = "show this help"},
  };
  return *specs;
}

std::string Usage() {
  return absl::StrCat(
      "usage: synmap-collector --listen HOST:PORT --db FILE --names FILE --ca CA.pem "
      "--cert C.pem --key K.pem [--retention 90d] [--config FILE.yaml]\n\n",
      common::OptionsHelp(Specs()), TokenCommandHelp(), "\n", RevokeCommandsHelp(),
      "\nsynmap-collector migrate --from FILE.db --to URI: copies a stopped collector's SQLite "
      "store into an empty PostgreSQL database (docs/scale-out.md)\n",
      common::OptionsHelp(MigrateSpecs()));
}

// Everything main needs, resolved from flags and the config file.
struct MainOptions {
  CollectorServerOptions server;
  SqliteStoreOptions store;
  // Used instead of `store` when --db is a postgresql:// or postgres:// URI.
  std::optional<PostgresStoreOptions> postgres;
  std::string names_path;
  std::string port_file;
  std::string metrics_listen;  // --metrics-listen; empty: no metrics endpoint.
  common::TlsFiles tls_files;
  std::string crl_path;  // --crl; empty: no CRL.
  // --issuing-ca and --issuing-ca-key; empty: no enrolment or renewal.
  std::string issuing_ca_path;
  std::string issuing_ca_key_path;
  absl::Duration certificate_lifetime = kDefaultCertificateLifetime;
  absl::Duration probe_interval = absl::Seconds(10);
  int probe_failures = 3;
  // --on-new-service; command empty: off.
  NewServiceAlertOptions alerts;
};

absl::Status Require(const OptionMap& options, absl::string_view name) {
  if (!options.contains(std::string(name))) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " is required (see --help)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<MainOptions> ResolveOptions(const OptionMap& o) {
  MainOptions m;
  SYNMAP_ASSIGN_OR_RETURN(m.server.insecure_for_testing,
                          common::GetBool(o, "insecure-for-testing", false));
  std::vector<std::string> required = {"listen", "db"};
  if (!m.server.insecure_for_testing) {
    required.insert(required.end(), {"ca", "cert", "key"});
  }
  for (const std::string& name : required) {
    SYNMAP_RETURN_IF_ERROR(Require(o, name));
  }
  SYNMAP_ASSIGN_OR_RETURN(m.server.listen_address, common::GetString(o, "listen"));
  SYNMAP_ASSIGN_OR_RETURN(m.store.path, common::GetString(o, "db"));
  SYNMAP_ASSIGN_OR_RETURN(m.names_path, common::GetString(o, "names"));
  SYNMAP_ASSIGN_OR_RETURN(m.port_file, common::GetString(o, "port-file"));
  SYNMAP_ASSIGN_OR_RETURN(m.metrics_listen, common::GetString(o, "metrics-listen"));
  if (!m.metrics_listen.empty()) {
    std::string host;
    int port = 0;
    SYNMAP_RETURN_IF_ERROR(common::SplitListenAddress(m.metrics_listen, &host, &port));
  }
  SYNMAP_ASSIGN_OR_RETURN(m.tls_files.ca_path, common::GetString(o, "ca"));
  SYNMAP_ASSIGN_OR_RETURN(m.tls_files.cert_path, common::GetString(o, "cert"));
  SYNMAP_ASSIGN_OR_RETURN(m.tls_files.key_path, common::GetString(o, "key"));
  SYNMAP_ASSIGN_OR_RETURN(m.crl_path, common::GetString(o, "crl"));
  if (!m.crl_path.empty() && m.server.insecure_for_testing) {
    return absl::InvalidArgumentError("--crl needs TLS (not --insecure-for-testing)");
  }
  SYNMAP_ASSIGN_OR_RETURN(m.issuing_ca_path, common::GetString(o, "issuing-ca"));
  SYNMAP_ASSIGN_OR_RETURN(m.issuing_ca_key_path, common::GetString(o, "issuing-ca-key"));
  SYNMAP_ASSIGN_OR_RETURN(m.server.enrol_listen_address, common::GetString(o, "enrol-listen"));
  SYNMAP_ASSIGN_OR_RETURN(m.certificate_lifetime,
                          common::GetDuration(o, "certificate-lifetime", m.certificate_lifetime));
  if (m.issuing_ca_path.empty() != m.issuing_ca_key_path.empty() ||
      (m.issuing_ca_path.empty() && !m.server.enrol_listen_address.empty())) {
    return absl::InvalidArgumentError(
        "--issuing-ca and --issuing-ca-key go together, and --enrol-listen needs them");
  }
  if (m.certificate_lifetime < absl::Minutes(1)) {
    return absl::InvalidArgumentError("--certificate-lifetime must be at least 1m");
  }
  SYNMAP_ASSIGN_OR_RETURN(m.store.retention,
                          common::GetDuration(o, "retention", absl::ZeroDuration()));
  SYNMAP_ASSIGN_OR_RETURN(m.store.log_retention,
                          common::GetDuration(o, "log-retention", m.store.log_retention));
  SYNMAP_ASSIGN_OR_RETURN(std::string tiers, common::GetString(o, "buckets"));
  if (!tiers.empty()) {
    SYNMAP_ASSIGN_OR_RETURN(m.store.tiers, ParseStoreTiers(tiers));
  }
  SYNMAP_ASSIGN_OR_RETURN(m.store.sync_full, common::GetBool(o, "sync-full", true));
  OverlapOptions& overlap = m.store.overlap;
  SYNMAP_ASSIGN_OR_RETURN(overlap.enabled, common::GetBool(o, "overlap-dedup", true));
  SYNMAP_ASSIGN_OR_RETURN(overlap.skew_tolerance,
                          common::GetDuration(o, "overlap-skew-tolerance", overlap.skew_tolerance));
  SYNMAP_ASSIGN_OR_RETURN(overlap.window, common::GetDuration(o, "overlap-window", overlap.window));
  SYNMAP_ASSIGN_OR_RETURN(overlap.horizon,
                          common::GetDuration(o, "overlap-horizon", overlap.horizon));
  SYNMAP_ASSIGN_OR_RETURN(int64_t overlap_mb,
                          common::GetInt(o, "overlap-memory-mb", overlap.max_memory_bytes >> 20));
  if (overlap_mb < 1 || overlap_mb > (int64_t{1} << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--overlap-memory-mb ", overlap_mb, ": must be 1 to 1048576"));
  }
  overlap.max_memory_bytes = overlap_mb << 20;
  if (IsPostgresDatabase(m.store.path)) {
    PostgresStoreOptions& pg = m.postgres.emplace();
    pg.uri = m.store.path;
    pg.tiers = m.store.tiers;
    pg.retention = m.store.retention;
    pg.overlap = m.store.overlap;
    SYNMAP_RETURN_IF_ERROR(pg.Validate());
  }
  SYNMAP_ASSIGN_OR_RETURN(int64_t threads, common::GetInt(o, "store-threads", 16));
  m.server.ingest.store_threads = static_cast<int>(std::clamp<int64_t>(threads, -1, 1 << 20));
  SYNMAP_ASSIGN_OR_RETURN(m.probe_interval,
                          common::GetDuration(o, "accept-probe-interval", absl::Seconds(10)));
  SYNMAP_ASSIGN_OR_RETURN(int64_t probe_failures, common::GetInt(o, "accept-probe-failures", 3));
  if (probe_failures < 1 || probe_failures > 1000 || m.probe_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--accept-probe-failures must be 1-1000 and --accept-probe-interval >= 0");
  }
  m.probe_failures = static_cast<int>(probe_failures);
  SYNMAP_ASSIGN_OR_RETURN(m.alerts.command, common::GetString(o, "on-new-service"));
  SYNMAP_ASSIGN_OR_RETURN(int64_t alert_rate, common::GetInt(o, "on-new-service-rate", 10));
  if (alert_rate < 1 || alert_rate > 100000) {
    return absl::InvalidArgumentError("--on-new-service-rate must be 1-100000");
  }
  m.alerts.max_per_minute = static_cast<int>(alert_rate);
  m.store.clock = &RealClock::Get();
  SYNMAP_RETURN_IF_ERROR(m.store.Validate());
  return m;
}

// Loads and checks the collector's own certificate; warns when it is not a collector cert.
absl::Status LoadTls(MainOptions& m) {
  if (m.server.insecure_for_testing) {
    SYNMAP_LOG(WARNING) << "insecure_for_testing plaintext=on every_call=refused";
    return absl::OkStatus();
  }
  SYNMAP_ASSIGN_OR_RETURN(m.server.tls, common::LoadTlsMaterial(m.tls_files));
  m.server.tls_files = m.tls_files;
  SYNMAP_RETURN_IF_ERROR(common::CheckCertificateValidity(
      m.tls_files.cert_path, m.server.tls.cert_pem, RealClock::Get().Now()));
  absl::StatusOr<common::PeerIdentity> self =
      common::ParseCertificateIdentity(m.server.tls.cert_pem);
  if (!self.ok() || self->role != common::kRoleCollector) {
    SYNMAP_LOG(WARNING) << "collector_cert_role_unexpected cert=" << m.tls_files.cert_path
                        << " want_ou=collector";
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const common::NameTable>> LoadNames(const std::string& path) {
  SYNMAP_ASSIGN_OR_RETURN(common::NameTable table, common::NameTable::LoadFile(path));
  return std::make_shared<const common::NameTable>(std::move(table));
}

// Writes `port` to `path` via a temporary file and rename, so readers never see a torn file.
absl::Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) {
      return absl::UnavailableError(absl::StrCat("write port file ", tmp));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("rename port file to ", path, ": ", ec.message()));
  }
  return absl::OkStatus();
}

std::string HostOf(const std::string& listen) { return listen.substr(0, listen.rfind(':')); }

// Raises the soft descriptor limit to the hard one: every connection, even a stalled TLS
// handshake, holds a descriptor, and gRPC 1.51 stops accepting for good after one EMFILE.
void RaiseFileLimit() {
  const absl::StatusOr<common::OpenFileLimit> limit = common::RaiseOpenFileLimit();
  if (!limit.ok()) {
    SYNMAP_LOG(WARNING) << "file_limit_not_raised error=\"" << limit.status().message() << "\"";
    return;
  }
  SYNMAP_LOG(INFO) << "file_limit soft=" << limit->soft << " was=" << limit->soft_before;
  if (limit->soft < 4096) {
    SYNMAP_LOG(WARNING) << "file_limit_low soft=" << limit->soft
                        << " want=65536 (LimitNOFILE in the systemd unit)";
  }
}

// Where the accept probe connects: the listening host, or loopback for a wildcard address.
std::string ProbeTarget(const std::string& listen, int port) {
  std::string host = HostOf(listen);
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") {
    host = "127.0.0.1";
  }
  return absl::StrCat(host, ":", port);
}

// Refuses a reload that would blank the map (see CheckNamesReload), else swaps the table in;
// logs the counts before and after either way.
void ReloadNames(const std::string& path, NamesHolder& holder) {
  const std::string file = path.empty() ? "(none)" : path;
  absl::StatusOr<std::shared_ptr<const common::NameTable>> fresh = LoadNames(path);
  if (!fresh.ok()) {
    SYNMAP_LOG(ERROR) << "names_reload_failed file=" << path << " status=" << fresh.status()
                      << " keeping=previous";
    return;
  }
  const std::shared_ptr<const common::NameTable> current = holder.Get();
  if (absl::Status s = common::CheckNamesReload(*current, **fresh, file); !s.ok()) {
    SYNMAP_LOG(ERROR) << "names_reload_refused file=" << file << " status=" << s
                      << " keeping=previous";
    return;
  }
  SYNMAP_LOG(INFO) << "names_reloaded file=" << file
                   << " before: " << common::DescribeNameCounts(current->counts())
                   << " after: " << common::DescribeNameCounts((*fresh)->counts());
  holder.Set(*std::move(fresh));
}

// Loads the CRL at `path` (checked against the deployment CA) into `holder`. At start a bad
// CRL is an error; on reload (SIGHUP) it is logged and the CRL in force is kept.
absl::Status LoadCrl(const std::string& path, const std::string& ca_pem, common::CrlHolder& holder,
                     bool reload) {
  absl::StatusOr<std::shared_ptr<const common::CertificateRevocationList>> crl =
      common::CertificateRevocationList::Load(path, ca_pem);
  if (!crl.ok()) {
    if (reload) {
      SYNMAP_LOG(ERROR) << "crl_reload_failed file=" << path << " status=" << crl.status()
                        << " keeping=previous";
    }
    return crl.status();
  }
  const absl::Time next = (*crl)->next_update();
  SYNMAP_LOG(INFO) << (reload ? "crl_reloaded" : "crl_loaded") << " file=" << path << " issuer=\""
                   << (*crl)->issuer() << "\" revoked=" << (*crl)->revoked_count()
                   << " next_update="
                   << (next == absl::InfiniteFuture()
                           ? std::string("none")
                           : absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", next, absl::UTCTimeZone()));
  if (next < RealClock::Get().Now()) {
    SYNMAP_LOG(WARNING) << "crl_stale file=" << path
                        << " hint=\"past its next update: still enforced; publish a fresh CRL "
                           "and send SIGHUP\"";
  }
  holder.Set(*std::move(crl));
  return absl::OkStatus();
}

// Serves until SIGTERM or SIGINT. `signals` must already be blocked in every thread.
absl::Status Serve(MainOptions& m, const sigset_t& signals) {
  RaiseFileLimit();
  SYNMAP_RETURN_IF_ERROR(LoadTls(m));
  common::CrlHolder crl;
  if (!m.crl_path.empty()) {
    SYNMAP_RETURN_IF_ERROR(LoadCrl(m.crl_path, m.server.tls.ca_pem, crl, /*reload=*/false));
    m.server.crl = &crl;
  }
  // Bound before the store opens so that a port in use fails fast; served once the server
  // whose counters it reads exists, and stopped before that server goes away.
  common::MetricsRegistry metrics_registry;
  std::unique_ptr<common::MetricsEndpoint> metrics;
  if (!m.metrics_listen.empty()) {
    SYNMAP_ASSIGN_OR_RETURN(metrics,
                            common::MetricsEndpoint::Bind(m.metrics_listen, metrics_registry));
  }
  SYNMAP_ASSIGN_OR_RETURN(std::shared_ptr<const common::NameTable> names, LoadNames(m.names_path));
  NamesHolder holder(std::move(names));
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, m.postgres.has_value()
                                                            ? OpenPostgresStore(*m.postgres)
                                                            : OpenSqliteStore(m.store));
  QueryEngine engine(*store, holder);
  std::unique_ptr<IssuingCa> issuing_ca;
  std::unique_ptr<EnrolmentTokens> tokens;
  std::unique_ptr<Registrar> registrar;
  if (!m.issuing_ca_path.empty()) {
    absl::StatusOr<std::unique_ptr<IssuingCa>> ca = IssuingCa::Load(
        m.issuing_ca_path, m.issuing_ca_key_path, m.server.tls.ca_pem, RealClock::Get().Now());
    absl::StatusOr<std::unique_ptr<EnrolmentTokens>> opened =
        ca.ok() ? OpenEnrolmentTokens(m.store.path) : ca.status();
    if (!opened.ok()) {
      SYNMAP_RETURN_IF_ERROR(store->Close());
      return opened.status();
    }
    issuing_ca = *std::move(ca);
    tokens = *std::move(opened);
    registrar = std::make_unique<Registrar>(*issuing_ca, *tokens, *store, RealClock::Get(),
                                            m.certificate_lifetime);
    m.server.registrar = registrar.get();
    SYNMAP_LOG(INFO) << "issuing_ca cert=" << m.issuing_ca_path << " ca_fingerprint="
                     << common::CertificateFingerprint(m.server.tls.ca_pem).value_or("?");
  }
  absl::StatusOr<std::unique_ptr<CollectorServer>> server =
      CollectorServer::Start(m.server, *store, engine, RealClock::Get());
  if (!server.ok()) {
    SYNMAP_RETURN_IF_ERROR(store->Close());
    return server.status();
  }
  SYNMAP_LOG(INFO) << "listening address=" << HostOf(m.server.listen_address) << ":"
                   << (*server)->port()
                   << " db=" << (m.postgres.has_value() ? "postgresql" : m.store.path)
                   << " names=" << (m.names_path.empty() ? "(none)" : m.names_path)
                   << " enrol_port=" << (*server)->enrol_port();
  if (metrics != nullptr) {
    AddCollectorMetrics(**server, m.server.tls.cert_pem, SYNMAP_VERSION, metrics_registry);
    SYNMAP_RETURN_IF_ERROR(metrics->Start());
  }
  // On every return from here the endpoint stops before the server it reads goes away.
  absl::Cleanup stop_metrics = [&metrics] {
    if (metrics != nullptr) {
      metrics->Stop();
    }
  };
  if (!m.port_file.empty()) {
    SYNMAP_RETURN_IF_ERROR(WritePortFile(m.port_file, (*server)->port()));
  }
  // The probe's verdict, set once on its thread before it raises SIGTERM.
  std::atomic<bool> cannot_accept{false};
  absl::Status probe_status;
  std::unique_ptr<AcceptProbe> probe;
  if (!m.server.insecure_for_testing && m.probe_interval > absl::ZeroDuration()) {
    probe = std::make_unique<AcceptProbe>(
        AcceptProbeOptions{.target = ProbeTarget(m.server.listen_address, (*server)->port()),
                           .ca_pem = m.server.tls.ca_pem,
                           .interval = m.probe_interval,
                           .timeout = std::min(m.probe_interval, absl::Seconds(5)),
                           .failures_to_fail = m.probe_failures},
        [&](const absl::Status& s) {
          probe_status = s;
          cannot_accept.store(true);
          SYNMAP_LOG(ERROR) << "accept_probe_gave_up status=" << s << " exiting=1";
          kill(getpid(), SIGTERM);
        });
    SYNMAP_RETURN_IF_ERROR(probe->Start());
  }
  std::unique_ptr<NewServiceAlerts> alerts;
  if (!m.alerts.command.empty()) {
    alerts = std::make_unique<NewServiceAlerts>(*store, holder, m.alerts);
    SYNMAP_RETURN_IF_ERROR(alerts->Start());
  }
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) {
      continue;
    }
    if (sig != SIGHUP) {
      SYNMAP_LOG(INFO) << "shutting_down signal=" << sig;
      break;
    }
    ReloadNames(m.names_path, holder);
    if (!m.crl_path.empty()) {
      (void)LoadCrl(m.crl_path, m.server.tls.ca_pem, crl, /*reload=*/true);
    }
  }
  if (probe != nullptr) {
    probe->Stop();
  }
  if (alerts != nullptr) {
    alerts->Stop();
  }
  (*server)->Shutdown(absl::Seconds(5));
  if (metrics != nullptr) {
    metrics->Stop();  // Its families read the server, reset below.
  }
  for (const auto& [reason, count] : (*server)->refusals().Snapshot()) {
    SYNMAP_LOG(INFO) << "refusals reason=" << reason << " count=" << count;
  }
  for (const auto& [reason, count] : CollectorServer::tls_refusals().Snapshot()) {
    SYNMAP_LOG(INFO) << "tls_refusals reason=" << reason << " count=" << count;
  }
  server->reset();
  SYNMAP_RETURN_IF_ERROR(store->Close());
  if (cannot_accept.load()) {
    return absl::UnavailableError(
        absl::StrCat("no longer accepting connections (", probe_status.message(),
                     "); exiting non-zero so the service manager restarts the collector"));
  }
  return absl::OkStatus();
}

// synmap-collector migrate --from FILE.db --to postgresql://...: copies a SQLite store into an
// empty PostgreSQL database and checks that both answer the same.
int MigrateMain(const std::vector<std::string>& args) {
  absl::StatusOr<OptionMap> flags = common::ParseFlags(args, MigrateSpecs(), nullptr);
  if (!flags.ok() || flags->contains("help")) {
    (flags.ok() ? std::cout : std::cerr)
        << (flags.ok() ? ""
                       : absl::StrCat("synmap-collector migrate: ", flags.status().message(), "\n"))
        << "usage: synmap-collector migrate --from FILE.db --to postgresql://USER@HOST/DBNAME\n\n"
           "Copies a stopped collector's SQLite store into an empty PostgreSQL database (one\n"
           "transaction), then compares every aggregate row and sensor coverage of both.\n\n"
        << common::OptionsHelp(MigrateSpecs());
    return flags.ok() ? 0 : 2;
  }
  auto run = [&]() -> absl::StatusOr<MigrationReport> {
    SYNMAP_RETURN_IF_ERROR(Require(*flags, "from"));
    SYNMAP_RETURN_IF_ERROR(Require(*flags, "to"));
    SqliteStoreOptions from;
    PostgresStoreOptions to;
    SYNMAP_ASSIGN_OR_RETURN(from.path, common::GetString(*flags, "from"));
    SYNMAP_ASSIGN_OR_RETURN(to.uri, common::GetString(*flags, "to"));
    if (!IsPostgresDatabase(to.uri)) {
      return absl::InvalidArgumentError("--to must be a postgresql:// or postgres:// URI");
    }
    if (!std::filesystem::exists(from.path)) {
      return absl::NotFoundError(absl::StrCat("--from ", from.path, ": no such file"));
    }
    SYNMAP_ASSIGN_OR_RETURN(std::string tiers, common::GetString(*flags, "buckets"));
    if (!tiers.empty()) {
      SYNMAP_ASSIGN_OR_RETURN(from.tiers, ParseStoreTiers(tiers));
      to.tiers = from.tiers;
    }
    return MigrateSqliteToPostgres(from, to);
  };
  absl::StatusOr<MigrationReport> report = run();
  if (!report.ok()) {
    std::cerr << "synmap-collector migrate: " << report.status().message() << "\n";
    return report.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::cout << "migrated " << report->sensors << " sensor(s), " << report->batches << " batch(es), "
            << report->records << " record(s); the PostgreSQL store answers "
            << "the same " << report->aggregate_rows << " aggregate rows and coverage\n";
  return 0;
}

int Main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "migrate") {
    return MigrateMain(std::vector<std::string>(argv + 2, argv + argc));
  }
  if (argc >= 2 && std::string(argv[1]) == "revoke") {
    return RevokeMain(std::vector<std::string>(argv + 2, argv + argc), Specs());
  }
  if (argc >= 2 && std::string(argv[1]) == "revocations") {
    return RevocationsMain(std::vector<std::string>(argv + 2, argv + argc), Specs());
  }
  if (argc >= 2 && std::string(argv[1]) == "token") {
    return TokenMain(std::vector<std::string>(argv + 2, argv + argc), Specs());
  }
  // Block the signals we wait for before any thread starts, so every thread inherits it.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<OptionMap> flags = common::ParseFlags(args, Specs(), nullptr);
  if (!flags.ok()) {
    std::cerr << "synmap-collector: " << flags.status().message() << "\n";
    return 2;
  }
  if (flags->contains("help")) {
    std::cout << Usage();
    return 0;
  }
  if (flags->contains("version")) {
    std::cout << "synmap-collector " << SYNMAP_VERSION << "\n";
    return 0;
  }
  OptionMap options = *flags;
  if (flags->contains("config")) {
    absl::StatusOr<OptionMap> file =
        common::LoadYamlOptions(common::GetString(*flags, "config").value_or(""), Specs());
    if (!file.ok()) {
      std::cerr << "synmap-collector: " << file.status().message() << "\n";
      return 2;
    }
    options = common::MergeOptions(*std::move(file), *flags);
  }
  absl::StatusOr<MainOptions> resolved = ResolveOptions(options);
  if (!resolved.ok()) {
    std::cerr << "synmap-collector: " << resolved.status().message() << "\n";
    return 2;
  }
  absl::Status status = Serve(*resolved, signals);
  if (!status.ok()) {
    std::cerr << "synmap-collector: " << status.message() << "\n";
    return 1;
  }
  SYNMAP_LOG(INFO) << "collector_stopped";
  return 0;
}

}  // namespace
}  // namespace synmap::collector

int main(int argc, char** argv) { return synmap::collector::Main(argc, argv); }
