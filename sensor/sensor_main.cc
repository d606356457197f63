// synmap-sensor: captures SYN/ACKs (live interfaces or capture files), aggregates them into
// flush windows and streams the batches to the collector(s) over mutual TLS.
// Flags -> config -> wiring -> run; no logic of its own beyond the lifecycle.

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/config/options.h"
#include "common/enrol/certificate_renewer.h"
#include "common/enrol/enroll_command.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/metrics/metrics_endpoint.h"
#include "common/status/status_macros.h"
#include "common/time/clock.h"
#include "common/tls/credentials.h"
#include "common/tls/handshake_check.h"
#include "common/tls/peer_identity.h"
#include "common/tls/reloading_credentials.h"
#include "common/tls/tls_files.h"
#include "sensor/capture/packet_source.h"
#include "sensor/capture/pcap_file_source.h"
#include "sensor/capture/pcap_live_source.h"
#include "sensor/capture/privileges.h"
#include "sensor/pipeline/pipeline.h"
#include "sensor/sensor_metrics.h"
#include "sensor/uplink/uplink.h"

namespace synmap::sensor {
namespace {

constexpr char kVersion[] = "0.1.0";
constexpr int kExitUsage = 2;
// How often lifecycle counters are logged while running.
constexpr absl::Duration kStatsLogInterval = absl::Seconds(60);

const std::vector<common::OptionSpec>& Specs() {
  static const auto* specs = new std::vector<common::OptionSpec>{
      {"interface", "IFACE", "capture on this interface (-i; \"any\" = all)", true},
      {"read", "FILE", "replay this capture file (pcap/pcapng) instead of capturing", true},
      {"collector", "HOST:PORT", "collector to send batches to; several = failover", true},
      {"spool", "DIR", "spool directory: batches wait here (fsynced) until acked"},
      {"flush-interval", "DURATION", "aggregation window, by capture time (default 10s)"},
      {"ca", "CA.pem", "deployment CA certificate"},
      {"cert", "S.pem", "this sensor's certificate (CN = name, OU = sensor)"},
      {"key", "S.key", "this sensor's private key"},
      {"tls-server-name", "NAME", "name to check in the collector's certificate (default: host)"},
      {"site", "NAME",
       "the site this sensor belongs to (keeps overlapping address spaces apart; a site in the "
       "certificate must agree)"},
      {"config", "FILE.yaml", "read options from this YAML file; flags win", false, false},
      {"user", "NAME",
       "run as this user once the captures are open (as root, default: synmap, else nobody; "
       "'root' keeps uid 0); every capability is dropped either way"},
      {"buffer-size", "BYTES", "kernel capture buffer per interface (default 8388608)"},
      {"snaplen", "N", "bytes captured per frame (default 256)"},
      {"promiscuous", "", "put the interfaces in promiscuous mode (mirror ports)"},
      {"no-decapsulate", "", "count only TCP right after the outermost IP header (no tunnels)"},
      {"no-fingerprints", "",
       "send no handshake fingerprints: the collector then counts this sensor's connections "
       "without deduplicating them against other sensors'"},
      {"replay-speed", "", "with --read: replay at the speed the packets were captured"},
      {"max-keys", "N", "close a window early at this many keys (default 200000)"},
      {"spool-max-bytes", "BYTES", "merge, then drop oldest, past this spool size (1 GiB)"},
      {"drain-timeout", "DURATION", "at exit, wait this long for acks (default 60s)"},
      {"log-file", "FILE", "log here instead of stderr; reopened on SIGHUP"},
      {"metrics-listen", "ADDR:PORT",
       "serve Prometheus metrics over HTTP at http://ADDR:PORT/metrics (default: off)"},
      {"help", "", "show this help and exit", false, false},
      {"version", "", "show the version and exit", false, false},
  };
  return *specs;
}

void PrintUsage() {
  std::cout << "usage: synmap-sensor (-i IFACE ... | --read FILE ...) --collector HOST:PORT\n"
               "                     --spool DIR --ca CA.pem --cert S.pem --key S.key [options]\n"
               "\nCounts TCP SYN/ACKs (which server offered which service to which client) and\n"
               "streams them to a synmap collector over mutual TLS. With --read it exits 0 once\n"
               "every batch is acknowledged, or 1 (spool kept) when the collector stays\n"
               "unreachable past --drain-timeout. SIGTERM/SIGINT: flush, wait for acks, exit 0.\n"
               "SIGHUP: reopen --log-file.\n\noptions:\n"
            << common::OptionsHelp(Specs());
}

// Everything main needs, parsed and checked. Plain data.
struct SensorConfig {
  std::vector<std::string> interfaces;
  std::vector<std::string> read_files;
  std::vector<std::string> collectors;
  std::string spool_dir;
  common::TlsFiles tls;
  std::string tls_server_name;
  std::string site;  // --site; empty: none (or the certificate's).
  std::string user;
  std::string log_file;
  std::string metrics_listen;  // --metrics-listen; empty: no metrics endpoint.
  bool replay_paced = false;
  bool promiscuous = false;
  bool decapsulate = true;   // Enter tunnels (GRE, VXLAN, ...); --no-decapsulate turns it off.
  bool fingerprints = true;  // Send handshake fingerprints; --no-fingerprints turns it off.
  int64_t buffer_size_bytes = 8 << 20;
  int64_t snaplen_bytes = 256;
  int64_t max_keys = 200'000;
  int64_t spool_max_bytes = int64_t{1} << 30;
  absl::Duration flush_interval = absl::Seconds(10);
  absl::Duration drain_timeout = absl::Seconds(60);
};

// "-i eth0" and "-ieth0" become "--interface eth0"; "-h" becomes "--help".
std::vector<std::string> ExpandShortFlags(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-i") {
      args.push_back("--interface");
    } else if (arg.size() > 2 && arg.rfind("-i", 0) == 0 && arg[2] != '-') {
      args.push_back("--interface");
      args.push_back(arg.substr(2));
    } else if (arg == "-h") {
      args.push_back("--help");
    } else {
      args.push_back(arg);
    }
  }
  return args;
}

