#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench/site_model.h"

namespace synmap::bench {

// What to generate. Plain data; the defaults make a small mixed capture of one site.
struct GenOptions {
  uint64_t packets = 100'000;  // Frames to write, > 0.
  double synack_share = 0.04;  // Share of frames that are SYN/ACKs, 0..1.
  uint64_t seed = 1;           // Seeds the traffic (same seed => same bytes).
  SiteOptions site;            // Hosts and networks; site.site_seed seeds them.
  int64_t start_unix_ns = 1'767'225'600'000'000'000;  // First frame near 2026-01-01T00:00Z.
  absl::Duration duration = absl::Hours(1);  // Mean span of the capture (Poisson arrivals), > 0.
  double ipv6_share = 0.15;                  // Share of connections and other IP traffic over IPv6
                                             // (0 when the site has no IPv6 network).
  double vlan_share = 0.2;                   // Share of frames with a VLAN tag.
  double qinq_share = 0.25;                  // Of tagged frames, share with 802.1ad + 802.1Q tags.
  double retrans_share = 0.03;               // Share of connections whose SYN/ACK is sent again.
  double late_resend_share = 0.2;            // Of those, share re-sent once 61..90 s later (a new
                                             // connection by the 60 s rule) instead of 1-3 times
                                             // 1, 3 and 7 s later (retransmissions).
  bool nanosecond = false;                   // Nanosecond pcap; else microsecond (times truncated).
  std::string out_path;                      // The pcap file to write; required.
  std::string truth_path;                    // Truth TSV to write beside it; "" = none.
  std::string names_path;                    // Names file (YAML) of the site; "" = none.

  // InvalidArgument naming the bad field.
  [[nodiscard]] absl::Status Validate() const;
};

// What was written.
struct GenStats {
  uint64_t packets = 0;
  uint64_t bytes = 0;        // Frame bytes (excluding pcap record headers).
  uint64_t synacks = 0;      // SYN/ACK frames, retransmissions included.
  uint64_t connections = 0;  // Per the truth's 60 s rule.
  uint64_t keys = 0;         // Distinct (client, server, server port).
  uint64_t ipv6_frames = 0;
  uint64_t vlan_frames = 0;  // Frames with at least one tag.
  uint64_t qinq_frames = 0;  // Frames with two tags.
  int64_t first_ns = 0;
  int64_t last_ns = 0;
};

// Writes the capture (Ethernet link type) and, if asked, the truth TSV and the names file.
// Deterministic: the same options give byte-identical files. Memory is bounded by the site
// size and the handshakes of the last 90 s, not by `packets`. InvalidArgument for bad options;
// errno-derived codes (NotFound, PermissionDenied, ...) naming the file when writing fails.
[[nodiscard]] absl::StatusOr<GenStats> GenerateCapture(const GenOptions& options);

// Sets the fields of a benchmark preset in `options`: "mixed" (10M frames, 4% SYN/ACKs, one
// hour), "synack" (1M frames, all SYN/ACKs), or their high-cardinality variants "hicard" and
// "hicard-synack" (1,000 internal hosts in 198.18.0.0/16, a million remote hosts of flat
// popularity, 30% IPv6: hundreds of thousands of keys). InvalidArgument for any other name.
[[nodiscard]] absl::Status ApplyPreset(absl::string_view name, GenOptions& options);

}  // namespace synmap::bench
