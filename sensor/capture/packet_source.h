#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace synmap::sensor {

// One captured frame as a source hands it over. `data` points into the source's buffer and
// is valid only during the handler call that receives it. Plain data.
struct CapturedPacket {
  int link_type = 0;         // DLT_ number (per packet: a pcapng file may mix link types).
  int64_t timestamp_ns = 0;  // Capture time, Unix nanoseconds.
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;       // Bytes at `data`.
  uint32_t wire_length = 0;  // Length on the wire.
};

// Cumulative loss counters of a source since it was opened (not deltas). Plain data.
struct DropCounters {
  uint64_t kernel_drops = 0;     // libpcap ps_drop: the capture buffer was full.
  uint64_t interface_drops = 0;  // libpcap ps_ifdrop: dropped by the interface or driver.
  friend bool operator==(const DropCounters&, const DropCounters&) = default;
};

// Where packets come from: a live interface, capture files, or a test fake. The pipeline's
// test seam. Thread-compatible, except Break(), which any thread may call.
class PacketSource {
 public:
  using PacketHandler = absl::FunctionRef<void(const CapturedPacket&)>;

  virtual ~PacketSource() = default;

  // "eth0", or "file:NAME" for replayed captures. Stable for the source's life.
  virtual const std::string& name() const = 0;

  // True for a live interface: time passes while it is quiet, so the pipeline also closes
  // windows by wall clock. False for files, whose time is only their packets' timestamps.
  virtual bool is_live() const = 0;

  // The BPF filter expression installed in the kernel, or "" when none.
  virtual const std::string& filter() const = 0;

  // Calls `handler` for the packets available now (a burst, bounded by the source) and
  // returns how many. 0 means a read timeout passed with no packet: the caller gets a
  // chance to do periodic work. OutOfRange at the end of a finite source; Cancelled once
  // Break() was called; any other error means the source failed (Unavailable: interface
  // down; DataLoss: corrupt file) and will deliver no more packets.
  [[nodiscard]] virtual absl::StatusOr<size_t> Dispatch(PacketHandler handler) = 0;

  // Cumulative loss counters. Call from the thread that calls Dispatch().
  [[nodiscard]] virtual absl::StatusOr<DropCounters> Drops() = 0;

  // Asks the source to end. A live source first delivers what the kernel has already
  // captured (a few more Dispatch() calls at most, each bounded by its read timeout), so a
  // stop loses nothing that reached the capture buffer; then, like a file source at once,
  // Dispatch() returns Cancelled. Thread-safe, idempotent, permanent.
  virtual void Break() = 0;
};

}  // namespace synmap::sensor