absl::Status Require(const common::OptionMap& options, absl::string_view name) {
  if (options.count(std::string(name)) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " is required (see --help)"));
  }
  return absl::OkStatus();
}

absl::Status CheckSources(const SensorConfig& config) {
  if (config.interfaces.empty() == config.read_files.empty()) {
    return absl::InvalidArgumentError(
        "give either -i IFACE (live capture) or --read FILE (replay), not both or neither");
  }
  if (config.replay_paced && config.read_files.empty()) {
    return absl::InvalidArgumentError("--replay-speed applies only with --read");
  }
  return absl::OkStatus();
}

absl::StatusOr<SensorConfig> BuildConfig(const common::OptionMap& o) {
  for (const char* name : {"collector", "spool", "ca", "cert", "key"}) {
    SYNMAP_RETURN_IF_ERROR(Require(o, name));
  }
  SensorConfig c;
  c.interfaces = common::GetList(o, "interface");
  c.read_files = common::GetList(o, "read");
  c.collectors = common::GetList(o, "collector");
  SYNMAP_ASSIGN_OR_RETURN(c.spool_dir, common::GetString(o, "spool"));
  SYNMAP_ASSIGN_OR_RETURN(c.tls.ca_path, common::GetString(o, "ca"));
  SYNMAP_ASSIGN_OR_RETURN(c.tls.cert_path, common::GetString(o, "cert"));
  SYNMAP_ASSIGN_OR_RETURN(c.tls.key_path, common::GetString(o, "key"));
  SYNMAP_ASSIGN_OR_RETURN(c.tls_server_name, common::GetString(o, "tls-server-name"));
  SYNMAP_ASSIGN_OR_RETURN(c.site, common::GetString(o, "site"));
  if (!c.site.empty() && !common::IsValidPeerName(c.site)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--site: '", c.site, "' is not a valid site name (1 to 64 characters of [A-Za-z0-9._-])"));
  }
  SYNMAP_ASSIGN_OR_RETURN(c.user, common::GetString(o, "user"));
  SYNMAP_ASSIGN_OR_RETURN(c.log_file, common::GetString(o, "log-file"));
  SYNMAP_ASSIGN_OR_RETURN(c.metrics_listen, common::GetString(o, "metrics-listen"));
  if (!c.metrics_listen.empty()) {
    std::string host;
    int port = 0;
    SYNMAP_RETURN_IF_ERROR(common::SplitListenAddress(c.metrics_listen, &host, &port));
  }
  SYNMAP_ASSIGN_OR_RETURN(c.replay_paced, common::GetBool(o, "replay-speed", false));
  SYNMAP_ASSIGN_OR_RETURN(c.promiscuous, common::GetBool(o, "promiscuous", false));
  SYNMAP_ASSIGN_OR_RETURN(const bool no_decapsulate, common::GetBool(o, "no-decapsulate", false));
  c.decapsulate = !no_decapsulate;
  SYNMAP_ASSIGN_OR_RETURN(const bool no_fingerprints, common::GetBool(o, "no-fingerprints", false));
  c.fingerprints = !no_fingerprints;
  SYNMAP_ASSIGN_OR_RETURN(c.buffer_size_bytes,
                          common::GetInt(o, "buffer-size", c.buffer_size_bytes));
  SYNMAP_ASSIGN_OR_RETURN(c.snaplen_bytes, common::GetInt(o, "snaplen", c.snaplen_bytes));
  SYNMAP_ASSIGN_OR_RETURN(c.max_keys, common::GetInt(o, "max-keys", c.max_keys));
  SYNMAP_ASSIGN_OR_RETURN(c.spool_max_bytes,
                          common::GetInt(o, "spool-max-bytes", c.spool_max_bytes));
  SYNMAP_ASSIGN_OR_RETURN(c.flush_interval,
                          common::GetDuration(o, "flush-interval", c.flush_interval));
  SYNMAP_ASSIGN_OR_RETURN(c.drain_timeout,
                          common::GetDuration(o, "drain-timeout", c.drain_timeout));
  if (c.buffer_size_bytes <= 0 || c.buffer_size_bytes > (int64_t{1} << 31) - 1) {
    return absl::InvalidArgumentError("--buffer-size: want 1..2147483647 bytes");
  }
  if (c.snaplen_bytes <= 0 || c.snaplen_bytes > 262144 || c.max_keys <= 0 ||
      c.spool_max_bytes <= 0 || c.drain_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--snaplen, --max-keys, --spool-max-bytes must be positive and --drain-timeout >= 0");
  }
  SYNMAP_RETURN_IF_ERROR(CheckSources(c));
  return c;
}

