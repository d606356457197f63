#pragma once

// The sensor's durable spool and uplink to the collector(s).
//
// Submit() writes each closed batch to the spool directory (temp file + fsync + rename +
// fsync dir) and returns; that is the durability point. One uplink thread owns the gRPC
// Ingest.Stream (mTLS), the spool index and the send window: it connects, says Hello, drops
// what HelloAck says is committed, resends the spool in seq order with at most max_in_flight
// unacked batches, deletes a spool file when its Ack arrives, heartbeats when quiet, and on
// failure backs off (exponential, full jitter) and fails over round-robin to the next collector.
// Past spool_max_bytes it merges batches never sent since the last HelloAck (so nothing that
// may already be committed is counted twice), then drops the oldest and counts what it lost.
// A spool whose seq counter started fresh (spool directory lost) never deletes its batches on
// the first HelloAck: if the collector's history reaches them, they are renumbered above it.

#include <grpcpp/security/credentials.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/aggregate/record.h"
#include "common/time/clock.h"
#include "synmap/v1/ingest.grpc.pb.h"

namespace synmap::sensor {

struct UplinkOptions {
  // Collector addresses "HOST:PORT", tried in order, round-robin on failure. Required.
  std::vector<std::string> collectors;
  // Client channel credentials (mTLS with the sensor certificate), built by common/tls.
  // Required (never insecure) unless stub_factory is set.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Makes the Ingest stub for one attempt to `target`, on the uplink thread. Empty (the
  // binaries): a mutual-TLS channel to `target` with `credentials` and tls_server_name, one
  // private subchannel per attempt. Tests set it to reach a collector without a network
  // (tests/testing/fake_collector.h serves one in-process).
  std::function<std::unique_ptr<v1::Ingest::StubInterface>(const std::string& target)> stub_factory;
  // If non-empty, the name checked against the collector's certificate instead of the host
  // part of the address (GRPC_SSL_TARGET_NAME_OVERRIDE_ARG). Empty by default.
  std::string tls_server_name;

  // Spool directory; created if missing. Holds batch-<seq>.spool, seq, quarantine/. Required.
  std::string spool_dir;
  // Merge unsent batches, then drop the oldest, past this many spool bytes. Default 1 GiB.
  uint64_t spool_max_bytes = 1ull << 30;

  // Batches sent and not yet acked on one stream. Default 8.
  size_t max_in_flight = 8;
  // A Heartbeat is sent when nothing was sent for this long. Default 30 s.
  absl::Duration heartbeat_interval = absl::Seconds(30);
  // Reconnect delay: uniform in [0, min(max_backoff, initial_backoff * 2^failures)].
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(30);
  // Says why the collector at `target` refuses this sensor's certificate, in words, or ""
  // when it does not. Asked on the uplink thread after an attempt failed UNAVAILABLE before
  // any HelloAck (gRPC cannot tell a refused certificate from a broken path); it may make a
  // TLS connection of its own (common/tls ExplainTlsRefusal). Empty: never asked.
  std::function<std::string(const std::string& target)> explain_refusal;
  // Reconnect delay once this sensor's identity is refused (explain_refusal named a reason, or
  // the collector answered PERMISSION_DENIED or UNAUTHENTICATED): uniform in [ceiling / 2,
  // ceiling], the ceiling starting at 2 * max_backoff and doubling up to this. A refused
  // certificate does not cure itself, so retrying at network speed would only flood both
  // logs; a network error still retries at the normal pace. Default 10 min.
  absl::Duration max_refused_backoff = absl::Minutes(10);
  // Connect + Hello -> HelloAck must complete within this. Default 10 s.
  absl::Duration connect_timeout = absl::Seconds(10);
  // The oldest unacked batch must be acked within this, else the stream is cancelled and
  // retried (guards against a stalled collector). Default 60 s.
  absl::Duration ack_timeout = absl::Seconds(60);
  // Source of uniform doubles in [0, 1) for backoff jitter; empty = seeded from the OS.
  std::function<double()> jitter_source;

