// libFuzzer target: DecodePacket on arbitrary bytes for every link type we know (and one we
// do not), entering tunnels or not. The first input byte picks the link type (low 7 bits) and
// turns decapsulation off (high bit); the rest is the frame, copied into an exact-size heap
// buffer so any read past caplen is caught by ASan. make_seeds.py writes a seed for every
// tunnel the decoder enters.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "common/packet/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  static constexpr int kLinkTypes[] = {0,   1,   12,  14,  101, 108, 113, 228,
                                       229, 276, 239, 129, 192, 242, 9999};
  const int link_type = kLinkTypes[(data[0] & 0x7f) % (sizeof(kLinkTypes) / sizeof(kLinkTypes[0]))];
  const synmap::common::DecodeOptions options{.decapsulate = (data[0] & 0x80) == 0};
  const size_t caplen = size - 1;
  std::unique_ptr<uint8_t[]> frame(new uint8_t[caplen == 0 ? 1 : caplen]);
  if (caplen > 0) {
    std::memcpy(frame.get(), data + 1, caplen);
  }
  synmap::common::SynAckEvent event;
  synmap::common::TunnelInfo tunnel;
  const synmap::common::DecodeResult r =
      synmap::common::DecodePacket(link_type, frame.get(), caplen, options, &event, &tunnel);
  if (tunnel.depth > synmap::common::kMaxTunnelDepth ||
      (!options.decapsulate && tunnel.depth > 0)) {
    __builtin_trap();
  }
  if (r == synmap::common::DecodeResult::kSynAck) {
    // A decoded event must carry addresses of one family.
    if (event.client.length != event.server.length ||
        (event.client.length != 4 && event.client.length != 16)) {
      __builtin_trap();
    }
  }
  return 0;
}
