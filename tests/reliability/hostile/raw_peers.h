#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace synmap::reliability {

// What a raw-TCP attack did. Plain data.
struct RawAttackReport {
  int connections_opened = 0;  // TCP connects that succeeded.
  int connect_failures = 0;    // TCP connects refused or failed.
  int64_t bytes_sent = 0;
  int closed_by_server = 0;  // Connections the collector closed (read returned 0 or error).
};

// Opens `connections` TCP connections to `host_port` ("127.0.0.1:PORT") one after another;
// on each sends `bytes_per_connection` random bytes (fixed `seed`), reads until the server
// closes or 2 s pass, and closes. Unavailable when no connection could be made.
absl::Status SendRandomBytes(const std::string& host_port, int connections,
                             int bytes_per_connection, uint64_t seed, RawAttackReport* report);

// Opens `connections` TCP connections at once and stalls the TLS handshake on each: half
// send nothing, half send the 5-byte header of a TLS handshake record announcing 16 KiB and
// then nothing. Calls `on_holding(open connections)` once all are open, holds them for
// `hold`, then counts how many the server had already closed and closes the rest.
// Unavailable when no connection could be made.
absl::Status StallHandshakes(const std::string& host_port, int connections, absl::Duration hold,
                             const std::function<void(int)>& on_holding, RawAttackReport* report);

}  // namespace synmap::reliability
