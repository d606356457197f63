#pragma once

// The one conversion between the wire (synmap.v1) and the batch contract's plain data, the one
// batch validator, and a batch's content digest. The ingest service checks what arrives, every
// store checks again (it trusts no caller), the sensor encodes what it sends: all with this.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/batch/batch.h"
#include "synmap/v1/ingest.pb.h"

namespace synmap::common {

// The trailing-metadata key with which the collector names the batch that ended an
// Ingest.Stream (INVALID_ARGUMENT: refused by a limit or by the store; RESOURCE_EXHAUSTED: too
// large): that batch's seq in decimal. The sensor quarantines exactly that batch; it never
// reads a seq out of the status text.
inline constexpr char kRefusedSeqMetadataKey[] = "synmap-refused-seq";

// Checks `batch` at collector time `now_ns`: 1 <= seq <= kMaxSeq; 0 < start <= end <= now +
// max_future_ns; at most max_records_per_batch records; each record with client and server IPs
// of 4 or 16 bytes and the same length, server_port 1..65535, 1 <= packets <= kMaxRecordCount
// and connections <= packets, 0 < first_seen <= last_seen, both inside [start, end]. Returns
// InvalidArgument naming the seq, the record index, the limit and the offending value, and sets
// `*limit` (if not null) to the limit's short name ("seq", "window", "future",
// "records_per_batch", "ip_length", "ip_family", "port", "counts", "timestamps",
// "handshakes") for counters. Handshake fingerprints: none, or exactly one per connection
// (summed over the records) and at most kMaxHandshakesPerBatch, with as many offsets, each at
// most the window's length in whole milliseconds.
// Does not look at any store (duplicates, seq order).
[[nodiscard]] absl::Status CheckBatch(const synmap::v1::Batch& batch, int64_t now_ns,
                                      const BatchLimits& limits, std::string* limit);
// The same rules on the plain form.
[[nodiscard]] absl::Status CheckBatch(const SequencedBatch& batch, int64_t now_ns,
                                      const BatchLimits& limits, std::string* limit);

// OK for a non-empty sensor name of at most kMaxSensorNameBytes; else InvalidArgument.
[[nodiscard]] absl::Status ValidateSensorName(absl::string_view sensor);

// CheckBatch, then the plain form of `proto`. Errors: as CheckBatch.
[[nodiscard]] absl::StatusOr<SequencedBatch> BatchFromProto(const synmap::v1::Batch& proto,
                                                            int64_t now_ns,
                                                            const BatchLimits& limits,
                                                            std::string* limit);
// The plain form of `proto` without the limits (for batches read back from a store or a
// spool). InvalidArgument only if an address is not 4 or 16 bytes, a port exceeds 65535 or the
// two handshake arrays differ in length.
[[nodiscard]] absl::StatusOr<SequencedBatch> DecodeBatch(const synmap::v1::Batch& proto);
// The wire form; DecodeBatch(BatchToProto(b)) == b for every b.
synmap::v1::Batch BatchToProto(const SequencedBatch& batch);
// Appends `handshakes` to `out`'s two handshake arrays (BatchToProto's part for them).
void HandshakesToProto(const std::vector<Handshake>& handshakes, synmap::v1::Batch* out);
// BatchToProto(batch) serialized (the form stores keep and digests are taken over).
// InvalidArgument if it exceeds kMaxBatchBytes ("limit bytes").
[[nodiscard]] absl::StatusOr<std::string> EncodeBatch(const SequencedBatch& batch);

SensorHealth HealthFromProto(const synmap::v1::SensorHealth& proto);
synmap::v1::SensorHealth HealthToProto(const SensorHealth& health);
SensorInfo SensorInfoFromProto(const synmap::v1::Hello& proto);
synmap::v1::Hello SensorInfoToProto(const SensorInfo& info);
CaptureStats StatsFromProto(const synmap::v1::CaptureStats& proto);
void StatsToProto(const CaptureStats& stats, synmap::v1::CaptureStats* out);

// Bytes of a batch digest.
inline constexpr size_t kBatchDigestBytes = 32;

// The content identity of a batch: SHA-256 over its serialized top-level fields except seq
// (field 1) and health (field 6), in the order serialized. Health changes at every send and
// seq is the batch's name, not its content; everything else (window, stats, records,
// merged_from) is the data. `serialized` is a synmap.v1.Batch as this program serializes it
// (fields in number order); the same content therefore always gives the same digest.
// Returns kBatchDigestBytes bytes, or an empty string if `serialized` is not well-formed
// wire format.
std::string BatchDigest(absl::string_view serialized);
// The digest of BatchToProto(batch) serialized.
std::string BatchDigest(const SequencedBatch& batch);

}  // namespace synmap::common