// Opens every capture source (needs root or CAP_NET_RAW for live ones).
absl::StatusOr<std::vector<std::unique_ptr<PacketSource>>> OpenSources(const SensorConfig& c,
                                                                       Clock& clock) {
  std::vector<std::unique_ptr<PacketSource>> sources;
  if (!c.read_files.empty()) {
    PcapFileOptions options;
    options.paths = c.read_files;
    options.pace = c.replay_paced;
    SYNMAP_ASSIGN_OR_RETURN(auto source, PcapFileSource::Open(options, clock));
    sources.push_back(std::move(source));
    return sources;
  }
  for (const std::string& iface : c.interfaces) {
    PcapLiveOptions options;
    options.interface = iface;
    options.snaplen_bytes = static_cast<int>(c.snaplen_bytes);
    options.buffer_size_bytes = static_cast<int>(c.buffer_size_bytes);
    options.promiscuous = c.promiscuous;
    options.decapsulate = c.decapsulate;
    SYNMAP_ASSIGN_OR_RETURN(auto source, PcapLiveSource::Open(options));
    const char* link_name = pcap_datalink_val_to_name(source->link_type());
    SYNMAP_LOG(INFO) << "capture_opened interface=" << iface
                     << " link_type=" << (link_name != nullptr ? link_name : "unknown")
                     << " filtered=" << !source->filter().empty();
    sources.push_back(std::move(source));
  }
  return sources;
}

