#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "common/packet/ip_address.h"
#include "common/packet/synack_event.h"

namespace synmap::common::testing {

// Parses `text` as an IP address; fails the test on a typo.
inline IpAddress Ip(const std::string& text) {
  absl::StatusOr<IpAddress> ip = IpAddress::Parse(text);
  EXPECT_TRUE(ip.ok()) << ip.status();
  return ip.ok() ? *ip : IpAddress{};
}

// A reference capture time and offsets from it.
inline constexpr int64_t kT0Ns = int64_t{1'700'000'000} * 1'000'000'000;
inline int64_t At(absl::Duration offset) { return kT0Ns + absl::ToInt64Nanoseconds(offset); }

// A SYN/ACK from server:server_port to client:client_port.
inline SynAckEvent MakeSynAck(const std::string& server, uint16_t server_port,
                              const std::string& client, uint16_t client_port, uint32_t isn,
                              int64_t timestamp_ns) {
  SynAckEvent event;
  event.server = Ip(server);
  event.server_port = server_port;
  event.client = Ip(client);
  event.client_port = client_port;
  event.isn = isn;
  event.timestamp_ns = timestamp_ns;
  return event;
}

}  // namespace synmap::common::testing
