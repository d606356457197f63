#include "collector/server/batch_limits.h"

#include "collector/store/internal/batch_validation.h"

namespace synmap::collector {

absl::Status ValidateBatch(const synmap::v1::Batch& batch, int64_t now_unix_ns,
                           const IngestLimits& limits, std::string* limit) {
  internal::BatchLimits batch_limits;
  batch_limits.max_records_per_batch = limits.max_records_per_batch;
  batch_limits.max_future_ns = limits.max_future_ns;
  return internal::CheckBatch(batch, now_unix_ns, batch_limits, limit);
}

}  // namespace synmap::collector
