#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "synmap/v1/ingest.pb.h"

namespace synmap::reliability {

// Where a misbehaving or load-generating client connects and which PEM files it presents.
// Plain data.
struct PeerOptions {
  std::string target;     // "127.0.0.1:PORT".
  std::string ca_path;    // CA that verifies the collector's certificate.
  std::string cert_path;  // Certificate presented to the collector; empty = none.
  std::string key_path;   // Its private key; empty = none.
};

// A channel over its own TCP connection (no subchannel sharing with other channels) that
// verifies the server against options.ca_path and presents options.cert_path/key_path when
// set, without checking that they belong to the same CA (hostile peers present foreign or
// expired certificates on purpose). NotFound/InvalidArgument when a PEM file is unreadable.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakePeerChannel(const PeerOptions& options);

// A Hello as a sensor of this schema sends it.
synmap::v1::SensorMessage MakeHello();

// A valid batch `seq` of `records` distinct IPv4 records (record i: client 10.x.y.z = 10 and
// i's low 24 bits, server 10.200.0.(i % 50), port 1 + (i % 7) * 1000, packets 3,
// connections 2), sorted by key, with a 10 s window ending at `end_unix_ns`.
// `records` must be 0..2^24 for distinct keys.
synmap::v1::Batch MakeValidBatch(uint64_t seq, int records, int64_t end_unix_ns);

// Packets and connections MakeValidBatch gives each record.
inline constexpr uint64_t kPacketsPerRecord = 3;
inline constexpr uint64_t kConnectionsPerRecord = 2;

// p-th percentile (0..100) of `values` (nearest rank); 0 when empty. Sorts `values`.
double Percentile(std::vector<double>& values, double p);

}  // namespace synmap::reliability
