// The libpcap engine for classic pcap files: the baseline the native reader is measured
// against, and an independent oracle in tests.

#include <pcap/pcap.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/pcapfile/internal/reader_state.h"
#include "common/pcapfile/packet_reader.h"

namespace synmap::common {

absl::Status PacketReader::OpenLibpcap() {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  libpcap_ = std::make_unique<LibpcapState>();
  libpcap_->handle =
      pcap_open_offline_with_tstamp_precision(path_.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (libpcap_->handle == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": ", errbuf));
  }
  libpcap_->link_type = pcap_datalink(libpcap_->handle);
  return absl::OkStatus();
}

bool PacketReader::NextLibpcap(PacketRef* packet) {
  struct pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(libpcap_->handle, &header, &data);
  if (rc == 1) {
    packet->link_type = libpcap_->link_type;
    packet->timestamp_ns = static_cast<int64_t>(header->ts.tv_sec) * 1'000'000'000 +
                           static_cast<int64_t>(header->ts.tv_usec);
    packet->data = data;
    packet->caplen = header->caplen;
    packet->wire_length = header->len;
    ++packets_read_;
    return true;
  }
  if (rc == PCAP_ERROR_BREAK) {  // -2: end of file.
    source_ = Source::kDone;
    return false;
  }
  FILE* file = pcap_file(libpcap_->handle);
  const long offset = file != nullptr ? std::ftell(file) : -1;
  return Fail(absl::StatusCode::kDataLoss, pcap_geterr(libpcap_->handle),
              offset < 0 ? 0 : static_cast<uint64_t>(offset));
}

}  // namespace synmap::common
