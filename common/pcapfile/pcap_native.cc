// Our reader of classic pcap files (and the dispatch to the pcapng one).

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/pcapfile/internal/byte_stream.h"
#include "common/pcapfile/internal/reader_state.h"
#include "common/pcapfile/packet_reader.h"
#include "common/status/status_macros.h"

namespace synmap::common {

namespace {

constexpr size_t kPcapFileHeaderBytes = 24;
constexpr size_t kPcapRecordHeaderBytes = 16;
// LT_RESERVED1 in libpcap: bits that must be zero in the link-type field.
constexpr uint32_t kLinkTypeReservedBits = 0x03FF0000;

}  // namespace

absl::Status PacketReader::OpenNative(const PacketReaderOptions& options, uint32_t magic) {
  max_caplen_bytes_ = options.max_caplen_bytes;
  if (magic == internal::kPcapngBlockShb) {
    pcapng_ = std::make_unique<PcapngState>();
    return Annotate(ReadSectionHeader(), path_);
  }
  const uint8_t* h = stream_->Peek(kPcapFileHeaderBytes);
  if (h == nullptr) {
    if (!stream_->status().ok()) {
      return Annotate(stream_->status(), path_);
    }
    return absl::DataLossError(absl::StrCat(path_, ": truncated pcap file header (",
                                            stream_->buffered(), " of 24 bytes)"));
  }
  pcap_ = std::make_unique<PcapState>();
  pcap_->swapped = magic == __builtin_bswap32(internal::kPcapMagicMicros) ||
                   magic == __builtin_bswap32(internal::kPcapMagicNanos);
  pcap_->nanos =
      magic == internal::kPcapMagicNanos || magic == __builtin_bswap32(internal::kPcapMagicNanos);
  const uint16_t major = internal::Load16(h + 4, pcap_->swapped);
  const uint16_t minor = internal::Load16(h + 6, pcap_->swapped);
  const uint32_t snaplen = internal::Load32(h + 16, pcap_->swapped);
  const uint32_t linktype = internal::Load32(h + 20, pcap_->swapped);
  // libpcap reads 2.0 to 2.4 (2.2 and 2.3 never shipped but are harmless).
  if (major != 2 || minor > 4) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": unsupported pcap version ", major, ".", minor));
  }
  if ((linktype & kLinkTypeReservedBits) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": invalid link type field 0x",
                                                   absl::Hex(linktype), " (reserved bits set)"));
  }
  pcap_->link_type = internal::LinkTypeToDlt(linktype & 0xFFFF);
  pcap_->max_caplen = (snaplen != 0 && snaplen < max_caplen_bytes_) ? snaplen : max_caplen_bytes_;
  stream_->Skip(kPcapFileHeaderBytes);
  return absl::OkStatus();
}

bool PacketReader::NextPcap(PacketRef* packet) {
  const uint64_t offset = stream_->offset();
  const uint8_t* h = stream_->Peek(kPcapRecordHeaderBytes);
  if (h == nullptr) {
    if (!stream_->status().ok()) {
      return Fail(stream_->status().code(), stream_->status().message(), offset);
    }
    if (stream_->buffered() == 0) {
      source_ = Source::kDone;
      return false;  // Clean end between records.
    }
    return Fail(absl::StatusCode::kDataLoss,
                absl::StrCat("truncated record header (", stream_->buffered(), " of 16 bytes)"),
                offset);
  }
  const bool swapped = pcap_->swapped;
  const uint32_t seconds = internal::Load32(h, swapped);
  const uint32_t fraction = internal::Load32(h + 4, swapped);
  const uint32_t caplen = internal::Load32(h + 8, swapped);
  const uint32_t wire_length = internal::Load32(h + 12, swapped);
  if (caplen > pcap_->max_caplen) {
    return Fail(absl::StatusCode::kDataLoss,
                absl::StrCat("corrupt record: caplen ", caplen, " exceeds the limit of ",
                             pcap_->max_caplen, " bytes (snaplen or 256 KiB)"),
                offset);
  }
  const uint8_t* record = stream_->Peek(kPcapRecordHeaderBytes + caplen);
  if (record == nullptr) {
    if (!stream_->status().ok()) {
      return Fail(stream_->status().code(), stream_->status().message(), offset);
    }
    return Fail(
        absl::StatusCode::kDataLoss,
        absl::StrCat("truncated packet data (", stream_->buffered() - kPcapRecordHeaderBytes,
                     " of ", caplen, " bytes)"),
        offset);
  }
  packet->link_type = pcap_->link_type;
  // Like libpcap, the fraction is not range-checked (some writers exceed 10^6 / 10^9).
  packet->timestamp_ns =
      static_cast<int64_t>(seconds) * 1'000'000'000 +
      (pcap_->nanos ? static_cast<int64_t>(fraction) : static_cast<int64_t>(fraction) * 1000);
  packet->data = record + kPcapRecordHeaderBytes;
  packet->caplen = caplen;
  packet->wire_length = wire_length;
  stream_->Skip(kPcapRecordHeaderBytes + caplen);
  ++packets_read_;
  return true;
}

}  // namespace synmap::common
