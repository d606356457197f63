// packet_reader_bench ENGINE FILE: reads FILE with PacketReader and only counts packets and
// bytes, like bench/pcap_count.cc does with a bare pcap_dispatch loop, so the two can be
// compared (issue #2). ENGINE: native (our parser over read()), libpcap (pcap_next_ex
// through PacketReader).

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "common/pcapfile/packet_reader.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fputs("usage: packet_reader_bench native|libpcap FILE\n", stderr);
    return 2;
  }
  synmap::common::PacketReaderOptions options;
  if (std::strcmp(argv[1], "libpcap") == 0) {
    options.pcap_engine = synmap::common::PcapEngine::kLibpcap;
  }
  auto reader = synmap::common::PacketReader::Open(argv[2], options);
  if (!reader.ok()) {
    std::fprintf(stderr, "%s\n", std::string(reader.status().message()).c_str());
    return 1;
  }
  synmap::common::PacketRef packet;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  while ((*reader)->Next(&packet)) {
    ++packets;
    bytes += packet.caplen;
  }
  if (!(*reader)->status().ok()) {
    std::fprintf(stderr, "%s\n", std::string((*reader)->status().message()).c_str());
    return 1;
  }
  std::printf("packets %" PRIu64 " bytes %" PRIu64 "\n", packets, bytes);
  return 0;
}
