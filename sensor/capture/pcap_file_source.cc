#include "sensor/capture/pcap_file_source.h"

#include <string>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"

namespace synmap::sensor {
namespace {

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

absl::Status PcapFileOptions::Validate() const {
  if (paths.empty()) {
    return absl::InvalidArgumentError("capture files: none given");
  }
  for (const std::string& path : paths) {
    if (path.empty()) {
      return absl::InvalidArgumentError("capture files: empty path");
    }
  }
  if (burst_packets == 0) {
    return absl::InvalidArgumentError("capture files: burst_packets must be at least 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PcapFileSource>> PcapFileSource::Open(const PcapFileOptions& options,
                                                                     Clock& clock) {
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<common::PacketReader> reader,
                          common::PacketReader::Open(options.paths.front()));
  std::vector<std::string> names;
  for (const std::string& path : options.paths) {
    names.push_back(BaseName(path));
  }
  std::string name = absl::StrCat("file:", absl::StrJoin(names, ","));
  return absl::WrapUnique(new PcapFileSource(options, clock, std::move(name), std::move(reader)));
}

PcapFileSource::PcapFileSource(PcapFileOptions options, Clock& clock, std::string name,
                               std::unique_ptr<common::PacketReader> reader)
    : options_(std::move(options)),
      clock_(clock),
      name_(std::move(name)),
      reader_(std::move(reader)) {}

absl::StatusOr<size_t> PcapFileSource::Dispatch(PacketHandler handler) {
  const size_t burst = options_.pace ? 1 : options_.burst_packets;
  size_t delivered = 0;
  common::PacketRef ref;
  while (delivered < burst) {
    if (broken_.load(std::memory_order_acquire)) {
      return absl::CancelledError(absl::StrCat("replay of ", name_, " stopped"));
    }
    if (!reader_->Next(&ref)) {
      if (!reader_->status().ok()) {
        return reader_->status();
      }
      if (delivered > 0) {
        return delivered;  // Report the end on the next call.
      }
      if (next_path_ >= options_.paths.size()) {
        return absl::OutOfRangeError(absl::StrCat("end of ", name_));
      }
      SYNMAP_ASSIGN_OR_RETURN(reader_, common::PacketReader::Open(options_.paths[next_path_]));
      ++next_path_;
      continue;
    }
    if (options_.pace && !WaitUntilDue(ref.timestamp_ns)) {
      return absl::CancelledError(absl::StrCat("replay of ", name_, " stopped"));
    }
    CapturedPacket packet;
    packet.link_type = ref.link_type;
    packet.timestamp_ns = ref.timestamp_ns;
    packet.data = ref.data;
    packet.caplen = ref.caplen;
    packet.wire_length = ref.wire_length;
    handler(packet);
    ++delivered;
  }
  return delivered;
}

bool PcapFileSource::WaitUntilDue(int64_t packet_ns) {
  if (!paced_origin_set_) {
    paced_origin_set_ = true;
    first_packet_ns_ = packet_ns;
    first_packet_at_ = clock_.Now();
    return true;
  }
  // A packet older than the first one (out of order) is simply due now.
  const absl::Time due =
      first_packet_at_ + absl::Nanoseconds(std::max<int64_t>(0, packet_ns - first_packet_ns_));
  const absl::Duration wait = due - clock_.Now();
  if (wait > absl::ZeroDuration()) {
    return !break_notification_.WaitForNotificationWithTimeout(wait);
  }
  return !broken_.load(std::memory_order_acquire);
}

void PcapFileSource::Break() {
  if (!broken_.exchange(true, std::memory_order_acq_rel)) {
    break_notification_.Notify();
  }
}

}  // namespace synmap::sensor
