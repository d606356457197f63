#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/pcapfile/chunk_source.h"

namespace synmap::common {
namespace internal {
class ByteStream;
}  // namespace internal

// One captured packet as a reader yields it. `data` points into the reader's buffer and is
// valid only until the reader's next Next() call or its destruction.
struct PacketRef {
  int link_type = 0;         // DLT_ number as pcap_datalink() would return it (per packet:
                             // pcapng interfaces may differ).
  int64_t timestamp_ns = 0;  // Capture time, Unix nanoseconds.
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;       // Bytes at `data`.
  uint32_t wire_length = 0;  // Length on the wire (>= caplen in sane files; not checked).
};

enum class CaptureFormat { kPcap, kPcapng };

// How classic pcap is read. pcapng and standard input always use our own parser (libpcap
// 1.10.3 refuses pcapng files whose interfaces have different link types).
enum class PcapEngine {
  kNative,   // Our parser over read() (the default: measured ~4x less CPU than libpcap's
             // loop, and it reports records with caplen > snaplen, which libpcap truncates).
  kLibpcap,  // pcap_open_offline_with_tstamp_precision(NANO) + pcap_next_ex.
};

struct PacketReaderOptions {
  PcapEngine pcap_engine = PcapEngine::kNative;
  // A record whose caplen exceeds this (or the file's snaplen, when that is non-zero) is
  // corrupt. Default 256 KiB, libpcap's largest snaplen.
  uint32_t max_caplen_bytes = 256 * 1024;
};

// Reads the packets of one classic pcap (microsecond or nanosecond, either byte order) or
// pcapng file (any number of sections and interfaces; Enhanced, Simple and obsolete Packet
// Blocks; if_tsresol and if_tsoffset), or of standard input. The format is found from the
// first four bytes. Thread-compatible; owns its file.
//
// Errors: a corrupt or truncated file stops the reader after every good packet before the
// damage was delivered; status() then names the file, the packet number and byte offset.
class PacketReader {
 public:
  // Opens `path` ("-" = standard input) and reads the file header. NotFound /
  // PermissionDenied when it cannot be opened; InvalidArgument when it is not a capture
  // file we read (unknown magic, unsupported version, reserved link-type bits); DataLoss
  // when the file header is truncated or corrupt. Messages name the file.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PacketReader>> Open(
      absl::string_view path, const PacketReaderOptions& options = {});

  ~PacketReader();
  PacketReader(const PacketReader&) = delete;
  PacketReader& operator=(const PacketReader&) = delete;

  // Fills `packet` with the next packet and returns true; returns false at the end of the
  // input or on an error (then status() is not OK and Next() keeps returning false).
  bool Next(PacketRef* packet) {
    switch (source_) {
      case Source::kNativePcap:
        return NextPcap(packet);
      case Source::kNativePcapng:
        return NextPcapng(packet);
      case Source::kLibpcap:
        return NextLibpcap(packet);
      case Source::kDone:
        break;
    }
    return false;
  }

  // OK so far / at a clean end; else DataLoss (truncated or corrupt record or block) or
  // InvalidArgument (a block we cannot interpret), naming the file, the packet number
  // (1-based: the packet that could not be read) and, where known, the byte offset.
  [[nodiscard]] const absl::Status& status() const { return status_; }

  // Lets another thread do this reader's read() calls (the kernel's copy of the file is a third
  // of reading a big capture): from now on the bytes past those already buffered come from
  // `source`, which must read them in order from the descriptor returned, and outlive the reader
  // (or its last Next()). Returns -1 and changes nothing for standard input, a pipe, or the
  // libpcap engine, which keep reading on their own. Results are the same either way.
  int HandOverReading(ChunkSource* source);
  // Reads on its own again, from the first byte it has not buffered (whatever the source read
  // past it is read again). For when the source goes before the reader does.
  void TakeBackReading();

  // Packets delivered so far.
  uint64_t packets_read() const { return packets_read_; }
  CaptureFormat format() const { return format_; }
  const std::string& path() const { return path_; }

 private:
  enum class Source { kNativePcap, kNativePcapng, kLibpcap, kDone };
  struct PcapState;    // Classic pcap header facts.
  struct PcapngState;  // Section byte order and interfaces.
  struct LibpcapState;

  PacketReader(std::string path, CaptureFormat format, Source source);
  [[nodiscard]] absl::Status OpenNative(const PacketReaderOptions& options, uint32_t magic);
  [[nodiscard]] absl::Status OpenLibpcap();
  // Reads a pcapng Section Header Block at the current position (messages without the path).
  [[nodiscard]] absl::Status ReadSectionHeader();
  // Handles one pcapng Interface Description Block body.
  [[nodiscard]] absl::Status AddInterface(const uint8_t* body, size_t body_bytes);
  bool NextPcap(PacketRef* packet);
  bool NextPcapng(PacketRef* packet);
  bool NextLibpcap(PacketRef* packet);
  // Records the first error as "<path>: packet N at byte offset O: what", stops the reader
  // and returns false.
  bool Fail(absl::StatusCode code, absl::string_view what, uint64_t byte_offset);

  std::string path_;
  CaptureFormat format_;
  Source source_;
  uint32_t max_caplen_bytes_ = 0;
  uint64_t packets_read_ = 0;
  absl::Status status_;
  std::unique_ptr<internal::ByteStream> stream_;
  std::unique_ptr<PcapState> pcap_;
  std::unique_ptr<PcapngState> pcapng_;
  std::unique_ptr<LibpcapState> libpcap_;
};

}  // namespace synmap::common
