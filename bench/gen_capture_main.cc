// synmap-gen-capture: writes a synthetic capture of a modelled site, its exact truth (TSV)
// and its names file. See bench/README.md.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/capture_gen.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace synmap::bench {
namespace {

constexpr const char kUsage[] =
    "usage: synmap-gen-capture --out FILE.pcap [--truth FILE.tsv] [--names FILE.yaml]\n"
    "  [--preset mixed|synack|hicard|hicard-synack] [--packets N] [--synack-share F]\n"
    "  [--seed S] [--site-seed S] [--remote-exponent F]\n"
    "  [--start RFC3339|UNIX_SECONDS] [--duration D (e.g. 1h, 90s)] [--ipv6-share F]\n"
    "  [--vlan-share F] [--qinq-share F] [--retrans-share F] [--late-resend-share F]\n"
    "  [--nanosecond] [--hosts N] [--remote-hosts N] [--local-net CIDR ...]\n"
    "Presets: mixed = 10M frames, 4% SYN/ACKs; synack = 1M frames, all SYN/ACKs;\n"
    "  hicard, hicard-synack = the same with 1,000 hosts, 1M remote hosts, 30% IPv6.\n"
    "Later flags override the preset, whatever their order.\n";

absl::Status ParseShare(absl::string_view flag, absl::string_view value, double& out) {
  if (!absl::SimpleAtod(value, &out)) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": not a number: '", value, "'"));
  }
  return absl::OkStatus();
}

template <typename Int>
absl::Status ParseInt(absl::string_view flag, absl::string_view value, Int& out) {
  if (!absl::SimpleAtoi(value, &out)) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": not an integer: '", value, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseStart(absl::string_view value, int64_t& out) {
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) {
    out = seconds * 1'000'000'000;
    return absl::OkStatus();
  }
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, value, &time, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--start: not RFC 3339 or Unix seconds: '", value, "'"));
  }
  out = absl::ToUnixNanos(time);
  return absl::OkStatus();
}

// Applies one "--flag value" pair to `options`.
absl::Status ApplyFlag(absl::string_view flag, absl::string_view value, GenOptions& options,
                       bool& local_nets_given) {
  if (flag == "--packets") return ParseInt(flag, value, options.packets);
  if (flag == "--seed") return ParseInt(flag, value, options.seed);
  if (flag == "--site-seed") return ParseInt(flag, value, options.site.site_seed);
  if (flag == "--hosts") return ParseInt(flag, value, options.site.internal_hosts);
  if (flag == "--remote-hosts") return ParseInt(flag, value, options.site.remote_hosts);
  if (flag == "--remote-exponent") return ParseShare(flag, value, options.site.remote_exponent);
  if (flag == "--synack-share") return ParseShare(flag, value, options.synack_share);
  if (flag == "--ipv6-share") return ParseShare(flag, value, options.ipv6_share);
  if (flag == "--vlan-share") return ParseShare(flag, value, options.vlan_share);
  if (flag == "--qinq-share") return ParseShare(flag, value, options.qinq_share);
  if (flag == "--retrans-share") return ParseShare(flag, value, options.retrans_share);
  if (flag == "--late-resend-share") return ParseShare(flag, value, options.late_resend_share);
  if (flag == "--start") return ParseStart(value, options.start_unix_ns);
  if (flag == "--out") {
    options.out_path = std::string(value);
  } else if (flag == "--truth") {
    options.truth_path = std::string(value);
  } else if (flag == "--names") {
    options.names_path = std::string(value);
  } else if (flag == "--duration") {
    if (!absl::ParseDuration(value, &options.duration)) {
      return absl::InvalidArgumentError(absl::StrCat("--duration: not a duration: '", value, "'"));
    }
  } else if (flag == "--local-net") {
    if (!local_nets_given) {
      options.site.local_networks.clear();
      local_nets_given = true;
    }
    for (absl::string_view net : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      options.site.local_networks.emplace_back(net);
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown flag ", flag));
  }
  return absl::OkStatus();
}

absl::Status ParseFlags(int argc, char** argv, GenOptions& options) {
  std::vector<std::pair<std::string, std::string>> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--nanosecond") {
      options.nanosecond = true;
      continue;
    }
    std::string value;
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
    }
    if (arg == "--preset") {
      SYNMAP_RETURN_IF_ERROR(ApplyPreset(value, options));  // Before the other flags.
    } else {
      flags.emplace_back(arg, value);
    }
  }
  bool local_nets_given = false;
  for (const auto& [flag, value] : flags) {
    SYNMAP_RETURN_IF_ERROR(ApplyFlag(flag, value, options, local_nets_given));
  }
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  GenOptions options;
  if (absl::Status status = ParseFlags(argc, argv, options); !status.ok()) {
    std::fprintf(stderr, "synmap-gen-capture: %s\n%s", std::string(status.message()).c_str(),
                 kUsage);
    return 2;
  }
  const absl::Time begin = absl::Now();
  absl::StatusOr<GenStats> stats = GenerateCapture(options);
  if (!stats.ok()) {
    SYNMAP_LOG(ERROR) << "gen_capture_failed status=" << stats.status();
    return 1;
  }
  SYNMAP_LOG(INFO) << "gen_capture_done out=" << options.out_path << " packets=" << stats->packets
                   << " frame_bytes=" << stats->bytes << " synacks=" << stats->synacks
                   << " connections=" << stats->connections << " keys=" << stats->keys
                   << " ipv6_frames=" << stats->ipv6_frames << " vlan_frames=" << stats->vlan_frames
                   << " qinq_frames=" << stats->qinq_frames
                   << " span_s=" << (stats->last_ns - stats->first_ns) / 1e9
                   << " seconds=" << absl::ToDoubleSeconds(absl::Now() - begin);
  return 0;
}

}  // namespace
}  // namespace synmap::bench

int main(int argc, char** argv) { return synmap::bench::Main(argc, argv); }
