#include "collector/store/internal/batch_validation.h"

#include "absl/strings/str_cat.h"

namespace synmap::collector::internal {
namespace {

absl::Status RecordError(const synmap::v1::Batch& batch, int index, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("batch seq ", batch.seq(), " record ", index, ": ", what));
}

absl::Status ValidateRecord(const synmap::v1::Batch& batch, int index) {
  const synmap::v1::Record& r = batch.records(index);
  const size_t client_len = r.client_ip().size();
  if ((client_len != 4 && client_len != 16) || r.server_ip().size() != client_len) {
    return RecordError(batch, index, "ip addresses must be 4 or 16 bytes, both the same family");
  }
  if (r.server_port() < 1 || r.server_port() > 65535) {
    return RecordError(batch, index,
                       absl::StrCat("server_port ", r.server_port(), " outside 1..65535"));
  }
  if (r.connections() > r.packets()) {
    return RecordError(batch, index, "connections exceed packets");
  }
  if (r.first_seen_unix_ns() <= 0 || r.first_seen_unix_ns() > r.last_seen_unix_ns()) {
    return RecordError(batch, index, "timestamps must be > 0 with first_seen <= last_seen");
  }
  if (r.first_seen_unix_ns() < batch.start_unix_ns() ||
      r.last_seen_unix_ns() > batch.end_unix_ns()) {
    return RecordError(batch, index, "timestamps outside the batch window");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateBatch(const synmap::v1::Batch& batch, int64_t now_ns) {
  if (batch.seq() < 1) {
    return absl::InvalidArgumentError("batch seq must be >= 1");
  }
  if (batch.ByteSizeLong() > kMaxBatchBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch seq ", batch.seq(), ": larger than ", kMaxBatchBytes, " bytes"));
  }
  if (batch.records_size() > kMaxRecordsPerBatch) {
    return absl::InvalidArgumentError(absl::StrCat("batch seq ", batch.seq(), ": ",
                                                   batch.records_size(), " records exceed ",
                                                   kMaxRecordsPerBatch));
  }
  if (batch.start_unix_ns() <= 0 || batch.end_unix_ns() < batch.start_unix_ns()) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch seq ", batch.seq(), ": window must have 0 < start <= end"));
  }
  if (batch.end_unix_ns() > now_ns + kMaxFutureNs) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch seq ", batch.seq(), ": window ends more than 1 day in the collector's future"));
  }
  for (int i = 0; i < batch.records_size(); ++i) {
    absl::Status status = ValidateRecord(batch, i);
    if (!status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSensorName(absl::string_view sensor) {
  if (sensor.empty() || sensor.size() > kMaxSensorNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("sensor name must be 1..", kMaxSensorNameBytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace synmap::collector::internal
