#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "synmap/v1/ingest.pb.h"

namespace synmap::collector::internal {

// The ingest limits of ingest.proto. This file is the one place batches are checked: the
// ingest service calls CheckBatch before queueing a batch, and the store calls ValidateBatch
// again (it trusts no caller).
inline constexpr uint64_t kMaxBatchBytes = 16u << 20;
inline constexpr int kMaxRecordsPerBatch = 200'000;
inline constexpr int64_t kMaxFutureNs = 86'400'000'000'000;  // 1 day.
inline constexpr size_t kMaxSensorNameBytes = 256;
// Highest seq accepted: 2^63 - 1, so every seq is also a non-negative SQLite integer.
inline constexpr uint64_t kMaxSeq = (uint64_t{1} << 63) - 1;
// Highest packets (and connections) of one record: 2^40, about 10^12. A sum of 2^23 such
// records still fits a uint64; sums saturate anyway (common/aggregate/saturating.h).
inline constexpr uint64_t kMaxRecordCount = uint64_t{1} << 40;

// The tunable part of the limits. Plain data; the defaults are the contract.
struct BatchLimits {
  int max_records_per_batch = kMaxRecordsPerBatch;
  int64_t max_future_ns = kMaxFutureNs;
};

// Checks `batch` at collector time `now_ns`: 1 <= seq <= kMaxSeq; 0 < start <= end <=
// now + max_future_ns; at most max_records_per_batch records; each record with client and
// server IPs of 4 or 16 bytes and the same length, server_port 1..65535, 1 <= packets <=
// kMaxRecordCount and connections <= packets, 0 < first_seen <= last_seen, both inside
// [start, end]. Returns InvalidArgument naming the seq, the record index, the limit and the
// offending value, and sets `*limit` (if not null) to the limit's short name ("seq",
// "window", "future", "records_per_batch", "ip_length", "ip_family", "port", "counts",
// "timestamps") for counters. Does not look at any store (duplicates, seq order).
[[nodiscard]] absl::Status CheckBatch(const synmap::v1::Batch& batch, int64_t now_ns,
                                      const BatchLimits& limits, std::string* limit);

// CheckBatch with the default limits, plus at most kMaxBatchBytes encoded.
[[nodiscard]] absl::Status ValidateBatch(const synmap::v1::Batch& batch, int64_t now_ns);

// Returns OK for a non-empty sensor name of at most kMaxSensorNameBytes; else InvalidArgument.
[[nodiscard]] absl::Status ValidateSensorName(absl::string_view sensor);

}  // namespace synmap::collector::internal
