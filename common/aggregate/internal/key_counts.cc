#include "common/aggregate/internal/key_counts.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "common/aggregate/parallel_sort.h"
#include "common/log/log.h"

namespace synmap::common::internal {
namespace {

// RecordKey is two 17-byte addresses and a port with no padding, so its 36 bytes are the key:
// equality and hashing can work on them directly.
static_assert(sizeof(RecordKey) == 36, "RecordKey must have no padding");

uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool SameKey(const RecordKey& a, const RecordKey& b) {
  const auto* p = reinterpret_cast<const uint8_t*>(&a);
  const auto* q = reinterpret_cast<const uint8_t*>(&b);
  return ((Load64(p) ^ Load64(q)) | (Load64(p + 8) ^ Load64(q + 8)) |
          (Load64(p + 16) ^ Load64(q + 16)) | (Load64(p + 24) ^ Load64(q + 24)) |
          (Load32(p + 32) ^ Load32(q + 32))) == 0;
}

// RecordKey's order (client, then server, each by length then bytes, then port) as a
// comparison of big-endian words: the first 34 bytes compare as bytes, the port as a number.
bool KeyLess(const RecordKey& a, const RecordKey& b) {
  const auto* p = reinterpret_cast<const uint8_t*>(&a);
  const auto* q = reinterpret_cast<const uint8_t*>(&b);
  for (size_t offset = 0; offset < 32; offset += 8) {
    const uint64_t x = __builtin_bswap64(Load64(p + offset));
    const uint64_t y = __builtin_bswap64(Load64(q + offset));
    if (x != y) {
      return x < y;
    }
  }
  const uint32_t x = uint32_t{p[32]} << 24 | uint32_t{p[33]} << 16 | a.server_port;
  const uint32_t y = uint32_t{q[32]} << 24 | uint32_t{q[33]} << 16 | b.server_port;
  return x < y;
}

}  // namespace

uint32_t KeyCounts::Hash(const RecordKey& key) {
  const auto* p = reinterpret_cast<const uint8_t*>(&key);
  // Multiply-xorshift over the key's words; the multipliers are odd 64-bit constants.
  uint64_t h = Load64(p) * 0x9e3779b97f4a7c15ULL;
  h ^= Load64(p + 8) * 0xc2b2ae3d27d4eb4fULL;
  h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ULL;
  h ^= Load64(p + 16) * 0x165667b19e3779f9ULL;
  h ^= Load64(p + 24) * 0x27d4eb2f165667c5ULL;
  h = (h ^ (h >> 31)) * 0x94d049bb133111ebULL;
  h ^= static_cast<uint64_t>(Load32(p + 32)) * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ULL;
  return static_cast<uint32_t>(h >> 32);
}

void KeyCounts::PrefetchRecord(uint32_t hash) const {
  if (slots_.empty()) {
    return;
  }
  // Only the home slot: most keys sit there, and a hint must stay cheap.
  const uint64_t slot = slots_[hash & mask_];
  if (slot != 0 && static_cast<uint32_t>(slot >> 32) == hash) {
    __builtin_prefetch(&At(static_cast<uint32_t>(slot) - 1));
  }
}

template <typename Make>
Record& KeyCounts::FindOrAdd(const RecordKey& key, uint32_t hash, Make make, bool& added) {
  if (slots_.empty()) {
    Rehash(kMinSlots);
  }
  const uint64_t tag = uint64_t{hash} << 32;
  size_t i = hash & mask_;
  while (true) {
    const uint64_t slot = slots_[i];
    if (slot == 0) {
      break;
    }
    if ((slot & 0xFFFFFFFF00000000ULL) == tag) {
      Record& candidate = At(static_cast<uint32_t>(slot) - 1);
      if (SameKey(candidate.key, key)) {
        added = false;
        return candidate;
      }
    }
    i = (i + 1) & mask_;
  }
  const size_t position = size();
  SYNMAP_CHECK(position < std::numeric_limits<uint32_t>::max())
      << "more than 2^32 keys in one window";
  slots_[i] = tag | (position + 1);
  if (blocks_.empty() || blocks_.back().size() == kBlockRecords) {
    // A new block; the full ones stay where they are.
    blocks_.emplace_back().reserve(kBlockRecords);
  }
  Record& record = blocks_.back().emplace_back(make());
  if ((position + 1) * 8 > slots_.size() * 7) {
    Rehash(slots_.size() * 2);
  }
  added = true;
  return record;
}

void KeyCounts::AddHashed(const RecordKey& key, uint32_t hash, int64_t timestamp_ns,
                          bool new_connection) {
  bool added = false;
  Record& record = FindOrAdd(
      key, hash,
      [&] {
        return Record{.key = key, .first_seen_ns = timestamp_ns, .last_seen_ns = timestamp_ns};
      },
      added);
  if (!added) {
    record.first_seen_ns = std::min(record.first_seen_ns, timestamp_ns);
    record.last_seen_ns = std::max(record.last_seen_ns, timestamp_ns);
  }
  ++record.packets;
  if (new_connection) {
    ++record.connections;
  }
}

void KeyCounts::Merge(const Record& record) {
  bool added = false;
  Record& mine = FindOrAdd(
      record.key, Hash(record.key), [&] { return record; }, added);
  if (!added) {
    mine.MergeFrom(record);
  }
}

void KeyCounts::Rehash(size_t slots) {
  // A slot's hash bits give its new home, so growing never reads the records.
  std::vector<uint64_t> old(slots, 0);
  old.swap(slots_);
  mask_ = slots - 1;
  for (const uint64_t slot : old) {
    if (slot == 0) {
      continue;
    }
    size_t i = static_cast<size_t>(slot >> 32) & mask_;
    while (slots_[i] != 0) {
      i = (i + 1) & mask_;
    }
    slots_[i] = slot;
  }
}

std::vector<Record> KeyCounts::Take(bool two_threads) {
  // One vector of exactly the records, each block freed as soon as it is copied (the index
  // before them): the records are held once plus one block at the peak, if freed blocks go back
  // to the system.
  std::vector<Record> out;
  out.reserve(size());
  std::vector<std::vector<Record>> blocks = TakeBlocks();
  for (std::vector<Record>& block : blocks) {
    out.insert(out.end(), block.begin(), block.end());
    std::vector<Record>().swap(block);
  }
  auto less = [](const Record& a, const Record& b) { return KeyLess(a.key, b.key); };
  if (two_threads) {
    ParallelSort(out.begin(), out.end(), less);
  } else {
    std::sort(out.begin(), out.end(), less);
  }
  return out;
}

std::vector<std::vector<Record>> KeyCounts::TakeBlocks() {
  // The index goes first: whatever the caller does with the blocks, it is not needed.
  std::vector<uint64_t>().swap(slots_);
  mask_ = 0;
  return std::exchange(blocks_, {});
}

}  // namespace synmap::common::internal
