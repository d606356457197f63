#include "bench/traffic_generator.h"

#include <algorithm>
#include <array>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace synmap::bench {
namespace {

constexpr int64_t kSecondNs = 1'000'000'000;
constexpr uint8_t kSynAck = kTcpSyn | kTcpAck;

}  // namespace

TrafficGenerator::TrafficGenerator(const GenOptions& options, const SiteModel& model,
                                   PcapWriter& writer)
    : options_(options),
      model_(model),
      writer_(writer),
      rng_(options.seed),
      filler_choice_({80, 3, 2, 10, 3, 2}),
      ring_(kRecentConnections) {}

void TrafficGenerator::Run() {
  const double mean_gap_ns = static_cast<double>(absl::ToInt64Nanoseconds(options_.duration)) /
                             static_cast<double>(options_.packets);
  double offset_ns = 0;  // From the start: a double keeps ns precision for days.
  for (uint64_t i = 0; i < options_.packets; ++i) {
    offset_ns += rng_.Exponential(mean_gap_ns);
    now_ns_ = options_.start_unix_ns + static_cast<int64_t>(offset_ns);
    if (!options_.nanosecond) {
      now_ns_ -= now_ns_ % 1000;
    }
    if (rng_.Chance(options_.synack_share)) {
      EmitSynAck();
    } else {
      EmitFiller();
    }
  }
}

LinkHeader TrafficGenerator::Link(const MacAddress& src, const MacAddress& dst, uint16_t vlan) {
  LinkHeader link{src, dst, 0, 0};
  if (rng_.Chance(options_.vlan_share)) {
    if (rng_.Chance(options_.qinq_share)) {
      link.outer_vlan = 100;
      link.inner_vlan = vlan;
    } else {
      link.outer_vlan = vlan;
    }
  }
  return link;
}

void TrafficGenerator::Write() {
  const absl::Span<const uint8_t> frame = builder_.frame();
  writer_.Write(now_ns_, frame);
  if (stats_.packets == 0) {
    stats_.first_ns = now_ns_;
  }
  stats_.last_ns = now_ns_;
  stats_.packets++;
  stats_.bytes += frame.size();
  size_t at = 12;
  if (frame[at] == 0x88 && frame[at + 1] == 0xa8) {
    stats_.qinq_frames++;
    at += 4;
  }
  if (frame[at] == 0x81 && frame[at + 1] == 0x00) {
    stats_.vlan_frames++;
    at += 4;
  }
  if (frame[at] == 0x86 && frame[at + 1] == 0xdd) {
    stats_.ipv6_frames++;
  }
}

TrafficGenerator::Connection TrafficGenerator::NewConnection() {
  if (ring_count_ > 0 && rng_.Chance(0.005)) {
    // The same 4-tuple again with a new ISN: a new connection even within 60 s.
    Connection again = ring_[rng_.Below(std::min(ring_count_, kRecentConnections))];
    again.client_isn = rng_.Next32();
    again.server_isn = rng_.Next32();
    return again;
  }
  const bool v6 = UseIpv6();
  const double direction = rng_.Unit();
  const Host* server = direction < 0.55 ? nullptr : model_.PickServer(rng_, direction < 0.80);
  Connection c = NewConnectionTo(server, direction < 0.80, v6);
  c.client_port = static_cast<uint16_t>(rng_.Between(32768, 60999));
  c.client_isn = rng_.Next32();
  c.server_isn = rng_.Next32();
  c.synack_flags = rng_.Chance(0.05) ? (kSynAck | kTcpEce) : kSynAck;
  return c;
}

