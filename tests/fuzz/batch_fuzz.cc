// libFuzzer target: the collector's batch validation on arbitrary wire bytes (parsed as a
// synmap.v1.Batch, as the collector would), checking that whatever it accepts obeys the
// documented limits.
#include <cstddef>
#include <cstdint>
#include <string>

#include "collector/server/batch_limits.h"
#include "synmap/v1/ingest.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  synmap::v1::Batch batch;
  if (!batch.ParseFromArray(data, static_cast<int>(size))) {
    return 0;
  }
  const int64_t now = 1'800'000'000'000'000'000;
  std::string limit;
  const absl::Status s =
      synmap::collector::ValidateBatch(batch, now, synmap::collector::IngestLimits(), &limit);
  if (s.ok()) {
    if (batch.seq() < 1 || batch.start_unix_ns() <= 0 ||
        batch.end_unix_ns() < batch.start_unix_ns()) {
      __builtin_trap();
    }
    for (const synmap::v1::Record& r : batch.records()) {
      if ((r.client_ip().size() != 4 && r.client_ip().size() != 16) ||
          r.client_ip().size() != r.server_ip().size() || r.server_port() < 1 ||
          r.server_port() > 65535 || r.connections() > r.packets() ||
          r.first_seen_unix_ns() > r.last_seen_unix_ns()) {
        __builtin_trap();
      }
    }
  } else if (limit.empty()) {
    __builtin_trap();  // Every refusal names its limit.
  }
  return 0;
}
