// Our strictly bounds-checked pcapng reader: every length read from the file is checked
// against the block that holds it before anything is read through it.

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/pcapfile/internal/byte_stream.h"
#include "common/pcapfile/internal/reader_state.h"
#include "common/pcapfile/packet_reader.h"
#include "common/status/status_macros.h"

namespace synmap::common {

namespace {

constexpr uint32_t kBlockInterface = 1;
constexpr uint32_t kBlockObsoletePacket = 2;
constexpr uint32_t kBlockSimplePacket = 3;
constexpr uint32_t kBlockEnhancedPacket = 6;
constexpr uint32_t kByteOrderMagic = 0x1a2b3c4d;
constexpr uint16_t kOptionEnd = 0;
constexpr uint16_t kOptionTsResol = 9;
constexpr uint16_t kOptionTsOffset = 14;
constexpr size_t kBlockHeaderBytes = 8;   // type, total length
constexpr size_t kBlockTrailerBytes = 4;  // total length again
constexpr size_t kShbFixedBytes = 16;     // byte-order magic, version, section length
// Largest block we hold in memory: libpcap's initial limit. Packet blocks are further
// bounded by the caplen limit; other large blocks are skipped without buffering.
constexpr uint32_t kMaxBlockBytes = 16u << 20;

using internal::PcapngInterface;

uint32_t Pad4(uint32_t n) { return (n + 3u) & ~3u; }

// Walks the options in [p, p + bytes) and calls `visit(code, value, length)` for each.
// DataLoss when an option overruns the block.
template <typename Visit>
absl::Status ForEachOption(const uint8_t* p, size_t bytes, bool swapped, Visit visit) {
  size_t at = 0;
  while (bytes - at >= 4) {
    const uint16_t code = internal::Load16(p + at, swapped);
    const uint16_t length = internal::Load16(p + at + 2, swapped);
    if (code == kOptionEnd) {
      return absl::OkStatus();
    }
    if (Pad4(length) > bytes - at - 4) {
      return absl::DataLossError(
          absl::StrCat("option ", code, " of length ", length, " overruns its block"));
    }
    SYNMAP_RETURN_IF_ERROR(visit(code, p + at + 4, length));
    at += 4 + Pad4(length);
  }
  return absl::OkStatus();
}

// Sets the ns conversion of `iface` from an if_tsresol byte.
absl::Status SetResolution(uint8_t resol, PcapngInterface* iface) {
  const uint32_t exponent = resol & 0x7f;
  iface->multiply = 1;
  iface->divide = 1;
  iface->shift = 0;
  if ((resol & 0x80) != 0) {  // 2^-exponent seconds.
    iface->multiply = 1'000'000'000;
    iface->shift = exponent;
    return absl::OkStatus();
  }
  if (exponent > 18) {  // 10^19 does not fit in 64 bits.
    return absl::InvalidArgumentError(absl::StrCat("unsupported if_tsresol 10^-", exponent));
  }
  uint64_t power = 1;
  for (uint32_t i = 0; i < (exponent <= 9 ? 9 - exponent : exponent - 9); ++i) {
    power *= 10;
  }
  (exponent <= 9 ? iface->multiply : iface->divide) = power;
  return absl::OkStatus();
}

int64_t ToNanos(const PcapngInterface& iface, uint64_t units) {
  __extension__ typedef unsigned __int128 Wide;
  Wide ns = static_cast<Wide>(units) * iface.multiply;
  if (iface.divide != 1) {
    ns /= iface.divide;
  }
  ns >>= iface.shift;
  const Wide max = static_cast<Wide>(std::numeric_limits<int64_t>::max());
  const int64_t base = ns > max ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(ns);
  int64_t total;
  if (__builtin_add_overflow(base, iface.offset_ns, &total)) {
    return iface.offset_ns > 0 ? std::numeric_limits<int64_t>::max()
                               : std::numeric_limits<int64_t>::min();
  }
  return total;
}

}  // namespace

absl::Status PacketReader::ReadSectionHeader() {
  const uint64_t offset = stream_->offset();
  const uint8_t* h = stream_->Peek(kBlockHeaderBytes + 4);
  if (h == nullptr) {
    return absl::DataLossError(
        absl::StrCat("truncated section header block at byte offset ", offset));
  }
  uint32_t bom;
  std::memcpy(&bom, h + kBlockHeaderBytes, sizeof bom);
  if (bom != kByteOrderMagic && bom != __builtin_bswap32(kByteOrderMagic)) {
    return absl::DataLossError(absl::StrCat("section header block at byte offset ", offset,
                                            " has a bad byte-order magic"));
  }
  const bool swapped = bom != kByteOrderMagic;
  const uint32_t length = internal::Load32(h + 4, swapped);
  if (length < kBlockHeaderBytes + kShbFixedBytes + kBlockTrailerBytes || length % 4 != 0 ||
      length > kMaxBlockBytes) {
    return absl::DataLossError(absl::StrCat("section header block at byte offset ", offset,
                                            " has an invalid length ", length));
  }
  const uint8_t* block = stream_->Peek(length);
  if (block == nullptr) {
    return absl::DataLossError(absl::StrCat("truncated section header block at byte offset ",
                                            offset, " (", stream_->buffered(), " of ", length,
                                            " bytes)"));
  }
  const uint16_t major = internal::Load16(block + 12, swapped);
  const uint16_t minor = internal::Load16(block + 14, swapped);
  // libpcap 1.10 accepts 1.0 and 1.2 (1.2 was briefly written by some tools).
  if (major != 1 || (minor != 0 && minor != 2)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported pcapng version ", major, ".", minor));
  }
  if (internal::Load32(block + length - kBlockTrailerBytes, swapped) != length) {
    return absl::DataLossError(
        absl::StrCat("section header block at byte offset ", offset, ": trailing length differs"));
  }
  const size_t options_at = kBlockHeaderBytes + kShbFixedBytes;
  SYNMAP_RETURN_IF_ERROR(
      ForEachOption(block + options_at, length - options_at - kBlockTrailerBytes, swapped,
                    [](uint16_t, const uint8_t*, uint16_t) { return absl::OkStatus(); }));
  pcapng_->swapped = swapped;
  pcapng_->interfaces.clear();
  stream_->Skip(length);
  return absl::OkStatus();
}

absl::Status PacketReader::AddInterface(const uint8_t* body, size_t body_bytes) {
  if (body_bytes < 8) {
    return absl::DataLossError("interface description block too short");
  }
  const bool swapped = pcapng_->swapped;
  PcapngInterface iface;
  iface.link_type = internal::LinkTypeToDlt(internal::Load16(body, swapped));
  const uint32_t snaplen = internal::Load32(body + 4, swapped);
  iface.max_caplen = (snaplen != 0 && snaplen < max_caplen_bytes_) ? snaplen : max_caplen_bytes_;
  SYNMAP_RETURN_IF_ERROR(ForEachOption(
      body + 8, body_bytes - 8, swapped,
      [&](uint16_t code, const uint8_t* value, uint16_t length) -> absl::Status {
        if (code == kOptionTsResol && length >= 1) {
          return SetResolution(value[0], &iface);
        }
        if (code == kOptionTsOffset && length >= 8) {
          const int64_t seconds = static_cast<int64_t>(internal::Load64(value, swapped));
          if (seconds > 9'000'000'000 || seconds < -9'000'000'000) {
            return absl::InvalidArgumentError(
                absl::StrCat("if_tsoffset ", seconds, " s out of range"));
          }
          iface.offset_ns = seconds * 1'000'000'000;
        }
        return absl::OkStatus();
      }));
  pcapng_->interfaces.push_back(iface);
  return absl::OkStatus();
}

bool PacketReader::NextPcapng(PacketRef* packet) {
  for (;;) {
    const uint64_t offset = stream_->offset();
    const uint8_t* h = stream_->Peek(kBlockHeaderBytes);
    if (h == nullptr) {
      if (!stream_->status().ok()) {
        return Fail(stream_->status().code(), stream_->status().message(), offset);
      }
      if (stream_->buffered() == 0) {
        source_ = Source::kDone;
        return false;  // Clean end between blocks.
      }
      return Fail(absl::StatusCode::kDataLoss,
                  absl::StrCat("truncated block header (", stream_->buffered(), " of 8 bytes)"),
                  offset);
    }
    const bool swapped = pcapng_->swapped;
    const uint32_t type = internal::Load32(h, swapped);
    if (type == internal::kPcapngBlockShb) {
      const absl::Status s = ReadSectionHeader();
      if (!s.ok()) {
        return Fail(s.code(), s.message(), offset);
      }
      continue;
    }
    const uint32_t length = internal::Load32(h + 4, swapped);
    if (length < kBlockHeaderBytes + kBlockTrailerBytes || length % 4 != 0) {
      return Fail(absl::StatusCode::kDataLoss,
                  absl::StrCat("block of type ", type, " has an invalid length ", length), offset);
    }
    const bool needed = type == kBlockEnhancedPacket || type == kBlockSimplePacket ||
                        type == kBlockObsoletePacket || type == kBlockInterface;
    if (!needed) {
      if (!stream_->Discard(length)) {
        return Fail(absl::StatusCode::kDataLoss,
                    absl::StrCat("truncated block of type ", type, " (", length, " bytes)"),
                    offset);
      }
      continue;
    }
    if (length > kMaxBlockBytes) {
      return Fail(absl::StatusCode::kDataLoss,
                  absl::StrCat("block of type ", type, " claims ", length, " bytes (limit ",
                               kMaxBlockBytes, ")"),
                  offset);
    }
    const uint8_t* block = stream_->Peek(length);
    if (block == nullptr) {
      if (!stream_->status().ok()) {
        return Fail(stream_->status().code(), stream_->status().message(), offset);
      }
      return Fail(absl::StatusCode::kDataLoss,
                  absl::StrCat("truncated block of type ", type, " (", stream_->buffered(), " of ",
                               length, " bytes)"),
                  offset);
    }
    if (internal::Load32(block + length - kBlockTrailerBytes, swapped) != length) {
      return Fail(absl::StatusCode::kDataLoss,
                  absl::StrCat("block of type ", type, ": trailing length differs"), offset);
    }
    const uint8_t* body = block + kBlockHeaderBytes;
    const size_t body_bytes = length - kBlockHeaderBytes - kBlockTrailerBytes;
    if (type == kBlockInterface) {
      const absl::Status s = AddInterface(body, body_bytes);
      if (!s.ok()) {
        return Fail(s.code(), s.message(), offset);
      }
      stream_->Skip(length);
      continue;
    }
    // A packet block: Enhanced (if_id 4, ts 8, caplen 4, len 4), obsolete (if_id 2,
    // drops 2, ts 8, caplen 4, len 4) or Simple (len 4; caplen implied).
    uint32_t if_id = 0;
    uint64_t units = 0;
    uint32_t caplen = 0;
    uint32_t wire_length = 0;
    size_t data_at = 0;
    if (type == kBlockSimplePacket) {
      if (body_bytes < 4) {
        return Fail(absl::StatusCode::kDataLoss, "simple packet block too short", offset);
      }
      wire_length = internal::Load32(body, swapped);
      data_at = 4;
    } else {
      if (body_bytes < 20) {
        return Fail(absl::StatusCode::kDataLoss, "packet block too short", offset);
      }
      if_id = type == kBlockEnhancedPacket ? internal::Load32(body, swapped)
                                           : internal::Load16(body, swapped);
      units = (static_cast<uint64_t>(internal::Load32(body + 4, swapped)) << 32) |
              internal::Load32(body + 8, swapped);
      caplen = internal::Load32(body + 12, swapped);
      wire_length = internal::Load32(body + 16, swapped);
      data_at = 20;
    }
    if (if_id >= pcapng_->interfaces.size()) {
      return Fail(absl::StatusCode::kDataLoss,
                  absl::StrCat("packet names interface ", if_id, " but the section has ",
                               pcapng_->interfaces.size()),
                  offset);
    }
    const PcapngInterface& iface = pcapng_->interfaces[if_id];
    const size_t room = body_bytes - data_at;
    if (type == kBlockSimplePacket) {
      caplen = static_cast<uint32_t>(std::min<uint64_t>({wire_length, room, iface.max_caplen}));
    }
    if (caplen > iface.max_caplen) {
      return Fail(absl::StatusCode::kDataLoss,
                  absl::StrCat("corrupt packet block: caplen ", caplen, " exceeds the limit of ",
                               iface.max_caplen, " bytes (snaplen or 256 KiB)"),
                  offset);
    }
    if (caplen > room) {
      return Fail(absl::StatusCode::kDataLoss,
                  absl::StrCat("corrupt packet block: caplen ", caplen, " overruns the block"),
                  offset);
    }
    packet->link_type = iface.link_type;
    packet->timestamp_ns = type == kBlockSimplePacket ? 0 : ToNanos(iface, units);
    packet->data = body + data_at;
    packet->caplen = caplen;
    packet->wire_length = wire_length;
    stream_->Skip(length);
    ++packets_read_;
    return true;
  }
}

}  // namespace synmap::common