TrafficGenerator::Connection TrafficGenerator::NewConnectionTo(const Host* server, bool inbound,
                                                               bool v6) {
  Connection c;
  if (server == nullptr) {  // Outbound: an inside client, an outside server.
    const Host& client = model_.PickInternalClient(rng_);
    c.server_port = model_.PickOutboundPort(rng_);
    c.client = v6 ? client.v6 : client.v4;
    c.server = model_.RemoteAddress(model_.PickRemoteServer(c.server_port, rng_), v6);
    c.client_mac = client.mac;
    c.server_mac = model_.router_mac();
    c.vlan = client.vlan;
  } else {
    c.server_port = model_.PickServicePort(*server, rng_);
    c.server = v6 ? server->v6 : server->v4;
    c.server_mac = server->mac;
    c.vlan = server->vlan;
    if (inbound) {  // Inbound to a public server.
      c.client = model_.RemoteAddress(model_.PickRemoteClient(rng_), v6);
      c.client_mac = model_.router_mac();
    } else {  // Between two inside hosts.
      const Host* client = &model_.PickInternalClient(rng_);
      if (client == server) {
        client = &model_.hosts()[(static_cast<size_t>(client - model_.hosts().data()) + 1) %
                                 model_.hosts().size()];
      }
      c.client = v6 ? client->v6 : client->v4;
      c.client_mac = client->mac;
    }
  }
  return c;
}

void TrafficGenerator::EmitSynAckOf(const Connection& c) {
  const Flow flow{c.server, c.client, c.server_port, c.client_port};
  TcpSegment segment;
  segment.flags = c.synack_flags;
  segment.seq = c.server_isn;
  segment.ack = c.client_isn + 1;
  segment.window = 65160;
  segment.handshake_options = true;
  builder_.BuildTcp(Link(c.server_mac, c.client_mac, c.vlan), flow, segment);
  Write();
  stats_.synacks++;
  truth_.Add(SynAckFacts{c.server, c.client, c.server_port, c.client_port, c.server_isn, now_ns_});
}

void TrafficGenerator::EmitSynAck() {
  if (!resends_.empty() && resends_.top().due_ns <= now_ns_) {
    const Connection c = resends_.top().connection;
    resends_.pop();
    EmitSynAckOf(c);
    return;
  }
  const Connection c = next_.has_value() ? *next_ : NewConnection();
  next_.reset();
  EmitSynAckOf(c);
  ring_[ring_count_++ % kRecentConnections] = c;
  ScheduleResends(c);
}

void TrafficGenerator::ScheduleResends(const Connection& c) {
  if (!rng_.Chance(options_.retrans_share)) {
    return;
  }
  if (rng_.Chance(options_.late_resend_share)) {
    resends_.push(Resend{now_ns_ + rng_.Between(61 * kSecondNs, 90 * kSecondNs), c});
    return;
  }
  // Backoff as a server retransmits an unacknowledged SYN/ACK: 1, 3, 7 s after the first.
  const int64_t count = rng_.Between(1, 3);
  for (int64_t k = 0; k < count; ++k) {
    const int64_t delay_ns = ((int64_t{2} << k) - 1) * kSecondNs + rng_.Between(0, kSecondNs / 5);
    resends_.push(Resend{now_ns_ + delay_ns, c});
  }
}

void TrafficGenerator::EmitFiller() {
  if (!next_.has_value()) {  // The SYN of the next connection precedes its SYN/ACK.
    next_ = NewConnection();
    const Connection& c = *next_;
    TcpSegment syn{kTcpSyn, c.client_isn, 0, 64240, true, 0};
    builder_.BuildTcp(Link(c.client_mac, c.server_mac, c.vlan),
                      Flow{c.client, c.server, c.client_port, c.server_port}, syn);
    Write();
    return;
  }
  switch (static_cast<Filler>(filler_choice_.Pick(rng_))) {
    case Filler::kFollowUp:
      EmitFollowUp();
      break;
    case Filler::kStraySyn:
      EmitStray(kTcpSyn);
      break;
    case Filler::kRefusal:
      EmitStray(kTcpRst | kTcpAck);
      break;
    case Filler::kDns:
      EmitUdp(true);
      break;
    case Filler::kArp:
      EmitArp();
      break;
    case Filler::kNtp:
      EmitUdp(false);
      break;
  }
}

