#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "common/pcapfile/packet_reader.h"
#include "common/time/clock.h"
#include "sensor/capture/packet_source.h"

namespace synmap::sensor {

struct PcapFileOptions {
  // Capture files (classic pcap or pcapng; "-" = standard input), read one after another.
  // At least one.
  std::vector<std::string> paths;
  // When true, packets are delivered at the pace they were captured (the gap between two
  // packets' timestamps is waited out on the clock); when false, as fast as possible.
  bool pace = false;
  // Packets per Dispatch() call when not pacing. Default 1024; at least 1.
  size_t burst_packets = 1024;

  // InvalidArgument naming the first bad field.
  [[nodiscard]] absl::Status Validate() const;
};

// Replays capture files through the same path as live capture; time is the packets'
// timestamps. Owns its readers; borrows `clock` (only used when pacing), which must outlive
// it. Thread-compatible (one capture thread), except Break(), which is thread-safe.
class PcapFileSource final : public PacketSource {
 public:
  // Opens the first file (so a missing or unreadable first file fails here; later files fail
  // in Dispatch()). Errors as common::PacketReader::Open, naming the file.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PcapFileSource>> Open(
      const PcapFileOptions& options, Clock& clock);
  ~PcapFileSource() override = default;
  PcapFileSource(const PcapFileSource&) = delete;
  PcapFileSource& operator=(const PcapFileSource&) = delete;

  // "file:" and the files' base names joined by ",".
  const std::string& name() const override { return name_; }
  bool is_live() const override { return false; }
  const std::string& filter() const override { return filter_; }

  // OutOfRange after the last packet of the last file; the reader's DataLoss or
  // InvalidArgument (naming file, packet number and offset) when a file is corrupt, after
  // every good packet before the damage was delivered.
  [[nodiscard]] absl::StatusOr<size_t> Dispatch(PacketHandler handler) override;
  // Always zero: files have no capture loss to report.
  [[nodiscard]] absl::StatusOr<DropCounters> Drops() override { return DropCounters{}; }
  void Break() override;

 private:
  PcapFileSource(PcapFileOptions options, Clock& clock, std::string name,
                 std::unique_ptr<common::PacketReader> reader);
  // Waits until `packet_ns` is due at capture pace; false if Break() came first.
  bool WaitUntilDue(int64_t packet_ns);

  PcapFileOptions options_;
  Clock& clock_;
  std::string name_;
  std::string filter_;  // Always empty: the decoder sees every packet.
  size_t next_path_ = 1;
  std::unique_ptr<common::PacketReader> reader_;
  // Pacing origin: the first packet's timestamp and the clock time it was delivered.
  bool paced_origin_set_ = false;
  int64_t first_packet_ns_ = 0;
  absl::Time first_packet_at_;
  std::atomic<bool> broken_{false};
  absl::Notification break_notification_;
};

}  // namespace synmap::sensor
