#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tests/reliability/hostile/peer_common.h"

namespace synmap::reliability {

// Opens `streams` Ingest streams with a valid sensor certificate over `channels` connections,
// completes the Hello on each, calls `on_holding(streams open)`, holds them idle for `hold`,
// then cancels them. Sets `*opened` to the streams whose Hello was acknowledged.
// Unavailable when none was.
absl::Status HoldIdleStreams(const PeerOptions& peer, int streams, int channels,
                             absl::Duration hold, const std::function<void(int)>& on_holding,
                             int* opened);

// The outcome of one hostile call. Plain data.
struct RefusalResult {
  std::string name;       // The case, e.g. "port".
  grpc::StatusCode want;  // The code the collector must answer with.
  grpc::StatusCode got;   // What it answered.
  std::string message;    // Its message.
  std::string want_text;  // Text the message must contain (e.g. "(limit port)"); may be empty.
  bool ok() const { return want == got && message.find(want_text) != std::string::npos; }
};

// Sends one Ingest message larger than 16 MiB (a batch with a 17 MiB field) after a valid
// Hello. The collector must end the stream with RESOURCE_EXHAUSTED.
RefusalResult SendOversized(const PeerOptions& peer);

// One stream per named ingest limit, each after a valid Hello, each with one batch that
// violates exactly that limit (ip_length, ip_family, port, counts, timestamps, window, future,
// seq, records_per_batch) and, last, a valid batch followed by one whose seq goes backwards.
// Each must end its stream with INVALID_ARGUMENT naming the limit ("(limit port)").
// `*acked_records` gets the records of the valid batches the collector acknowledged (the only ones
// it may store).
std::vector<RefusalResult> SendMalformedBatches(const PeerOptions& peer, int64_t* acked_records);

// Which RPC a wrong-certificate peer calls.
enum class Rpc { kIngest, kQuery };

// Calls `rpc` (Ingest.Stream with a Hello, or Query.Sensors) presenting `peer`'s certificate
// (or none when peer.cert_path is empty) and reports the code against `want`.
RefusalResult CallWithCertificate(const PeerOptions& peer, Rpc rpc, grpc::StatusCode want);

// As a holder of a sensor's key would: opens a stream with `peer`'s certificate, sends a Hello
// and one empty batch (no records, so no total changes) numbered `seq`, and reports how the
// stream ended against `want`. `*ack` gets "committed", "duplicate", "conflict" or "none".
RefusalResult ForgeBatch(const PeerOptions& peer, uint64_t seq, grpc::StatusCode want,
                         std::string* ack);

// "INVALID_ARGUMENT" etc.; "UNKNOWN(n)" for codes outside the enum.
std::string CodeName(grpc::StatusCode code);
// Inverse of CodeName; false when `name` is not a code name.
bool ParseCodeName(const std::string& name, grpc::StatusCode* code);

}  // namespace synmap::reliability
