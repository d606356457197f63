#pragma once

// Private state of PacketReader, shared by its .cc files (one per input format).

#include <pcap/pcap.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "common/pcapfile/packet_reader.h"

namespace synmap::common {

namespace internal {

// Reads an unsigned integer stored in file byte order; `swapped` when that differs from ours.
inline uint16_t Load16(const uint8_t* p, bool swapped) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return swapped ? __builtin_bswap16(v) : v;
}
inline uint32_t Load32(const uint8_t* p, bool swapped) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return swapped ? __builtin_bswap32(v) : v;
}
inline uint64_t Load64(const uint8_t* p, bool swapped) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return swapped ? __builtin_bswap64(v) : v;
}

// Maps a LINKTYPE_ value stored in a file to the DLT_ value libpcap's pcap_datalink()
// returns on Linux (only the few that differ: LINKTYPE_RAW 101 -> DLT_RAW 12, ...), so
// both engines and the decoder see the same numbers.
int LinkTypeToDlt(uint32_t linktype);

// One pcapng interface (IDB) of the current section.
struct PcapngInterface {
  int link_type = 0;
  uint32_t max_caplen = 0;  // min(snaplen if non-zero, options.max_caplen_bytes).
  // Timestamp units -> ns: ns = units * multiply / divide >> shift, plus offset_ns.
  uint64_t multiply = 1000;  // Default if_tsresol: microseconds.
  uint64_t divide = 1;
  uint32_t shift = 0;
  int64_t offset_ns = 0;
};

inline constexpr uint32_t kPcapMagicMicros = 0xa1b2c3d4;
inline constexpr uint32_t kPcapMagicNanos = 0xa1b23c4d;
inline constexpr uint32_t kPcapngBlockShb = 0x0a0d0d0a;

}  // namespace internal

struct PacketReader::PcapState {
  bool swapped = false;
  bool nanos = false;
  int link_type = 0;
  uint32_t max_caplen = 0;  // min(snaplen if non-zero, options.max_caplen_bytes).
};

struct PacketReader::PcapngState {
  bool swapped = false;
  std::vector<internal::PcapngInterface> interfaces;  // Of the current section.
};

struct PacketReader::LibpcapState {
  pcap_t* handle = nullptr;
  int link_type = 0;
  ~LibpcapState() {
    if (handle != nullptr) {
      pcap_close(handle);
    }
  }
};

}  // namespace synmap::common