// Switches user and drops every capability once the captures are open (see privileges.h).
absl::Status GiveUpPrivileges(const SensorConfig& c) {
  SYNMAP_ASSIGN_OR_RETURN(PrivilegeResult result, DropPrivileges(PrivilegeOptions{
                                                      .user = c.user, .spool_dir = c.spool_dir}));
  if (!result.stayed_root_because.empty()) {
    SYNMAP_LOG(WARNING) << "running_as_root_without_capabilities reason=\""
                        << result.stayed_root_because
                        << "\" fix=\"chown the spool to that user, or pass --user NAME\"";
  }
  SYNMAP_LOG(INFO) << "privileges_dropped user="
                   << (result.user.empty() ? "(unchanged)" : result.user) << " uid=" << getuid()
                   << " gid=" << getgid() << " capabilities=none";
  return absl::OkStatus();
}

// Whether this process (after dropping privileges) can re-read the TLS files and replace the
// certificate: then renewed certificates are picked up without a restart. Logs why not.
bool CertificateFilesWritable(const common::TlsFiles& tls) {
  const std::string dir = std::filesystem::path(tls.cert_path).parent_path().string();
  if (access(tls.key_path.c_str(), R_OK) == 0 && access(tls.ca_path.c_str(), R_OK) == 0 &&
      access(tls.cert_path.c_str(), R_OK | W_OK) == 0 &&
      access(dir.empty() ? "." : dir.c_str(), W_OK) == 0) {
    return true;
  }
  SYNMAP_LOG(WARNING) << "certificate_renewal_off cert=" << tls.cert_path << " uid=" << getuid()
                      << " reason=\"the TLS files or the certificate's directory are not "
                         "readable and writable by this user; chown them to the sensor's --user "
                         "to renew and reload certificates without a restart\"";
  return false;
}

absl::StatusOr<std::unique_ptr<Uplink>> MakeUplink(
    const SensorConfig& c, const common::TlsMaterial& material,
    const std::vector<std::unique_ptr<PacketSource>>& sources, Clock& clock, bool reload_tls) {
  UplinkOptions options;
  options.collectors = c.collectors;
  options.credentials = reload_tls ? common::MakeReloadingClientCredentials(c.tls)
                                   : common::MakeClientCredentials(material);
  options.tls_server_name = c.tls_server_name;
  // gRPC only says "Socket closed" when the collector refuses our certificate: ask in words,
  // so the uplink can say why once and retry slowly instead of at network speed.
  options.explain_refusal = [material, &clock](const std::string& target) {
    return common::ExplainTlsRefusal(target, material, "sensor", absl::Seconds(5), clock.Now());
  };
  options.spool_dir = c.spool_dir;
  options.spool_max_bytes = static_cast<uint64_t>(c.spool_max_bytes);
  options.flush_interval = c.flush_interval;
  options.software_version = kVersion;
  options.site = c.site;
  for (const auto& source : sources) {
    options.interfaces.push_back(source->name());
    if (options.filter.empty()) {
      options.filter = source->filter();
    }
  }
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<Uplink> uplink,
                          Uplink::Create(std::move(options), clock));
  SYNMAP_RETURN_IF_ERROR(uplink->Start());
  return uplink;
}

