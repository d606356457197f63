#pragma once

#include <cstdint>

#include "common/packet/ip_address.h"

namespace synmap::common {

// One SYN/ACK seen on the wire. Server = the SYN/ACK's source; client = its destination.
// Plain data, no pointers into packet buffers.
struct SynAckEvent {
  IpAddress client;
  IpAddress server;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  uint32_t isn = 0;          // The server's initial sequence number (the SYN/ACK's seq).
  int64_t timestamp_ns = 0;  // Capture time, Unix nanoseconds.

  friend bool operator==(const SynAckEvent&, const SynAckEvent&) = default;
};

}  // namespace synmap::common
