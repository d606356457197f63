#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/reliability/hostile/peer_common.h"

namespace synmap::reliability {

// What a well-behaved stream saw. Plain data.
struct StreamReport {
  std::string sensor;  // The certificate CN (the collector's HelloAck name).
  int64_t batches_sent = 0;
  int64_t batches_acked = 0;
  int64_t records_acked = 0;   // Records of batches acked as not duplicate.
  int64_t duplicates = 0;      // Acks with duplicate = true (must stay 0 here).
  std::vector<double> ack_ms;  // Write-to-ack latency of each acked batch, in ms.
  std::string error;           // Empty when the stream ended cleanly.
};

// A well-behaved sensor stream: one batch of `records` records every `interval` for
// `duration`, one at a time (the next is sent when the previous is acked or its interval has
// passed, whichever is later), so each ack's latency is measured alone. Returns the report;
// report.error says why the stream ended early.
StreamReport RunProbe(const PeerOptions& peer, int records, absl::Duration interval,
                      absl::Duration duration);

// Options of a load run. Plain data.
struct LoadOptions {
  std::string target;
  std::string ca_path;
  std::string cert_dir;  // Holds PREFIX0.pem/.key ... PREFIX{streams-1}.pem/.key.
  std::string cert_prefix = "load-s";
  int streams = 100;
  int records_per_batch = 1000;
  int window = 4;                               // Unacked batches per stream.
  absl::Duration duration = absl::Seconds(30);  // Sending stops then; acks are awaited.
  absl::Duration drain = absl::Seconds(120);    // How long to wait for the last acks.
};

// Runs `options.streams` concurrent sensor streams (one thread each plus an ack reader),
// each sending batches as fast as its window allows until `duration` has passed, then
// waiting up to `drain` for the outstanding acks. One report per stream, in stream order.
std::vector<StreamReport> RunLoad(const LoadOptions& options);

}  // namespace synmap::reliability
