#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/aggregate/capture_window.h"
#include "common/aggregate/record.h"
#include "common/aggregate/synack_table.h"
#include "common/batch/handshake.h"
#include "common/packet/decoder.h"
#include "common/time/clock.h"
#include "sensor/capture/packet_source.h"

namespace synmap::sensor {

struct PipelineOptions {
  // Aggregation window, aligned to multiples of it since the Unix epoch, by capture time.
  // Default 10 s; at least 1 ms.
  absl::Duration flush_interval = absl::Seconds(10);
  // Key-table bound: when the open window holds this many keys it is closed early (a batch
  // ending at the last packet) and counting goes on in a fresh one; nothing is dropped.
  // Default 200,000 (the collector's records-per-batch limit); 1..200,000.
  size_t max_keys = 200'000;
  // Live sources only: a window is closed by wall clock (the injected Clock) this long after
  // its end even if no packet arrives, leaving time for packets still in the kernel buffer.
  // Default 1 s; 0 .. flush_interval.
  absl::Duration close_delay = absl::Seconds(1);
  // The shared SynAckTable's options (retransmission window, handshake memory bound).
  common::SynAckTableOptions table;
  // How packets are decoded: by default tunnels are entered and the inner SYN/ACK counted.
  common::DecodeOptions decode;
  // Send a fingerprint of each connection's handshake with the batch (common/batch/
  // handshake.h), so the collector counts a handshake several sensors saw once. Default on;
  // off saves about 6 bytes per connection and the collector counts this sensor's records
  // as they are.
  bool handshake_fingerprints = true;

  // InvalidArgument naming the first bad field.
  [[nodiscard]] absl::Status Validate() const;
};

// Totals since Start(). Plain data.
struct PipelineStats {
  common::CaptureStats capture;    // Summed over every batch closed so far.
  common::DecodeStats decode;      // Every packet's decode result.
  uint64_t batches_closed = 0;     // Windows closed (empty ones included).
  uint64_t batches_submitted = 0;  // Batches the sink accepted.
  uint64_t submit_failures = 0;    // Batches the sink refused (lost: it logs why).
  uint64_t early_closes = 0;       // Windows closed early at max_keys.
  uint64_t sources_failed = 0;     // Sources that ended with an error.
};

// Takes each closed window's batch; called from the pipeline's delivery thread, one batch at
// a time in window order. An error is logged and counted; the batch is not retried.
using BatchSink = std::function<absl::Status(common::Batch)>;

// Capture -> decode -> count -> flush. One capture thread per source decodes packets and
// counts SYN/ACKs in one SynAckTable shared under one mutex (the kernel filter lets mostly
// SYN/ACKs through, so the lock is cheap), so the same handshake seen on two interfaces is one
// connection. Windows follow capture time; with live sources a quiet window is also closed
// by wall clock (each source's read timeout wakes its thread to check). A closed window
// becomes a Batch (records + CaptureStats, including each source's drop-counter deltas)
// queued to one delivery thread that hands it to the sink, so slow sinks never hold the lock.
// Windows with no packet, no record and no drop make no batch.
// Thread-safe. Owns the sources; borrows `clock`, which must outlive it.
class Pipeline {
 public:
  // InvalidArgument for bad options, no source, a null source or an empty sink.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Pipeline>> Create(
      const PipelineOptions& options, std::vector<std::unique_ptr<PacketSource>> sources,
      Clock& clock, BatchSink sink);
  ~Pipeline();  // Calls Stop().
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Starts the capture and delivery threads. FailedPrecondition if called twice or after Stop().
  [[nodiscard]] absl::Status Start();

  // Waits until every source has ended (files at their end; live sources only by failing or
  // by Stop()) or `timeout` passes; true if they all ended.
  bool WaitForSourcesDone(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  // Asks every source to end (Break(): live ones first deliver what the kernel already holds),
  // so WaitForSourcesDone() returns soon; call Stop() afterwards to flush. Thread-safe (e.g.
  // from a signal-handling thread).
  void Interrupt();

  // Breaks every source (as Interrupt()), joins the capture threads once they have drained, closes
  // the open window, hands every remaining batch to the sink and joins the delivery thread.
  // Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  PipelineStats stats() const ABSL_LOCKS_EXCLUDED(mu_);

  // stats().capture without taking the lock the capture threads count under: totals
  // republished (relaxed atomics) each time a window closes, for metrics scrapes. Each field
  // is the total of the windows closed so far; the fields are not read as one snapshot.
  common::CaptureStats capture_totals() const;

 private:
  Pipeline(const PipelineOptions& options, std::vector<std::unique_ptr<PacketSource>> sources,
           Clock& clock, BatchSink sink);

  void CaptureLoop(size_t index) ABSL_LOCKS_EXCLUDED(mu_);
  void HandlePacket(const CapturedPacket& packet) ABSL_LOCKS_EXCLUDED(mu_);
  // Adds the drop-counter growth of source `index` since the last call to the open window.
  void CollectDrops(size_t index) ABSL_LOCKS_EXCLUDED(mu_);
  void CloseByWallClock() ABSL_LOCKS_EXCLUDED(mu_);
  // Moves the window for a packet at `timestamp_ns`, closing the open one if it ended.
  void AdvanceLocked(int64_t timestamp_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues the counts since the last close as a batch [cut_start_ns_, end_ns), widened to
  // cover every counted packet, and resets them.
  void CloseLocked(int64_t end_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DeliveryLoop() ABSL_LOCKS_EXCLUDED(mu_);

  const PipelineOptions options_;
  const int64_t flush_interval_ns_;
  std::vector<std::unique_ptr<PacketSource>> sources_;
  Clock& clock_;
  BatchSink sink_;
  const bool all_live_;

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  size_t sources_running_ ABSL_GUARDED_BY(mu_) = 0;
  common::SynAckTable table_ ABSL_GUARDED_BY(mu_);
  // The open window's new connections, when options_.handshake_fingerprints.
  common::HandshakeRecorder handshakes_ ABSL_GUARDED_BY(mu_);
  common::CaptureWindower windower_ ABSL_GUARDED_BY(mu_);
  // Start of the counts not yet closed: the window start, or the cut of an early close.
  int64_t cut_start_ns_ ABSL_GUARDED_BY(mu_) = 0;
  // Earliest and latest packet timestamps counted since the last close.
  std::optional<int64_t> earliest_ns_ ABSL_GUARDED_BY(mu_);
  int64_t latest_ns_ ABSL_GUARDED_BY(mu_) = 0;
  common::CaptureStats window_stats_ ABSL_GUARDED_BY(mu_);
  common::SynAckTableStats table_stats_at_close_ ABSL_GUARDED_BY(mu_);
  std::vector<DropCounters> last_drops_ ABSL_GUARDED_BY(mu_);
  std::deque<common::Batch> queue_ ABSL_GUARDED_BY(mu_);
  bool delivery_done_ ABSL_GUARDED_BY(mu_) = false;  // Set once no batch can be queued.
  PipelineStats stats_ ABSL_GUARDED_BY(mu_);
  // stats_.capture, copied at each close for capture_totals(). Relaxed: statistics only.
  struct PublishedCapture {
    std::atomic<uint64_t> packets_received{0};
    std::atomic<uint64_t> kernel_drops{0};
    std::atomic<uint64_t> interface_drops{0};
    std::atomic<uint64_t> synacks{0};
    std::atomic<uint64_t> malformed{0};
  };
  PublishedCapture published_capture_;

  std::vector<std::thread> capture_threads_;
  std::thread delivery_thread_;
};

}  // namespace synmap::sensor