void TrafficGenerator::EmitFollowUp() {
  if (ring_count_ == 0) {
    EmitStray(kTcpSyn);
    return;
  }
  const Connection& c = ring_[rng_.Below(std::min(ring_count_, kRecentConnections))];
  const bool from_server = rng_.Chance(0.5);
  const double size = rng_.Unit();
  uint16_t payload = 0;
  if (size >= 0.84) {
    payload = size < 0.97   ? static_cast<uint16_t>(rng_.Between(1, 120))
              : size < 0.99 ? static_cast<uint16_t>(rng_.Between(200, 700))
                            : static_cast<uint16_t>(c.client.is_v4() ? 1460 : 1440);
  }
  TcpSegment segment;
  segment.flags = rng_.Chance(0.04) ? (kTcpFin | kTcpAck) : kTcpAck;
  if (payload != 0) {
    segment.flags |= kTcpPsh;
  }
  const uint32_t offset = static_cast<uint32_t>(rng_.Below(1 << 20));
  segment.seq = (from_server ? c.server_isn : c.client_isn) + 1 + offset;
  segment.ack = (from_server ? c.client_isn : c.server_isn) + 1 + offset / 3;
  segment.payload_bytes = payload;
  if (from_server) {
    builder_.BuildTcp(Link(c.server_mac, c.client_mac, c.vlan),
                      Flow{c.server, c.client, c.server_port, c.client_port}, segment);
  } else {
    builder_.BuildTcp(Link(c.client_mac, c.server_mac, c.vlan),
                      Flow{c.client, c.server, c.client_port, c.server_port}, segment);
  }
  Write();
}

void TrafficGenerator::EmitStray(uint8_t flags) {
  const Host& host = model_.PickInternalClient(rng_);
  const bool v6 = UseIpv6();
  const uint16_t port = rng_.Chance(0.5) ? model_.PickOutboundPort(rng_)
                                         : static_cast<uint16_t>(rng_.Between(1, 65535));
  const common::IpAddress remote = model_.RemoteAddress(model_.PickRemoteServer(port, rng_), v6);
  const common::IpAddress local = v6 ? host.v6 : host.v4;
  const uint16_t client_port = static_cast<uint16_t>(rng_.Between(32768, 60999));
  TcpSegment segment{flags, rng_.Next32(), 0, 64240, flags == kTcpSyn, 0};
  if (flags == kTcpSyn) {
    builder_.BuildTcp(Link(host.mac, model_.router_mac(), host.vlan),
                      Flow{local, remote, client_port, port}, segment);
  } else {
    segment.seq = 0;
    segment.ack = rng_.Next32();
    segment.window = 0;
    builder_.BuildTcp(Link(model_.router_mac(), host.mac, host.vlan),
                      Flow{remote, local, port, client_port}, segment);
  }
  Write();
}

void TrafficGenerator::EmitUdp(bool dns) {
  const Host& host = model_.PickInternalClient(rng_);
  const bool v6 = UseIpv6();
  const common::IpAddress local = v6 ? host.v6 : host.v4;
  const common::IpAddress remote = model_.RemoteAddress(dns ? 0 : 1, v6);
  const uint16_t client_port = static_cast<uint16_t>(rng_.Between(32768, 60999));
  const bool response = dns && (dns_count_++ % 2 == 1);
  const LinkHeader out = Link(host.mac, model_.router_mac(), host.vlan);
  const LinkHeader in{model_.router_mac(), host.mac, out.outer_vlan, out.inner_vlan};
  if (!dns) {
    std::array<uint8_t, 48> ntp{};
    ntp[0] = 0x23;  // NTPv4 client request.
    builder_.BuildUdp(out, Flow{local, remote, client_port, 123}, ntp);
  } else {
    const std::string name = absl::StrCat("host", rng_.Below(500), ".example.com");
    const uint16_t id = static_cast<uint16_t>(rng_.Next32());
    const common::IpAddress answer = model_.RemoteAddress(rng_.Below(200), false);
    if (response) {
      builder_.BuildDns(in, Flow{remote, local, 53, client_port}, id, name, true, answer);
    } else {
      builder_.BuildDns(out, Flow{local, remote, client_port, 53}, id, name, false, answer);
    }
  }
  Write();
}

void TrafficGenerator::EmitArp() {
  const Host& host = model_.PickInternalClient(rng_);
  if (rng_.Chance(0.5)) {
    const MacAddress broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    builder_.BuildArp(Link(host.mac, broadcast, host.vlan), false, host.v4, model_.router_v4());
  } else {
    builder_.BuildArp(Link(model_.router_mac(), host.mac, host.vlan), true, model_.router_v4(),
                      host.v4);
  }
  Write();
}

}  // namespace synmap::bench