// Waits for SIGTERM/SIGINT (stop) and SIGHUP (reopen the log) on its own thread; the
// signals are blocked everywhere else. A second stop signal also abandons the final drain.
class SignalThread {
 public:
  SignalThread(Pipeline& pipeline, Uplink& uplink, std::string log_file)
      : pipeline_(pipeline), uplink_(uplink), log_file_(std::move(log_file)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~SignalThread() {
    // Wake sigwait with a signal it treats as "exit thread".
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }
  bool stop_requested() const { return stop_requested_.HasBeenNotified(); }

 private:
  void Run() {
    sigset_t set = HandledSignals();
    while (true) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0 || sig == SIGUSR1) {
        return;
      }
      if (sig == SIGHUP) {
        const bool ok = log::SetLogFile(log_file_);
        SYNMAP_LOG(INFO) << "log_reopened ok=" << ok;
        continue;
      }
      SYNMAP_LOG(INFO) << "stop_requested signal=" << sig;
      if (stop_requested_.HasBeenNotified()) {
        uplink_.Stop();  // Second signal: stop waiting for acks.
        continue;
      }
      stop_requested_.Notify();
      pipeline_.Interrupt();
    }
  }

 public:
  static sigset_t HandledSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) {
      sigaddset(&set, sig);
    }
    return set;
  }

 private:
  Pipeline& pipeline_;
  Uplink& uplink_;
  const std::string log_file_;
  absl::Notification stop_requested_;
  std::thread thread_;
};

// The process's CPU time and peak memory, for the exit log line.
std::string ResourceUsage() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return absl::StrCat(tv.tv_sec, ".", absl::Dec(tv.tv_usec / 1000, absl::kZeroPad3));
  };
  return absl::StrCat("cpu_user_s=", seconds(usage.ru_utime),
                      " cpu_sys_s=", seconds(usage.ru_stime), " max_rss_kb=", usage.ru_maxrss);
}

// The uplink's batch totals as log fields, shared by sensor_stats and sensor_exit (the fault
// tests read sent/acked/duplicates from them).
std::string UplinkTotals(const UplinkStats& u) {
  return absl::StrCat("sent=", u.batches_sent, " acked=", u.batches_acked,
                      " duplicates=", u.duplicates, " reconnects=", u.reconnects,
                      " spool_batches=", u.spool_batches,
                      " lost_write_failed=", u.batches_lost_write_failed,
                      " dropped=", u.batches_dropped, " quarantined=", u.batches_quarantined);
}

void LogRunningStats(const Pipeline& pipeline, const Uplink& uplink) {
  const PipelineStats p = pipeline.stats();
  const UplinkStats u = uplink.stats();
  SYNMAP_LOG(INFO) << "sensor_stats packets=" << p.capture.packets_received
                   << " synacks=" << p.capture.synacks << " malformed=" << p.capture.malformed
                   << " kernel_drops=" << p.capture.kernel_drops
                   << " interface_drops=" << p.capture.interface_drops
                   << " batches=" << p.batches_submitted << " " << UplinkTotals(u)
                   << " connected=" << u.connected
                   << (u.identity_refused.empty()
                           ? ""
                           : absl::StrCat(" identity_refused=\"", u.identity_refused, "\""));
}

absl::StatusOr<common::TlsMaterial> LoadTls(const SensorConfig& c, Clock& clock) {
  SYNMAP_ASSIGN_OR_RETURN(common::TlsMaterial material, common::LoadTlsMaterial(c.tls));
  SYNMAP_RETURN_IF_ERROR(
      common::CheckCertificateValidity("sensor certificate", material.cert_pem, clock.Now()));
  return material;
}

absl::StatusOr<std::unique_ptr<Pipeline>> StartPipeline(
    const SensorConfig& c, std::vector<std::unique_ptr<PacketSource>> sources, Clock& clock,
    Uplink& uplink) {
  PipelineOptions options;
  options.flush_interval = c.flush_interval;
  options.max_keys = static_cast<size_t>(c.max_keys);
  options.close_delay = std::min(absl::Seconds(1), c.flush_interval);
  options.decode.decapsulate = c.decapsulate;
  options.handshake_fingerprints = c.fingerprints;
  SYNMAP_ASSIGN_OR_RETURN(
      std::unique_ptr<Pipeline> pipeline,
      Pipeline::Create(options, std::move(sources), clock,
                       [&uplink](common::Batch batch) { return uplink.Submit(std::move(batch)); }));
  SYNMAP_RETURN_IF_ERROR(pipeline->Start());
  return pipeline;
}