  // Reported in Hello (informational).
  std::vector<std::string> interfaces;  // Interface names or "file:NAME".
  std::string filter;                   // BPF filter in use.
  absl::Duration flush_interval = absl::Seconds(10);
  std::string software_version = "0.1.0";
  std::string boot_id;  // Empty = random 128-bit hex chosen by Create().
  std::string site;     // The site the sensor claims (--site); empty = none.

  // InvalidArgument naming the first bad field.
  [[nodiscard]] absl::Status Validate() const;
};

// Counters since Create() (spool_* describe the spool now). Plain data.
struct UplinkStats {
  uint64_t batches_spooled = 0;      // Submit() calls that spooled a batch.
  uint64_t batches_sent = 0;         // Batch messages written to a stream (resends included).
  uint64_t batches_acked = 0;        // Spool files deleted as committed (acked).
  uint64_t duplicates = 0;           // Of those, acks with duplicate = true.
  uint64_t batches_renumbered = 0;   // Files given a new seq after a CONFLICT ack.
  uint64_t batches_merged = 0;       // Spool files eliminated by merging (n parts -> n-1).
  uint64_t batches_dropped = 0;      // Original batches lost to the cap (merged_from counted).
  uint64_t records_dropped = 0;      // Records in the dropped spool files.
  uint64_t batches_quarantined = 0;  // Spool files found corrupt or refused by a collector.
  uint64_t batches_lost_write_failed = 0;  // Submit() refused: not spooled, lost (disk full).
  uint64_t records_lost_write_failed = 0;  // Records in those batches.
  uint64_t reconnects = 0;                 // Stream attempts after the first.
  uint64_t spool_batches = 0;              // Spool files not yet acked.
  uint64_t spool_bytes = 0;                // Their total size.
  std::string current_collector;           // Address of the current / last attempted collector.
  bool connected = false;                  // A HelloAck was received on the current stream.
  // Why a collector last refused this sensor's identity (its certificate or role), in words;
  // "" when none did since the last HelloAck.
  std::string identity_refused;
  uint64_t identity_refusals = 0;  // Attempts refused for the sensor's identity.
  absl::Duration retry_delay;      // Delay chosen after the last failed attempt.

  friend bool operator==(const UplinkStats&, const UplinkStats&) = default;
};

// Thread-safe. Borrows `clock` (timestamps and timers), which must outlive the Uplink.
class Uplink {
 public:
  // Validates `options`, creates the spool directory, recovers the spool (quarantining
  // corrupt files) and the seq counter. InvalidArgument for bad options; the errno-derived
  // code (e.g. PermissionDenied) if the spool directory cannot be used.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Uplink>> Create(UplinkOptions options,
                                                                      Clock& clock);
  ~Uplink();  // Calls Stop().
  Uplink(const Uplink&) = delete;
  Uplink& operator=(const Uplink&) = delete;

  // Starts the uplink thread. FailedPrecondition if called twice or after Stop().
  [[nodiscard]] absl::Status Start();

  // Assigns the next seq, writes the batch durably to the spool and queues it for sending;
  // never waits on the network. Thread-safe. FailedPrecondition before Start(), Cancelled
  // after Stop(), ResourceExhausted if the batch alone exceeds spool_max_bytes, or the
  // errno-derived status if the spool write fails (nothing is spooled then).
  [[nodiscard]] absl::Status Submit(common::Batch batch);

  // Waits until every spooled batch is acked (the spool is empty). OK then; DeadlineExceeded
  // after `timeout`; FailedPrecondition before Start(); Cancelled if stopped (before or
  // while waiting) with batches still spooled.
  [[nodiscard]] absl::Status Drain(absl::Duration timeout);

  // Cancels the stream, joins the uplink thread. Idempotent and thread-safe: every caller
  // returns once the thread has ended. Spooled batches stay on disk.
  void Stop();

  UplinkStats stats() const;

  // Waits until `pred(stats())` holds; false if `timeout` passes first. `pred` runs under
  // the uplink's lock: it must be quick and must not call back into the Uplink. For tests
  // and diagnostics (e.g. "wait until connected").
  bool AwaitStats(const std::function<bool(const UplinkStats&)>& pred,
                  absl::Duration timeout) const;

 private:
  class Impl;
  explicit Uplink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace synmap::sensor
