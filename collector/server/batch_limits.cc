#include "collector/server/batch_limits.h"

#include "common/batch/batch_codec.h"

namespace synmap::collector {

common::BatchLimits ToBatchLimits(const IngestLimits& limits) {
  return common::BatchLimits{.max_records_per_batch = limits.max_records_per_batch,
                             .max_future_ns = limits.max_future_ns};
}

absl::Status ValidateBatch(const synmap::v1::Batch& batch, int64_t now_unix_ns,
                           const IngestLimits& limits, std::string* limit) {
  return common::CheckBatch(batch, now_unix_ns, ToBatchLimits(limits), limit);
}

}  // namespace synmap::collector
