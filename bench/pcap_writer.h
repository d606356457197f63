#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace synmap::bench {

// Writes Ethernet frames to a pcap file with libpcap (pcap_open_dead + pcap_dump_fopen),
// microsecond or nanosecond precision, through a large stdio buffer. Owns the file.
// Thread-compatible.
class PcapWriter {
 public:
  // Errno-derived status naming `path` if it cannot be created.
  static absl::StatusOr<std::unique_ptr<PcapWriter>> Open(const std::string& path, bool nanosecond);

  // Appends one frame captured at `time_ns` (Unix ns; truncated to microseconds unless the file
  // is nanosecond). Errors surface at Close().
  void Write(int64_t time_ns, absl::Span<const uint8_t> frame);

  // Flushes and closes; errno-derived status naming the file if any write failed.
  [[nodiscard]] absl::Status Close();

 private:
  struct PcapCloser {
    void operator()(pcap_t* p) const { pcap_close(p); }
  };
  struct DumperCloser {
    void operator()(pcap_dumper_t* d) const { pcap_dump_close(d); }
  };

  explicit PcapWriter(bool nanosecond) : buffer_(4 << 20), nanosecond_(nanosecond) {}

  std::vector<char> buffer_;  // The stdio buffer: declared first so it outlives the FILE.
  std::unique_ptr<pcap_t, PcapCloser> pcap_;
  std::unique_ptr<pcap_dumper_t, DumperCloser> dumper_;
  bool nanosecond_;
  std::string path_;
};

}  // namespace synmap::bench
