// libFuzzer target: the capture-file reader (classic pcap and pcapng, our own parsers) on
// arbitrary file contents, fed through a memfd so the real open/read path is used.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/pcapfile/packet_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("capture", 0);
  if (fd < 0) {
    return 0;
  }
  size_t written = 0;
  while (written < size) {
    const ssize_t n = write(fd, data + written, size - written);
    if (n <= 0) {
      close(fd);
      return 0;
    }
    written += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  auto reader = synmap::common::PacketReader::Open(path);
  if (reader.ok()) {
    synmap::common::PacketRef packet;
    uint64_t sum = 0;
    while ((*reader)->Next(&packet)) {
      // Touch every byte the reader claims is there.
      for (uint32_t i = 0; i < packet.caplen; ++i) {
        sum += packet.data[i];
      }
    }
    if ((*reader)->status().ok() && (*reader)->packets_read() > size) {
      __builtin_trap();  // More packets than bytes: impossible.
    }
    (void)sum;
  }
  close(fd);
  return 0;
}
