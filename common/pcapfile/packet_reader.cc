#include "common/pcapfile/packet_reader.h"

#include <cstring>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/pcapfile/internal/byte_stream.h"
#include "common/pcapfile/internal/reader_state.h"
#include "common/status/status_macros.h"

namespace synmap::common {

namespace internal {

int LinkTypeToDlt(uint32_t linktype) {
  switch (linktype) {
    case 100:  // LINKTYPE_ATM_RFC1483
      return 11;
    case 101:  // LINKTYPE_RAW
      return 12;
    case 102:  // LINKTYPE_SLIP_BSDOS
      return 15;
    case 103:  // LINKTYPE_PPP_BSDOS
      return 16;
    case 106:  // LINKTYPE_ATM_CLIP
      return 19;
    default:
      return static_cast<int>(linktype);
  }
}

}  // namespace internal

namespace {

std::string DisplayName(absl::string_view path) {
  return path == "-" ? std::string("standard input") : std::string(path);
}

bool IsPcapMagic(uint32_t magic) {
  return magic == internal::kPcapMagicMicros || magic == internal::kPcapMagicNanos ||
         magic == __builtin_bswap32(internal::kPcapMagicMicros) ||
         magic == __builtin_bswap32(internal::kPcapMagicNanos);
}

}  // namespace

PacketReader::PacketReader(std::string path, CaptureFormat format, Source source)
    : path_(std::move(path)), format_(format), source_(source) {}

PacketReader::~PacketReader() = default;

absl::StatusOr<std::unique_ptr<PacketReader>> PacketReader::Open(
    absl::string_view path, const PacketReaderOptions& options) {
  const std::string name = DisplayName(path);
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<internal::ByteStream> stream,
                          internal::ByteStream::Open(path));
  const uint8_t* head = stream->Peek(4);
  if (head == nullptr) {
    if (!stream->status().ok()) {
      return Annotate(stream->status(), name);
    }
    return stream->buffered() == 0
               ? absl::InvalidArgumentError(absl::StrCat(name, ": empty file, not a capture"))
               : absl::DataLossError(absl::StrCat(name, ": truncated file header"));
  }
  uint32_t magic;
  std::memcpy(&magic, head, sizeof magic);
  const bool is_pcap = IsPcapMagic(magic);
  if (!is_pcap && magic != internal::kPcapngBlockShb) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: not a pcap or pcapng file (starts with 0x%02x%02x%02x%02x)", name,
                        head[0], head[1], head[2], head[3]));
  }
  const CaptureFormat format = is_pcap ? CaptureFormat::kPcap : CaptureFormat::kPcapng;
  if (is_pcap && options.pcap_engine == PcapEngine::kLibpcap && path != "-") {
    stream.reset();
    auto reader = absl::WrapUnique(new PacketReader(std::string(path), format, Source::kLibpcap));
    SYNMAP_RETURN_IF_ERROR(reader->OpenLibpcap());
    reader->path_ = name;
    return reader;
  }
  auto reader = absl::WrapUnique(
      new PacketReader(name, format, is_pcap ? Source::kNativePcap : Source::kNativePcapng));
  reader->stream_ = std::move(stream);
  SYNMAP_RETURN_IF_ERROR(reader->OpenNative(options, magic));
  return reader;
}

int PacketReader::HandOverReading(ChunkSource* source) {
  if (stream_ == nullptr || source_ == Source::kLibpcap || source_ == Source::kDone) {
    return -1;
  }
  const int fd = stream_->regular_file_fd();
  if (fd >= 0) {
    stream_->set_source(source);
  }
  return fd;
}

void PacketReader::TakeBackReading() {
  if (stream_ != nullptr) {
    stream_->TakeBackReading();
  }
}

bool PacketReader::Fail(absl::StatusCode code, absl::string_view what, uint64_t byte_offset) {
  if (status_.ok()) {
    status_ = absl::Status(code, absl::StrCat(path_, ": packet ", packets_read_ + 1,
                                              " at byte offset ", byte_offset, ": ", what));
  }
  source_ = Source::kDone;
  return false;
}

}  // namespace synmap::common
