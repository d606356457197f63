#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <vector>

#include "bench/capture_gen.h"
#include "bench/frame_builder.h"
#include "bench/pcap_writer.h"
#include "bench/rng.h"
#include "bench/site_model.h"
#include "bench/truth_table.h"

namespace synmap::bench {

// Draws the traffic of a site frame by frame, writes it and counts the SYN/ACKs it wrote in a
// TruthTable. Every frame time is Poisson; a frame is a SYN/ACK with options.synack_share,
// else other traffic (the next connection's SYN first). Thread-compatible; borrows `options`,
// `model` and `writer`, which must outlive it.
class TrafficGenerator {
 public:
  TrafficGenerator(const GenOptions& options, const SiteModel& model, PcapWriter& writer);

  // Writes options.packets frames.
  void Run();

  const TruthTable& truth() const { return truth_; }
  const GenStats& stats() const { return stats_; }

 private:
  // Both ends of one TCP connection, as seen at the router.
  struct Connection {
    common::IpAddress client;
    common::IpAddress server;
    uint16_t client_port = 0;
    uint16_t server_port = 0;
    uint32_t client_isn = 0;
    uint32_t server_isn = 0;
    MacAddress client_mac{};
    MacAddress server_mac{};
    uint16_t vlan = 0;
    uint8_t synack_flags = kTcpSyn | kTcpAck;
  };
  // A SYN/ACK to send again once the capture clock reaches due_ns.
  struct Resend {
    int64_t due_ns = 0;
    Connection connection;
    bool operator>(const Resend& other) const { return due_ns > other.due_ns; }
  };
  enum class Filler { kFollowUp, kStraySyn, kRefusal, kDns, kArp, kNtp };
  static constexpr size_t kRecentConnections = 512;

  // Ethernet header for a frame of `vlan`'s segment, tagged (or double-tagged) by the shares.
  LinkHeader Link(const MacAddress& src, const MacAddress& dst, uint16_t vlan);
  // Writes the frame just built at the current time and counts it.
  void Write();
  bool UseIpv6() { return model_.has_ipv6() && rng_.Chance(options_.ipv6_share); }
  // A new connection (or, rarely, a recent 4-tuple with a new ISN).
  Connection NewConnection();
  // Outbound when `server` is null; else to `server` from outside (`inbound`) or inside.
  Connection NewConnectionTo(const Host* server, bool inbound, bool v6);
  void EmitSynAckOf(const Connection& c);
  void EmitSynAck();
  void ScheduleResends(const Connection& c);
  void EmitFiller();
  // A segment of a recent connection: mostly pure ACKs, some data, a few FINs.
  void EmitFollowUp();
  // An unanswered SYN from inside (scans, dead servers), or a refusal (RST+ACK) from outside.
  void EmitStray(uint8_t flags);
  // DNS queries and answers (alternating) or NTP, between an inside host and an outside server.
  void EmitUdp(bool dns);
  void EmitArp();

  const GenOptions& options_;
  const SiteModel& model_;
  PcapWriter& writer_;
  Rng rng_;
  WeightedChoice filler_choice_;
  FrameBuilder builder_;
  TruthTable truth_;
  GenStats stats_;
  int64_t now_ns_ = 0;
  std::optional<Connection> next_;  // Drawn at its SYN, answered at the next SYN/ACK slot.
  std::vector<Connection> ring_;    // Recent connections, for follow-up segments.
  size_t ring_count_ = 0;
  uint64_t dns_count_ = 0;
  std::priority_queue<Resend, std::vector<Resend>, std::greater<>> resends_;
};

}  // namespace synmap::bench
