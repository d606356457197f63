#include "collector/store/internal/batch_digest.h"

#include <string>

#include "absl/strings/string_view.h"
#include "common/batch/batch_codec.h"

namespace synmap::collector::internal {
namespace {

void DigestSqlFunction(sqlite3_context* context, int argc, sqlite3_value** argv) {
  if (argc != 1 || sqlite3_value_type(argv[0]) != SQLITE_BLOB) {
    sqlite3_result_zeroblob(context, 0);
    return;
  }
  const auto* data = static_cast<const char*>(sqlite3_value_blob(argv[0]));
  const int size = sqlite3_value_bytes(argv[0]);
  const std::string digest =
      common::BatchDigest(absl::string_view(data, static_cast<size_t>(size)));
  sqlite3_result_blob(context, digest.data(), static_cast<int>(digest.size()), SQLITE_TRANSIENT);
}

}  // namespace

int RegisterBatchDigestFunction(sqlite3* db) {
  return sqlite3_create_function_v2(db, "synmap_batch_digest", 1,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, &DigestSqlFunction,
                                    nullptr, nullptr, nullptr);
}

}  // namespace synmap::collector::internal
