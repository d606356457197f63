#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/batch/batch.h"
#include "synmap/v1/ingest.pb.h"

namespace synmap::collector {

// The named ingest limits of ingest.proto. Plain data; the defaults are the contract.
struct IngestLimits {
  // Largest encoded message the server accepts (gRPC max receive size; larger messages end
  // the stream with RESOURCE_EXHAUSTED before they reach a handler).
  int max_message_bytes = static_cast<int>(common::kMaxBatchBytes);
  // Records in one batch.
  int max_records_per_batch = common::kMaxRecordsPerBatch;
  // How far in the collector's future a batch's window may end.
  int64_t max_future_ns = common::kMaxFutureNs;  // 1 day.
};

// Checks `batch` against `limits` at collector time `now_unix_ns` with the one batch
// validator (common/batch/batch_codec.h, also run by every store): 1 <= seq
// <= 2^63-1; 0 < start <= end <= now + max_future; at most max_records_per_batch records;
// each record with client and server IPs of 4 or 16 bytes and the same length, server_port
// 1..65535, 1 <= packets <= 2^40 and connections <= packets, 0 < first_seen <= last_seen,
// both inside [start, end]. Returns InvalidArgument naming the seq, the record index, the limit and
// the offending value, and sets `*limit` (if not null) to the limit's short name
// ("seq", "window", "future", "records_per_batch", "ip_length", "ip_family", "port",
// "counts", "timestamps") for counters. Does not look at the store (duplicates, seq order).
// The batch part of `limits`, for common::BatchFromProto.
common::BatchLimits ToBatchLimits(const IngestLimits& limits);

[[nodiscard]] absl::Status ValidateBatch(const synmap::v1::Batch& batch, int64_t now_unix_ns,
                                         const IngestLimits& limits, std::string* limit);

}  // namespace synmap::collector
