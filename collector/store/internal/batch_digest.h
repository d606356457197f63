#pragma once

#include <sqlite3.h>

namespace synmap::collector::internal {

// Registers the SQL function synmap_batch_digest(body) (= common::BatchDigest of a serialized
// batch) on `db`, used by the schema's trigger that stores each committed batch's digest.
// Returns an SQLite result code.
int RegisterBatchDigestFunction(sqlite3* db);

}  // namespace synmap::collector::internal
