#include "collector/store/internal/batch_validation.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace synmap::collector::internal {
namespace {

// Builds the refusal status and names the limit.
absl::Status Refuse(const synmap::v1::Batch& batch, absl::string_view limit_name,
                    absl::string_view detail, std::string* limit) {
  if (limit != nullptr) {
    *limit = std::string(limit_name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("batch seq ", batch.seq(), ": ", detail, " (limit ", limit_name, ")"));
}

absl::Status CheckRecord(const synmap::v1::Batch& batch, int index, std::string* limit) {
  const synmap::v1::Record& r = batch.records(index);
  const std::string at = absl::StrCat("record ", index, ": ");
  const size_t client_len = r.client_ip().size();
  const size_t server_len = r.server_ip().size();
  if ((client_len != 4 && client_len != 16) || (server_len != 4 && server_len != 16)) {
    return Refuse(batch, "ip_length",
                  absl::StrCat(at, "client_ip is ", client_len, " bytes and server_ip ", server_len,
                               " bytes; each must be 4 or 16"),
                  limit);
  }
  if (client_len != server_len) {
    return Refuse(batch, "ip_family",
                  absl::StrCat(at, "client_ip and server_ip are of different families"), limit);
  }
  if (r.server_port() < 1 || r.server_port() > 65535) {
    return Refuse(batch, "port",
                  absl::StrCat(at, "server_port ", r.server_port(), " is outside 1..65535"), limit);
  }
  if (r.packets() < 1 || r.packets() > kMaxRecordCount || r.connections() > r.packets()) {
    return Refuse(batch, "counts",
                  absl::StrCat(at, "packets ", r.packets(), " and connections ", r.connections(),
                               " (need 1 <= packets <= 2^40 = ", kMaxRecordCount,
                               " and connections <= packets)"),
                  limit);
  }
  if (r.first_seen_unix_ns() <= 0 || r.first_seen_unix_ns() > r.last_seen_unix_ns() ||
      r.first_seen_unix_ns() < batch.start_unix_ns() ||
      r.last_seen_unix_ns() > batch.end_unix_ns()) {
    return Refuse(batch, "timestamps",
                  absl::StrCat(at, "first_seen ", r.first_seen_unix_ns(), " and last_seen ",
                               r.last_seen_unix_ns(),
                               " must satisfy 0 < first <= last and lie "
                               "inside the batch window [",
                               batch.start_unix_ns(), ", ", batch.end_unix_ns(), "]"),
                  limit);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckBatch(const synmap::v1::Batch& batch, int64_t now_ns, const BatchLimits& limits,
                        std::string* limit) {
  if (batch.seq() < 1 || batch.seq() > kMaxSeq) {
    return Refuse(batch, "seq",
                  absl::StrCat("seq must be 1..2^63-1 (", kMaxSeq, "); a sensor never gets there"),
                  limit);
  }
  if (batch.start_unix_ns() <= 0 || batch.end_unix_ns() < batch.start_unix_ns()) {
    return Refuse(batch, "window",
                  absl::StrCat("window [", batch.start_unix_ns(), ", ", batch.end_unix_ns(),
                               "] must satisfy 0 < start <= end"),
                  limit);
  }
  const int64_t latest_end = now_ns > std::numeric_limits<int64_t>::max() - limits.max_future_ns
                                 ? std::numeric_limits<int64_t>::max()
                                 : now_ns + limits.max_future_ns;
  if (batch.end_unix_ns() > latest_end) {
    return Refuse(batch, "future",
                  absl::StrCat("window end ", batch.end_unix_ns(), " is more than ",
                               limits.max_future_ns / 1'000'000'000,
                               " s ahead of the collector clock (", now_ns, ")"),
                  limit);
  }
  if (batch.records_size() > limits.max_records_per_batch) {
    return Refuse(batch, "records_per_batch",
                  absl::StrCat(batch.records_size(), " records, at most ",
                               limits.max_records_per_batch, " allowed"),
                  limit);
  }
  for (int i = 0; i < batch.records_size(); ++i) {
    absl::Status s = CheckRecord(batch, i, limit);
    if (!s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateBatch(const synmap::v1::Batch& batch, int64_t now_ns) {
  if (batch.ByteSizeLong() > kMaxBatchBytes) {
    return absl::InvalidArgumentError(absl::StrCat("batch seq ", batch.seq(), ": larger than ",
                                                   kMaxBatchBytes, " bytes (limit bytes)"));
  }
  return CheckBatch(batch, now_ns, BatchLimits(), nullptr);
}

absl::Status ValidateSensorName(absl::string_view sensor) {
  if (sensor.empty() || sensor.size() > kMaxSensorNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("sensor name must be 1..", kMaxSensorNameBytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace synmap::collector::internal
