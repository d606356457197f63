// Measures DecodePacket throughput over frames held in memory (not a unit test; run by hand):
//   decoder_benchmark [packets]
// Prints packets/s for a typical router mix and for SYN/ACK-only Ethernet traffic.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/packet/decoder.h"
#include "tests/testing/packet_builder.h"

namespace {

using synmap::common::DecodePacket;
using synmap::common::DecodeResult;
using synmap::common::DecodeStats;
using synmap::common::SynAckEvent;
using synmap::testing::PacketBuilder;

// Frames laid out back to back, as in a pcap buffer, with their offsets and lengths.
struct FrameBuffer {
  std::vector<uint8_t> bytes;
  std::vector<std::pair<size_t, size_t>> frames;
};

FrameBuffer MakeBuffer(const std::vector<std::vector<uint8_t>>& patterns, size_t count) {
  FrameBuffer buffer;
  for (size_t i = 0; i < count; ++i) {
    const std::vector<uint8_t>& frame = patterns[i % patterns.size()];
    buffer.frames.emplace_back(buffer.bytes.size(), frame.size());
    buffer.bytes.insert(buffer.bytes.end(), frame.begin(), frame.end());
  }
  return buffer;
}

double Run(const char* name, int link_type, const FrameBuffer& buffer, int rounds) {
  DecodeStats stats;
  SynAckEvent event;
  uint64_t checksum = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (const auto& [offset, length] : buffer.frames) {
      const DecodeResult result =
          DecodePacket(link_type, buffer.bytes.data() + offset, length, &event);
      stats.Count(result);
      checksum += result == DecodeResult::kSynAck ? event.isn : 0;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double pps = static_cast<double>(stats.Total()) / seconds;
  std::printf("%-28s %12.0f packets/s  %6.1f ns/packet  synacks=%llu (checksum %llu)\n", name, pps,
              1e9 / pps, static_cast<unsigned long long>(stats.Get(DecodeResult::kSynAck)),
              static_cast<unsigned long long>(checksum));
  return pps;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t packets = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const int rounds = 20;
  std::vector<std::vector<uint8_t>> mix;
  for (uint32_t i = 0; i < 64; ++i) {
    const uint16_t port = static_cast<uint16_t>(1024 + i);
    mix.push_back(PacketBuilder()
                      .Ethernet()
                      .Ipv4("10.0.0.1", "10.0.1.2")
                      .Tcp(443, port, synmap::testing::kTcpSynAck, i)
                      .Build());
    mix.push_back(PacketBuilder()
                      .Ethernet()
                      .Ipv4("10.0.1.2", "10.0.0.1")
                      .Tcp(port, 443, synmap::testing::kTcpAck, i)
                      .Build());
    mix.push_back(PacketBuilder()
                      .Ethernet()
                      .Vlan(10)
                      .Ipv6("2001:db8::1", "2001:db8::2")
                      .Tcp(443, port, synmap::testing::kTcpAck | synmap::testing::kTcpPsh, i)
                      .Payload(std::vector<uint8_t>(100, 0))
                      .Build());
    mix.push_back(PacketBuilder().Ethernet().Ipv4("10.0.0.1", "10.0.0.53").Udp(port, 53).Build());
  }
  std::vector<std::vector<uint8_t>> synacks = {PacketBuilder()
                                                   .Ethernet()
                                                   .Ipv4("10.0.0.1", "10.0.1.2")
                                                   .Tcp(443, 40000, synmap::testing::kTcpSynAck, 1)
                                                   .Build()};
  std::printf("%zu packets x %d rounds\n", packets, rounds);
  Run("ethernet mix (1/4 synack)", 1, MakeBuffer(mix, packets), rounds);
  Run("ethernet ipv4 synack only", 1, MakeBuffer(synacks, packets), rounds);
  return 0;
}
