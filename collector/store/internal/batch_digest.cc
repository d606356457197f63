#include "collector/store/internal/batch_digest.h"

#include <openssl/evp.h>
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>

namespace synmap::collector::internal {
namespace {

constexpr uint32_t kSeqField = 1;
constexpr uint32_t kHealthField = 6;

std::optional<uint64_t> ReadVarint(absl::string_view data, size_t& pos) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64 && pos < data.size(); shift += 7) {
    const auto byte = static_cast<uint8_t>(data[pos++]);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      return value;
    }
  }
  return std::nullopt;
}

// The end of the field whose value starts at `pos`, or nullopt if malformed.
std::optional<size_t> SkipValue(absl::string_view data, size_t pos, uint32_t wire_type) {
  switch (wire_type) {
    case 0:
      if (!ReadVarint(data, pos).has_value()) {
        return std::nullopt;
      }
      return pos;
    case 1:
      return pos + 8 <= data.size() ? std::optional<size_t>(pos + 8) : std::nullopt;
    case 2: {
      const std::optional<uint64_t> len = ReadVarint(data, pos);
      if (!len.has_value() || *len > data.size() - pos) {
        return std::nullopt;
      }
      return pos + *len;
    }
    case 5:
      return pos + 4 <= data.size() ? std::optional<size_t>(pos + 4) : std::nullopt;
    default:
      return std::nullopt;  // Groups are not used by synmap.v1.
  }
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

void DigestSqlFunction(sqlite3_context* context, int argc, sqlite3_value** argv) {
  if (argc != 1 || sqlite3_value_type(argv[0]) != SQLITE_BLOB) {
    sqlite3_result_zeroblob(context, 0);
    return;
  }
  const auto* data = static_cast<const char*>(sqlite3_value_blob(argv[0]));
  const int size = sqlite3_value_bytes(argv[0]);
  const std::string digest = BatchDigest(absl::string_view(data, static_cast<size_t>(size)));
  sqlite3_result_blob(context, digest.data(), static_cast<int>(digest.size()), SQLITE_TRANSIENT);
}

}  // namespace

std::string BatchDigest(absl::string_view serialized) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return "";
  }
  size_t pos = 0;
  while (pos < serialized.size()) {
    const size_t field_start = pos;
    const std::optional<uint64_t> tag = ReadVarint(serialized, pos);
    if (!tag.has_value() || (*tag >> 3) == 0) {
      return "";
    }
    const std::optional<size_t> end = SkipValue(serialized, pos, static_cast<uint32_t>(*tag & 7));
    if (!end.has_value()) {
      return "";
    }
    const uint64_t field = *tag >> 3;
    if (field != kSeqField && field != kHealthField &&
        EVP_DigestUpdate(ctx.get(), serialized.data() + field_start, *end - field_start) != 1) {
      return "";
    }
    pos = *end;
  }
  std::string out(kBatchDigestBytes, '\0');
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != kBatchDigestBytes) {
    return "";
  }
  return out;
}

int RegisterBatchDigestFunction(sqlite3* db) {
  return sqlite3_create_function_v2(db, "synmap_batch_digest", 1,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, &DigestSqlFunction,
                                    nullptr, nullptr, nullptr);
}

}  // namespace synmap::collector::internal