// Runs until the files are replayed, every live capture failed, or a stop signal arrives;
// then flushes and waits for acks. Returns the exit code.
int RunUntilDone(const SensorConfig& c, Pipeline& pipeline, Uplink& uplink) {
  SignalThread signals(pipeline, uplink, c.log_file);
  while (!pipeline.WaitForSourcesDone(kStatsLogInterval)) {
    LogRunningStats(pipeline, uplink);
  }
  pipeline.Stop();
  const PipelineStats totals = pipeline.stats();
  const bool failed = totals.sources_failed > 0 || totals.submit_failures > 0;
  SYNMAP_LOG(INFO) << "draining timeout=" << absl::FormatDuration(c.drain_timeout);
  const absl::Status drained = uplink.Drain(c.drain_timeout);
  LogRunningStats(pipeline, uplink);
  uplink.Stop();
  if (!drained.ok()) {
    SYNMAP_LOG(ERROR) << "drain_incomplete status=" << drained << " spool_kept=" << c.spool_dir
                      << " spool_batches=" << uplink.stats().spool_batches;
    if (const std::string refused = uplink.stats().identity_refused; !refused.empty()) {
      SYNMAP_LOG(ERROR) << "uplink_certificate_refused reason=\"" << refused << "\"";
    }
    SYNMAP_LOG(INFO) << "sensor_exit drained=false " << UplinkTotals(uplink.stats()) << " "
                     << ResourceUsage();
    // A stopped live sensor keeps its spool for the next start: that is a clean exit.
    return signals.stop_requested() && c.read_files.empty() && !failed ? 0 : 1;
  }
  // "acked=all" first: scripts match that prefix; the totals' acked= follows it.
  SYNMAP_LOG(INFO) << "sensor_exit acked=all drained=true " << UplinkTotals(uplink.stats()) << " "
                   << ResourceUsage();
  return failed ? 1 : 0;
}

// Opens everything in the order privileges require (TLS keys and captures as root, then
// drop root, then the spool as the service user), then runs.
int Run(const SensorConfig& c) {
  Clock& clock = RealClock::Get();
  absl::StatusOr<common::TlsMaterial> material = LoadTls(c, clock);
  if (!material.ok()) {
    SYNMAP_LOG(ERROR) << "tls_failed status=" << material.status();
    return 1;
  }
  absl::StatusOr<std::vector<std::unique_ptr<PacketSource>>> sources = OpenSources(c, clock);
  if (!sources.ok()) {
    SYNMAP_LOG(ERROR) << "capture_open_failed status=" << sources.status();
    return 1;
  }
  // Bound before privileges go (a port below 1024 works as root), served once the pipeline
  // and uplink it reads exist, stopped before they go away.
  common::MetricsRegistry metrics_registry;
  std::unique_ptr<common::MetricsEndpoint> metrics;
  if (!c.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<common::MetricsEndpoint>> bound =
        common::MetricsEndpoint::Bind(c.metrics_listen, metrics_registry);
    if (!bound.ok()) {
      SYNMAP_LOG(ERROR) << "metrics_listen_failed status=" << bound.status();
      return 1;
    }
    metrics = *std::move(bound);
  }
  if (absl::Status dropped = GiveUpPrivileges(c); !dropped.ok()) {
    SYNMAP_LOG(ERROR) << "privilege_drop_failed status=" << dropped;
    return 1;
  }
  const bool reload_tls = CertificateFilesWritable(c.tls);
  absl::StatusOr<std::unique_ptr<Uplink>> uplink =
      MakeUplink(c, *material, *sources, clock, reload_tls);
  // Renews the certificate two thirds into its life over the uplink's identity, asking the
  // collectors in --collector order until one answers; the uplink's credentials pick the new
  // file up. Stopped (joined) when Run returns.
  std::unique_ptr<common::CertificateRenewer> renewer;
  if (uplink.ok() && !c.collectors.empty() && reload_tls) {
    common::RenewalOptions renewal;
    renewal.collectors = c.collectors;
    renewal.files = c.tls;
    renewal.channel.target_name_override = c.tls_server_name;
    renewer = std::make_unique<common::CertificateRenewer>(std::move(renewal), clock);
    if (absl::Status started = renewer->Start(); !started.ok()) {
      SYNMAP_LOG(ERROR) << "certificate_renewer_failed status=" << started;
      return 1;
    }
  }
  if (!uplink.ok()) {
    SYNMAP_LOG(ERROR) << "uplink_failed status=" << uplink.status();
    return 1;
  }
  absl::StatusOr<std::unique_ptr<Pipeline>> pipeline =
      StartPipeline(c, *std::move(sources), clock, **uplink);
  if (!pipeline.ok()) {
    SYNMAP_LOG(ERROR) << "pipeline_failed status=" << pipeline.status();
    return 1;
  }
  if (metrics != nullptr) {
    AddSensorMetrics(**pipeline, **uplink, material->cert_pem, kVersion, metrics_registry);
    if (absl::Status started = metrics->Start(); !started.ok()) {
      SYNMAP_LOG(ERROR) << "metrics_start_failed status=" << started;
      return 1;
    }
  }
  const int exit_code = RunUntilDone(c, **pipeline, **uplink);
  if (metrics != nullptr) {
    metrics->Stop();  // Its families read the pipeline and the uplink, destroyed next.
  }
  return exit_code;
}

