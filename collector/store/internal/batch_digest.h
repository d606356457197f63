#pragma once

#include <sqlite3.h>

#include <string>

#include "absl/strings/string_view.h"

namespace synmap::collector::internal {

// Bytes of a BatchDigest.
inline constexpr size_t kBatchDigestBytes = 32;

// The content identity of a batch: SHA-256 over its serialized top-level fields except seq
// (field 1) and health (field 6), in the order serialized. Health changes at every send and
// seq is the batch's name, not its content; everything else (window, stats, records,
// merged_from) is the data. `serialized` is a synmap.v1.Batch as this program serializes it
// (fields in number order); the same content therefore always gives the same digest.
// Returns kBatchDigestBytes bytes, or an empty string if `serialized` is not well-formed
// wire format (the store never stores such a body).
std::string BatchDigest(absl::string_view serialized);

// Registers the SQL function synmap_batch_digest(body) (= BatchDigest) on `db`, used by the
// schema's trigger that stores each committed batch's digest. Returns an SQLite result code.
int RegisterBatchDigestFunction(sqlite3* db);

}  // namespace synmap::collector::internal
