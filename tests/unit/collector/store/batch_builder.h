#pragma once

// Builds synmap.v1.Batch messages for store and query tests.

#include <cstdint>
#include <string>

#include "common/batch/batch_codec.h"
#include "common/packet/ip_address.h"
#include "synmap/v1/ingest.pb.h"

namespace synmap::collector::testing {

inline constexpr int64_t kSecond = 1'000'000'000;
inline constexpr int64_t kHour = 3600 * kSecond;
// 2023-11-14T22:00:00Z, an hour boundary; FakeClock's default start is 13m20s after it.
inline constexpr int64_t kT0 = 1'699'999'200 * kSecond;

inline std::string IpBytes(const std::string& text) {
  return std::string(common::IpAddress::Parse(text).value().Raw());
}

// A batch [start_ns, start_ns + 10s) with no records.
inline synmap::v1::Batch MakeBatch(uint64_t seq, int64_t start_ns) {
  synmap::v1::Batch batch;
  batch.set_seq(seq);
  batch.set_start_unix_ns(start_ns);
  batch.set_end_unix_ns(start_ns + 10 * kSecond);
  return batch;
}

// Adds a record seen at `at_ns` (first = last) with `connections` connections and
// `packets` packets (default: as many as connections).
inline void AddRecord(synmap::v1::Batch& batch, const std::string& client,
                      const std::string& server, uint32_t port, uint64_t connections, int64_t at_ns,
                      uint64_t packets = 0) {
  synmap::v1::Record* r = batch.add_records();
  r->set_client_ip(IpBytes(client));
  r->set_server_ip(IpBytes(server));
  r->set_server_port(port);
  r->set_connections(connections);
  r->set_packets(packets == 0 ? connections : packets);
  r->set_first_seen_unix_ns(at_ns);
  r->set_last_seen_unix_ns(at_ns);
}

// The plain form a store takes. `batch` must decode (4- or 16-byte addresses, ports <= 65535).
inline common::SequencedBatch Plain(const synmap::v1::Batch& batch) {
  return common::DecodeBatch(batch).value();
}

}  // namespace synmap::collector::testing
