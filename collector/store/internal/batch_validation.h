#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "synmap/v1/ingest.pb.h"

namespace synmap::collector::internal {

// The ingest limits of ingest.proto, checked again by the store (it trusts no caller).
inline constexpr uint64_t kMaxBatchBytes = 16u << 20;
inline constexpr int kMaxRecordsPerBatch = 200'000;
inline constexpr int64_t kMaxFutureNs = 86'400'000'000'000;  // 1 day.
inline constexpr size_t kMaxSensorNameBytes = 256;

// Returns OK when `batch` respects every limit, judged at collector time `now_ns`; else
// InvalidArgument naming the seq, the record index and the limit.
[[nodiscard]] absl::Status ValidateBatch(const synmap::v1::Batch& batch, int64_t now_ns);

// Returns OK for a non-empty sensor name of at most kMaxSensorNameBytes; else InvalidArgument.
[[nodiscard]] absl::Status ValidateSensorName(absl::string_view sensor);

}  // namespace synmap::collector::internal