int Main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "enroll") {
    return common::EnrollMain("synmap-sensor", common::kRoleSensor,
                              std::vector<std::string>(argv + 2, argv + argc), Specs());
  }
  const std::vector<std::string> args = ExpandShortFlags(argc, argv);
  absl::StatusOr<common::OptionMap> flags = common::ParseFlags(args, Specs(), nullptr);
  if (!flags.ok()) {
    std::cerr << "synmap-sensor: " << flags.status().message() << "\n";
    return kExitUsage;
  }
  if (flags->count("help") != 0) {
    PrintUsage();
    return 0;
  }
  if (flags->count("version") != 0) {
    std::cout << "synmap-sensor " << kVersion << "\n";
    return 0;
  }
  common::OptionMap options = *flags;
  if (auto it = flags->find("config"); it != flags->end()) {
    absl::StatusOr<common::OptionMap> file =
        common::LoadYamlOptions(it->second.values.back(), Specs());
    if (!file.ok()) {
      std::cerr << "synmap-sensor: " << file.status().message() << "\n";
      return kExitUsage;
    }
    options = common::MergeOptions(*std::move(file), *flags);
  }
  absl::StatusOr<SensorConfig> config = BuildConfig(options);
  if (!config.ok()) {
    std::cerr << "synmap-sensor: " << config.status().message() << "\n";
    return kExitUsage;
  }
  if (!config->log_file.empty() && !log::SetLogFile(config->log_file)) {
    std::cerr << "synmap-sensor: cannot open --log-file " << config->log_file << "\n";
    return kExitUsage;
  }
  // Block the handled signals before any thread starts, so only SignalThread sees them.
  const sigset_t handled = SignalThread::HandledSignals();
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  SYNMAP_LOG(INFO) << "sensor_starting version=" << kVersion
                   << " interfaces=" << absl::StrJoin(config->interfaces, ",")
                   << " files=" << config->read_files.size()
                   << " collectors=" << absl::StrJoin(config->collectors, ",")
                   << " flush_interval=" << absl::FormatDuration(config->flush_interval);
  return Run(*config);
}

}  // namespace
}  // namespace synmap::sensor

int main(int argc, char** argv) { return synmap::sensor::Main(argc, argv); }
