#include "bench/pcap_writer.h"

#include <cerrno>
#include <cstdio>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"

namespace synmap::bench {

absl::StatusOr<std::unique_ptr<PcapWriter>> PcapWriter::Open(const std::string& path,
                                                             bool nanosecond) {
  auto writer = absl::WrapUnique(new PcapWriter(nanosecond));
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open capture ", path));
  }
  std::setvbuf(file, writer->buffer_.data(), _IOFBF, writer->buffer_.size());
  writer->pcap_.reset(pcap_open_dead_with_tstamp_precision(
      DLT_EN10MB, 262144, nanosecond ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO));
  if (writer->pcap_ != nullptr) {
    writer->dumper_.reset(pcap_dump_fopen(writer->pcap_.get(), file));
  }
  if (writer->dumper_ == nullptr) {
    std::fclose(file);
    return absl::InternalError(absl::StrCat("libpcap cannot write capture ", path));
  }
  writer->path_ = path;
  return writer;
}

void PcapWriter::Write(int64_t time_ns, absl::Span<const uint8_t> frame) {
  constexpr int64_t kSecondNs = 1'000'000'000;
  pcap_pkthdr header{};
  header.ts.tv_sec = time_ns / kSecondNs;
  const int64_t fraction_ns = time_ns % kSecondNs;
  // A nanosecond dumper stores tv_usec as nanoseconds.
  header.ts.tv_usec = nanosecond_ ? fraction_ns : fraction_ns / 1000;
  header.caplen = static_cast<bpf_u_int32>(frame.size());
  header.len = header.caplen;
  pcap_dump(reinterpret_cast<u_char*>(dumper_.get()), &header, frame.data());
}

absl::Status PcapWriter::Close() {
  if (dumper_ == nullptr) {
    return absl::OkStatus();
  }
  const bool failed =
      pcap_dump_flush(dumper_.get()) != 0 || std::ferror(pcap_dump_file(dumper_.get())) != 0;
  const int saved_errno = errno;
  dumper_.reset();
  if (failed) {
    return absl::ErrnoToStatus(saved_errno, absl::StrCat("write capture ", path_));
  }
  return absl::OkStatus();
}

}  // namespace synmap::bench
