#include "common/batch/handshake.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "common/batch/batch.h"

namespace synmap::common {

uint32_t HandshakeFingerprint(uint16_t client_port, uint32_t isn) {
  uint64_t x = (uint64_t{isn} << 16) | client_port;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return static_cast<uint32_t>(x);
}

void HandshakeRecorder::Add(const SynAckEvent& event) {
  pending_.push_back(Pending{RecordKey{event.client, event.server, event.server_port},
                             event.timestamp_ns,
                             HandshakeFingerprint(event.client_port, event.isn)});
}

std::vector<Handshake> HandshakeRecorder::Take(absl::Span<const Record> records, int64_t start_ns) {
  std::vector<Pending> pending = std::move(pending_);
  pending_.clear();
  std::vector<Handshake> out;
  if (pending.size() > kMaxHandshakesPerBatch) {
    return out;
  }
  std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) {
    return std::tie(a.key, a.timestamp_ns, a.fingerprint) <
           std::tie(b.key, b.timestamp_ns, b.fingerprint);
  });
  out.reserve(pending.size());
  size_t next = 0;
  for (const Record& r : records) {
    for (uint64_t c = 0; c < r.connections; ++c, ++next) {
      if (next == pending.size() || !(pending[next].key == r.key) ||
          pending[next].timestamp_ns < start_ns) {
        return {};
      }
      out.push_back(
          Handshake{pending[next].fingerprint,
                    static_cast<uint32_t>((pending[next].timestamp_ns - start_ns) / 1'000'000)});
    }
  }
  if (next != pending.size()) {
    return {};
  }
  return out;
}

}  // namespace synmap::common
