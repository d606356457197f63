#include "bench/capture_gen.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "bench/pcap_writer.h"
#include "bench/traffic_generator.h"
#include "bench/truth_table.h"
#include "common/status/status_macros.h"

namespace synmap::bench {
namespace {

absl::Status CheckShare(absl::string_view name, double share) {
  if (!(share >= 0.0 && share <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " must be in 0..1, got ", share));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status GenOptions::Validate() const {
  if (packets == 0) {
    return absl::InvalidArgumentError("packets must be > 0");
  }
  if (duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("duration must be > 0");
  }
  if (start_unix_ns < 0) {
    return absl::InvalidArgumentError("start must not be before 1970");
  }
  SYNMAP_RETURN_IF_ERROR(CheckShare("synack share", synack_share));
  SYNMAP_RETURN_IF_ERROR(CheckShare("ipv6 share", ipv6_share));
  SYNMAP_RETURN_IF_ERROR(CheckShare("vlan share", vlan_share));
  SYNMAP_RETURN_IF_ERROR(CheckShare("qinq share", qinq_share));
  SYNMAP_RETURN_IF_ERROR(CheckShare("retrans share", retrans_share));
  SYNMAP_RETURN_IF_ERROR(CheckShare("late resend share", late_resend_share));
  if (out_path.empty()) {
    return absl::InvalidArgumentError("an output capture file is required");
  }
  return site.Validate();
}

absl::StatusOr<GenStats> GenerateCapture(const GenOptions& options) {
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  SYNMAP_ASSIGN_OR_RETURN(SiteModel model, SiteModel::Build(options.site));
  if (!options.names_path.empty()) {
    SYNMAP_RETURN_IF_ERROR(model.WriteNamesFile(options.names_path));
  }
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<PcapWriter> writer,
                          PcapWriter::Open(options.out_path, options.nanosecond));
  TrafficGenerator generator(options, model, *writer);
  generator.Run();
  SYNMAP_RETURN_IF_ERROR(writer->Close());
  if (!options.truth_path.empty()) {
    SYNMAP_RETURN_IF_ERROR(generator.truth().WriteTsv(options.truth_path));
  }
  GenStats stats = generator.stats();  // A copy, completed from the truth below.
  const TruthTotals totals = generator.truth().totals();
  stats.connections = totals.connections;
  stats.keys = totals.keys;
  return stats;
}

absl::Status ApplyPreset(absl::string_view name, GenOptions& options) {
  if (name == "mixed") {
    options.packets = 10'000'000;
    options.synack_share = 0.04;
    options.duration = absl::Hours(1);
    return absl::OkStatus();
  }
  if (name == "synack") {
    options.packets = 1'000'000;
    options.synack_share = 1.0;
    options.duration = absl::Hours(1);
    return absl::OkStatus();
  }
  if (name == "hicard" || name == "hicard-synack") {
    // Many keys: a large site, a million remote hosts with flat popularity, more IPv6.
    const bool synacks_only = name == "hicard-synack";
    options.packets = synacks_only ? 1'000'000 : 10'000'000;
    options.synack_share = synacks_only ? 1.0 : 0.04;
    options.duration = absl::Hours(1);
    options.ipv6_share = 0.3;
    options.site.internal_hosts = 1000;
    options.site.remote_hosts = 1'000'000;
    options.site.remote_exponent = 0.6;
    options.site.local_networks = {"198.18.0.0/16", "2001:db8:10::/48"};
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown preset '", name, "' (expected mixed, synack, hicard or hicard-synack)"));
}

}  // namespace synmap::bench
