// synmap-pcap-count: the benchmark's floor. Reads each capture with a bare libpcap
// pcap_dispatch loop that only counts packets and bytes, and prints
// "packets N bytes B". Exit status 1 if a file cannot be read.

#include <pcap/pcap.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>

namespace {

struct Counts {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

void Count(u_char* user, const pcap_pkthdr* header, const u_char* /*data*/) {
  auto* counts = reinterpret_cast<Counts*>(user);
  counts->packets++;
  counts->bytes += header->caplen;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: synmap-pcap-count FILE.pcap...\n", stderr);
    return 2;
  }
  Counts counts;
  for (int i = 1; i < argc; ++i) {
    char error[PCAP_ERRBUF_SIZE] = {};
    pcap_t* pcap =
        pcap_open_offline_with_tstamp_precision(argv[i], PCAP_TSTAMP_PRECISION_NANO, error);
    if (pcap == nullptr) {
      std::fprintf(stderr, "synmap-pcap-count: %s: %s\n", argv[i], error);
      return 1;
    }
    int n = 0;
    while ((n = pcap_dispatch(pcap, -1, Count, reinterpret_cast<u_char*>(&counts))) > 0) {
    }
    const bool failed = n == PCAP_ERROR;
    if (failed) {
      std::fprintf(stderr, "synmap-pcap-count: %s: %s\n", argv[i], pcap_geterr(pcap));
    }
    pcap_close(pcap);
    if (failed) {
      return 1;
    }
  }
  std::printf("packets %" PRIu64 " bytes %" PRIu64 "\n", counts.packets, counts.bytes);
  return 0;
}
