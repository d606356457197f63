#include "collector/store/internal/aggregate_index.h"

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <numeric>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/aggregate/saturating.h"

namespace synmap::collector::internal {
namespace {

// Checkpoint chunk format 3: "SMA3", u32 row count, i64 bucket start, i64 bucket width,
// i64 overhang, then rows of kRowBytes3, then a u32 CRC-32 (zlib) of every byte before it;
// little-endian. A row: u32 sensor, u8 client length, 16 client bytes, u8 server length,
// 16 server bytes, u16 port, u64 packets, u64 connections, i64 first_seen_ns, i64 last_seen_ns,
// u64 duplicates. Format 2: "SMA2", the same without duplicates (kRowBytes a row).
// Format 1 (older stores): "SMA1", u32 row count, rows; no checksum, width from the checkpoint.
constexpr char kChunkMagic3[4] = {'S', 'M', 'A', '3'};
constexpr char kChunkMagic2[4] = {'S', 'M', 'A', '2'};
constexpr char kChunkMagic1[4] = {'S', 'M', 'A', '1'};
constexpr size_t kHeaderBytes2 = 4 + 4 + 8 * 3;
constexpr size_t kHeaderBytes1 = 8;
constexpr size_t kCrcBytes = 4;
constexpr size_t kRowBytes = 4 + 1 + 16 + 1 + 16 + 2 + 8 * 4;
constexpr size_t kRowBytes3 = kRowBytes + 8;

template <typename T>
void Put(std::string& out, T value) {
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));  // Hosts are little-endian (x86-64, arm64).
  out.append(raw, sizeof(T));
}

template <typename T>
T Get(const char*& p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  p += sizeof(T);
  return value;
}

uint32_t Crc32(absl::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t done = 0;
  while (done < bytes.size()) {
    const size_t n = std::min<size_t>(bytes.size() - done, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + done), static_cast<uInt>(n));
    done += n;
  }
  return static_cast<uint32_t>(crc);
}

void PutIp(std::string& out, const common::IpAddress& ip) {
  out.push_back(static_cast<char>(ip.length));
  out.append(reinterpret_cast<const char*>(ip.bytes.data()), 16);
}

bool GetIp(const char*& p, common::IpAddress* ip) {
  ip->length = static_cast<uint8_t>(*p++);
  std::memcpy(ip->bytes.data(), p, 16);
  p += 16;
  return ip->length == 4 || ip->length == 16;
}

// Sharing check for copy-on-write: 1 means only the index holds it (snapshots get their
// copies only from the index, under the store's lock, so the count cannot rise from 1 while
// the writer holds that lock). The acquire fence pairs with the release in shared_ptr's
// decrement, so a finished snapshot's reads happen before our writes.
template <typename T>
bool IsUnique(const std::shared_ptr<T>& p) {
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer cannot model that fence (GCC rejects it): always copy, which is always
  // correct, only slower, so TSan still checks everything else.
  (void)p;
  return false;
#else
  const bool unique = p.use_count() == 1;
  std::atomic_thread_fence(std::memory_order_acquire);
  return unique;
#endif
}

}  // namespace

AggregateIndex::AggregateIndex(std::vector<BucketTier> tiers, const OverlapOptions& overlap)
    : tiers_(std::move(tiers)) {
  if (overlap.enabled) {
    overlap_.emplace(absl::ToInt64Nanoseconds(overlap.window + overlap.skew_tolerance),
                     absl::ToInt64Nanoseconds(overlap.horizon),
                     static_cast<size_t>(overlap.max_memory_bytes));
  }
}

int64_t AggregateIndex::FloorTo(int64_t t_ns, int64_t width_ns) {
  int64_t q = t_ns / width_ns;
  if (t_ns % width_ns < 0) {
    --q;
  }
  return q * width_ns;
}

int64_t AggregateIndex::TierWidth(int64_t t_ns, int64_t now_ns) const {
  // Tier i holds times from FloorTo(now - max_age_i, width_{i+1}) on: the boundary sits on an
  // edge of the next tier, so the fine buckets of a tier fill whole coarse buckets.
  for (size_t i = 0; i + 1 < tiers_.size(); ++i) {
    if (t_ns >= FloorTo(now_ns - tiers_[i].max_age_ns, tiers_[i + 1].width_ns)) {
      return tiers_[i].width_ns;
    }
  }
  return tiers_.back().width_ns;
}

void AggregateIndex::BeginMutation() {
  ips_unique_ = false;
  keys_unique_ = false;
}

uint32_t AggregateIndex::InternIp(const common::IpAddress& ip) {
  auto [it, inserted] = ip_ids_.try_emplace(ip, static_cast<uint32_t>(ip_ids_.size()));
  if (inserted) {
    if (!ips_unique_ && !IsUnique(ips_)) {
      ips_ = std::make_shared<std::vector<common::IpAddress>>(*ips_);
    }
    ips_unique_ = true;
    ips_->push_back(ip);
  }
  return it->second;
}

uint32_t AggregateIndex::InternKey(const AggregateKey& key) {
  auto [it, inserted] = key_ids_.try_emplace(key, static_cast<uint32_t>(key_ids_.size()));
  if (inserted) {
    if (!keys_unique_ && !IsUnique(keys_)) {
      keys_ = std::make_shared<std::vector<AggregateKey>>(*keys_);
    }
    keys_unique_ = true;
    keys_->push_back(key);
  }
  return it->second;
}

const AggregateBucket* AggregateIndex::Holding(int64_t t_ns) const {
  auto it = buckets_.upper_bound(t_ns);
  if (it == buckets_.begin()) {
    return nullptr;
  }
  --it;
  const AggregateBucket& b = *it->second;
  return t_ns - b.start_ns < b.width_ns ? &b : nullptr;
}

AggregateBucket* AggregateIndex::MutableBucket(int64_t start_ns, int64_t width_ns) {
  auto found = buckets_.find(start_ns);
  if (found != buckets_.end() && found->second->width_ns == width_ns) {
    std::shared_ptr<AggregateBucket>& slot = found->second;
    if (!IsUnique(slot)) {
      slot = std::make_shared<AggregateBucket>(*slot);  // A snapshot holds it: copy on write.
    }
    if (mark_dirty_) {
      dirty_.insert(start_ns);
    }
    AggregateBucket* out = slot.get();
    EnsureIndex(out);
    NoteHot(start_ns);
    return out;
  }
  // A new bucket absorbs the finer buckets inside its span (roll-up), so buckets never overlap.
  auto merged = std::make_shared<AggregateBucket>();
  merged->start_ns = start_ns;
  merged->width_ns = width_ns;
  for (auto it = buckets_.lower_bound(start_ns);
       it != buckets_.end() && it->first < start_ns + width_ns;) {
    MergeInto(merged.get(), *it->second);
    rows_ -= it->second->size();
    dirty_.insert(it->first);
    it = buckets_.erase(it);
  }
  if (mark_dirty_) {
    dirty_.insert(start_ns);
  }
  AggregateBucket* out = merged.get();
  buckets_[start_ns] = std::move(merged);
  NoteHot(start_ns);
  return out;
}

void AggregateIndex::NoteHot(int64_t start_ns) {
  if (!hot_.empty() && hot_.front() == start_ns) {
    return;
  }
  auto found = std::find(hot_.begin(), hot_.end(), start_ns);
  if (found == hot_.end()) {
    hot_.push_back(start_ns);
    found = hot_.end() - 1;
  }
  std::rotate(hot_.begin(), found, found + 1);
  if (hot_.size() <= kHotBuckets) {
    return;
  }
  // The bucket found there may since have been merged away or replaced: settling whatever
  // bucket now starts there is still right, as an index is rebuilt when needed.
  auto it = buckets_.find(hot_.back());
  hot_.pop_back();
  if (it != buckets_.end()) {
    Settle(it->second.get(), IsUnique(it->second));
  }
}

void AggregateIndex::Settle(AggregateBucket* bucket, bool unique) {
  // Snapshots read the columns, never the index, so the index may go even when one holds the
  // bucket; the columns may be reallocated only when none does.
  absl::flat_hash_map<uint32_t, uint32_t>().swap(bucket->index);
  if (unique) {
    bucket->key.shrink_to_fit();
    bucket->packets.shrink_to_fit();
    bucket->connections.shrink_to_fit();
    bucket->duplicates.shrink_to_fit();
    bucket->first_seen_ns.shrink_to_fit();
    bucket->last_seen_ns.shrink_to_fit();
  }
}

void AggregateIndex::EnsureIndex(AggregateBucket* bucket) {
  if (bucket->index.size() == bucket->size()) {
    return;  // Kept up to date while the bucket is hot (every row's key is in it once).
  }
  bucket->index.clear();
  bucket->index.reserve(bucket->size());
  for (size_t r = 0; r < bucket->size(); ++r) {
    bucket->index.emplace(bucket->key[r], static_cast<uint32_t>(r));
  }
}

uint64_t AggregateIndex::SaturatingAdd(uint64_t a, uint64_t b) {
  uint64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) {
    ++saturated_;
    return std::numeric_limits<uint64_t>::max();
  }
  return sum;
}

void AggregateIndex::AddKeyRow(AggregateBucket* bucket, uint32_t key, uint64_t packets,
                               uint64_t connections, uint64_t duplicates, int64_t first_ns,
                               int64_t last_ns) {
  auto [it, inserted] = bucket->index.try_emplace(key, static_cast<uint32_t>(bucket->size()));
  if (inserted) {
    bucket->key.push_back(key);
    bucket->packets.push_back(packets);
    bucket->connections.push_back(connections);
    bucket->duplicates.push_back(std::min(duplicates, connections));
    bucket->first_seen_ns.push_back(first_ns);
    bucket->last_seen_ns.push_back(last_ns);
    ++rows_;
    return;
  }
  const uint32_t row = it->second;
  bucket->packets[row] = SaturatingAdd(bucket->packets[row], packets);
  bucket->connections[row] = SaturatingAdd(bucket->connections[row], connections);
  bucket->duplicates[row] = std::min(bucket->connections[row],
                                     common::SaturatingAdd(bucket->duplicates[row], duplicates));
  bucket->first_seen_ns[row] = std::min(bucket->first_seen_ns[row], first_ns);
  bucket->last_seen_ns[row] = std::max(bucket->last_seen_ns[row], last_ns);
}

void AggregateIndex::MergeInto(AggregateBucket* into, const AggregateBucket& from) {
  for (size_t r = 0; r < from.size(); ++r) {
    AddKeyRow(into, from.key[r], from.packets[r], from.connections[r], from.duplicates[r],
              from.first_seen_ns[r], from.last_seen_ns[r]);
  }
  const int64_t end = from.start_ns + from.width_ns + from.overhang_ns;
  into->overhang_ns = std::max(into->overhang_ns, end - (into->start_ns + into->width_ns));
}

uint64_t AggregateIndex::ApplyBatch(uint32_t sensor, absl::string_view sensor_name,
                                    const common::Batch& batch, int64_t cutoff_ns, int64_t now_ns,
                                    absl::string_view site) {
  BeginMutation();
  mark_dirty_ = true;
  const int64_t t = batch.start_ns;
  int64_t start;
  int64_t width;
  if (const AggregateBucket* holding = Holding(t)) {
    start = holding->start_ns;
    width = holding->width_ns;
  } else {
    width = TierWidth(t, now_ns);
    start = FloorTo(t, width);
  }
  if (start + width <= cutoff_ns || batch.records.empty()) {
    return 0;
  }
  AggregateBucket* bucket = MutableBucket(start, width);
  bucket->overhang_ns = std::max(bucket->overhang_ns, batch.end_ns - (start + width));
  // Each record costs a few lookups in maps far larger than the caches. Doing them in stages
  // over the whole batch, each lookup prefetched kAhead records early, overlaps the misses
  // instead of paying them one after another.
  constexpr size_t kAhead = 8;
  struct Pending {
    size_t record = 0;
    AggregateKey key;
    uint32_t key_id = 0;
  };
  std::vector<Pending> pending;
  pending.reserve(batch.records.size());
  for (size_t i = 0; i < batch.records.size(); ++i) {
    const common::RecordKey& k = batch.records[i].key;
    // Validated before commit; a replayed log row is checked here again.
    if ((k.client.length != 4 && k.client.length != 16) || k.server.length != k.client.length) {
      continue;
    }
    Pending p;
    p.record = i;
    pending.push_back(p);
  }
  const size_t n = pending.size();
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      const common::RecordKey& ahead = batch.records[pending[i + kAhead].record].key;
      ip_ids_.prefetch(ahead.client);
      ip_ids_.prefetch(ahead.server);
    }
    Pending& p = pending[i];
    const common::RecordKey& k = batch.records[p.record].key;
    p.key = AggregateKey{sensor, InternIp(k.client), InternIp(k.server), k.server_port};
  }
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      key_ids_.prefetch(pending[i + kAhead].key);
    }
    pending[i].key_id = InternKey(pending[i].key);
  }
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      bucket->index.prefetch(pending[i + kAhead].key_id);
    }
    const common::Record& r = batch.records[pending[i].record];
    AddKeyRow(bucket, pending[i].key_id, r.packets, r.connections, 0, r.first_seen_ns,
              r.last_seen_ns);
  }
  if (overlap_.has_value() && !batch.handshakes.empty()) {
    std::vector<OverlapIndex::RecordIds> ids(batch.records.size(),
                                             OverlapIndex::RecordIds{OverlapIndex::kSkipped});
    for (const Pending& p : pending) {
      ids[p.record] = OverlapIndex::RecordIds{p.key_id, p.key.client, p.key.server};
    }
    ApplySightings(sensor, sensor_name, site, batch, ids, /*apply=*/true);
  }
  return n;
}

std::vector<OverlapIndex::RecordIds> AggregateIndex::InternRecords(uint32_t sensor,
                                                                   const common::Batch& batch) {
  std::vector<OverlapIndex::RecordIds> ids(batch.records.size(),
                                           OverlapIndex::RecordIds{OverlapIndex::kSkipped});
  for (size_t i = 0; i < batch.records.size(); ++i) {
    const common::RecordKey& k = batch.records[i].key;
    if ((k.client.length != 4 && k.client.length != 16) || k.server.length != k.client.length) {
      continue;
    }
    const AggregateKey key{sensor, InternIp(k.client), InternIp(k.server), k.server_port};
    ids[i] = OverlapIndex::RecordIds{InternKey(key), key.client, key.server};
  }
  return ids;
}

void AggregateIndex::NoteSightings(uint32_t sensor, absl::string_view sensor_name,
                                   const common::Batch& batch, absl::string_view site) {
  if (!overlap_.has_value() || batch.handshakes.empty()) {
    return;
  }
  BeginMutation();
  const std::vector<OverlapIndex::RecordIds> ids = InternRecords(sensor, batch);
  ApplySightings(sensor, sensor_name, site, batch, ids, /*apply=*/false);
}

uint16_t AggregateIndex::SiteId(absl::string_view site) {
  if (site.empty()) {
    return 0;
  }
  auto it = site_ids_.find(site);
  if (it == site_ids_.end()) {
    // Sites are a handful per deployment; past 65,535 the last id is shared (those sites'
    // handshakes could then pair with each other, never with the first 65,534 sites').
    const size_t next = std::min<size_t>(site_ids_.size() + 1, 0xffff);
    it = site_ids_.emplace(std::string(site), static_cast<uint16_t>(next)).first;
  }
  return it->second;
}

void AggregateIndex::ApplySightings(uint32_t sensor, absl::string_view sensor_name,
                                    absl::string_view site, const common::Batch& batch,
                                    absl::Span<const OverlapIndex::RecordIds> ids, bool apply) {
  std::vector<OverlapIndex::Uncounted> uncounted;
  overlap_->Add(sensor, sensor_name, batch, ids, &uncounted, SiteId(site));
  if (!apply) {
    return;
  }
  // Changes come in runs of one bucket (a batch's sightings, their partners in one peer batch).
  AggregateBucket* bucket = nullptr;
  for (const OverlapIndex::Uncounted& u : uncounted) {
    if (bucket == nullptr || u.batch_start_ns < bucket->start_ns ||
        u.batch_start_ns - bucket->start_ns >= bucket->width_ns) {
      const AggregateBucket* holding = Holding(u.batch_start_ns);
      if (holding == nullptr) {
        bucket = nullptr;
        continue;  // Dropped by retention.
      }
      bucket = MutableBucket(holding->start_ns, holding->width_ns);
    }
    auto row = bucket->index.find(u.key_id);
    if (row == bucket->index.end()) {
      continue;
    }
    uint64_t& duplicates = bucket->duplicates[row->second];
    if (u.delta > 0 && duplicates < bucket->connections[row->second]) {
      ++duplicates;
    } else if (u.delta < 0 && duplicates > 0) {
      --duplicates;
    }
  }
}

std::vector<std::vector<OverlapPeer>> AggregateIndex::OverlapReport() const {
  return overlap_.has_value() ? overlap_->Report() : std::vector<std::vector<OverlapPeer>>();
}

absl::Status AggregateIndex::LoadChunk(int64_t start_ns, int64_t format, absl::string_view body,
                                       int64_t legacy_width_ns, uint32_t sensor_count) {
  const char* p = body.data();
  uint32_t count = 0;
  int64_t width_ns = legacy_width_ns;
  int64_t overhang_ns = 0;
  const size_t row_bytes = format == 3 ? kRowBytes3 : kRowBytes;
  if (format == 2 || format == 3) {
    if (body.size() < kHeaderBytes2 + kCrcBytes ||
        std::memcmp(p, format == 3 ? kChunkMagic3 : kChunkMagic2, 4) != 0) {
      return absl::DataLossError("aggregate chunk: bad header");
    }
    const char* crc_at = body.data() + body.size() - kCrcBytes;
    if (Get<uint32_t>(crc_at) != Crc32(body.substr(0, body.size() - kCrcBytes))) {
      return absl::DataLossError("aggregate chunk: checksum mismatch");
    }
    p += 4;
    count = Get<uint32_t>(p);
    const int64_t stored_start = Get<int64_t>(p);
    width_ns = Get<int64_t>(p);
    overhang_ns = Get<int64_t>(p);
    if (body.size() != kHeaderBytes2 + size_t{count} * row_bytes + kCrcBytes ||
        stored_start != start_ns || width_ns <= 0 || FloorTo(start_ns, width_ns) != start_ns ||
        overhang_ns < 0) {
      return absl::DataLossError("aggregate chunk: inconsistent header");
    }
  } else if (format == 1) {
    if (body.size() < kHeaderBytes1 || std::memcmp(p, kChunkMagic1, 4) != 0 ||
        legacy_width_ns <= 0) {
      return absl::DataLossError("aggregate chunk: bad header");
    }
    p += 4;
    count = Get<uint32_t>(p);
    if (body.size() != kHeaderBytes1 + size_t{count} * kRowBytes) {
      return absl::DataLossError(
          absl::StrCat("aggregate chunk: ", body.size(), " bytes do not hold ", count, " rows"));
    }
  } else {
    return absl::DataLossError(absl::StrCat("aggregate chunk: unknown format ", format));
  }
  // Buckets never overlap: a chunk overlapping a bucket of another width is corrupt.
  const AggregateBucket* holding = Holding(start_ns);
  const AggregateBucket* next = Holding(start_ns + width_ns - 1);
  if ((holding != nullptr && (holding->start_ns != start_ns || holding->width_ns != width_ns)) ||
      (next != nullptr && next != holding)) {
    return absl::DataLossError("aggregate chunk: overlaps another bucket");
  }
  BeginMutation();
  mark_dirty_ = false;
  AggregateBucket* bucket = MutableBucket(start_ns, width_ns);
  bucket->overhang_ns = std::max(bucket->overhang_ns, overhang_ns);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t sensor = Get<uint32_t>(p);
    common::IpAddress client;
    common::IpAddress server;
    const bool ips_ok = GetIp(p, &client) && GetIp(p, &server);
    const uint16_t port = Get<uint16_t>(p);
    const uint64_t packets = Get<uint64_t>(p);
    const uint64_t connections = Get<uint64_t>(p);
    const int64_t first_ns = Get<int64_t>(p);
    const int64_t last_ns = Get<int64_t>(p);
    const uint64_t duplicates = format == 3 ? Get<uint64_t>(p) : 0;
    if (!ips_ok || sensor >= sensor_count || first_ns > last_ns || duplicates > connections) {
      mark_dirty_ = true;
      return absl::DataLossError(absl::StrCat("aggregate chunk: bad row ", i));
    }
    const uint32_t key = InternKey(AggregateKey{sensor, InternIp(client), InternIp(server), port});
    AddKeyRow(bucket, key, packets, connections, duplicates, first_ns, last_ns);
  }
  mark_dirty_ = true;
  return absl::OkStatus();
}

std::string AggregateIndex::EncodeManifest(int64_t log_id, int64_t chunks) {
  std::string out("SMM1", 4);
  Put<int64_t>(out, log_id);
  Put<int64_t>(out, chunks);
  Put<uint32_t>(out, Crc32(out));
  return out;
}

absl::Status AggregateIndex::DecodeManifest(absl::string_view body, int64_t* log_id,
                                            int64_t* chunks) {
  constexpr size_t kBytes = 4 + 8 + 8;
  if (body.size() != kBytes + kCrcBytes || body.substr(0, 4) != "SMM1") {
    return absl::DataLossError("checkpoint manifest: bad header");
  }
  const char* p = body.data() + kBytes;
  if (Get<uint32_t>(p) != Crc32(body.substr(0, kBytes))) {
    return absl::DataLossError("checkpoint manifest: checksum mismatch");
  }
  p = body.data() + 4;
  *log_id = Get<int64_t>(p);
  *chunks = Get<int64_t>(p);
  return absl::OkStatus();
}

std::vector<std::string> AggregateIndex::EncodeBucket(int64_t start_ns,
                                                      size_t rows_per_chunk) const {
  std::vector<std::string> chunks;
  auto found = buckets_.find(start_ns);
  if (found == buckets_.end() || found->second->size() == 0) {
    return chunks;
  }
  const AggregateBucket& b = *found->second;
  const std::vector<AggregateKey>& keys = *keys_;
  const std::vector<common::IpAddress>& ips = *ips_;
  std::vector<uint32_t> order(b.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    const AggregateKey& kx = keys[b.key[x]];
    const AggregateKey& ky = keys[b.key[y]];
    return std::tie(kx.sensor, kx.client, kx.server, kx.port) <
           std::tie(ky.sensor, ky.client, ky.server, ky.port);
  });
  for (size_t begin = 0; begin < order.size(); begin += rows_per_chunk) {
    const size_t end = std::min(order.size(), begin + rows_per_chunk);
    std::string out;
    out.reserve(kHeaderBytes2 + (end - begin) * kRowBytes3 + kCrcBytes);
    out.append(kChunkMagic3, 4);
    Put<uint32_t>(out, static_cast<uint32_t>(end - begin));
    Put<int64_t>(out, b.start_ns);
    Put<int64_t>(out, b.width_ns);
    Put<int64_t>(out, b.overhang_ns);
    for (size_t k = begin; k < end; ++k) {
      const uint32_t row = order[k];
      const AggregateKey& key = keys[b.key[row]];
      Put<uint32_t>(out, key.sensor);
      PutIp(out, ips[key.client]);
      PutIp(out, ips[key.server]);
      Put<uint16_t>(out, key.port);
      Put<uint64_t>(out, b.packets[row]);
      Put<uint64_t>(out, b.connections[row]);
      Put<int64_t>(out, b.first_seen_ns[row]);
      Put<int64_t>(out, b.last_seen_ns[row]);
      Put<uint64_t>(out, b.duplicates[row]);
    }
    Put<uint32_t>(out, Crc32(out));
    chunks.push_back(std::move(out));
  }
  return chunks;
}

size_t AggregateIndex::RollUp(int64_t now_ns) {
  BeginMutation();
  mark_dirty_ = true;
  size_t merged = 0;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const int64_t width = TierWidth(it->first, now_ns);
    if (it->second->width_ns >= width) {
      ++it;
      continue;
    }
    const int64_t start = FloorTo(it->first, width);
    const size_t before = buckets_.size();
    MutableBucket(start, width);
    merged += before + 1 - buckets_.size();
    it = buckets_.upper_bound(start);
  }
  return merged;
}

size_t AggregateIndex::DropBucketsBefore(int64_t cutoff_ns) {
  BeginMutation();
  size_t dropped = 0;
  for (auto it = buckets_.begin();
       it != buckets_.end() && it->first + it->second->width_ns <= cutoff_ns;) {
    rows_ -= it->second->size();
    dirty_.insert(it->first);
    it = buckets_.erase(it);
    ++dropped;
  }
  return dropped;
}

void AggregateIndex::Clear() {
  for (const auto& [start, bucket] : buckets_) {
    dirty_.insert(start);
  }
  buckets_.clear();
  rows_ = 0;
}

std::vector<int64_t> AggregateIndex::TakeDirty() {
  std::vector<int64_t> out(dirty_.begin(), dirty_.end());
  std::sort(out.begin(), out.end());
  dirty_.clear();
  return out;
}

AnsweredWindow AggregateIndex::Widen(int64_t since_ns, int64_t until_ns, int64_t now_ns) const {
  AnsweredWindow out;
  out.resolution_ns = finest_width();
  if (since_ns != 0) {
    const AggregateBucket* b = Holding(since_ns);
    const int64_t width = b != nullptr ? b->width_ns : TierWidth(since_ns, now_ns);
    out.since_ns = b != nullptr ? b->start_ns : FloorTo(since_ns, width);
    out.resolution_ns = std::max(out.resolution_ns, width);
  }
  if (until_ns != 0) {
    const AggregateBucket* b = Holding(until_ns - 1);
    const int64_t width = b != nullptr ? b->width_ns : TierWidth(until_ns - 1, now_ns);
    out.until_ns = (b != nullptr ? b->start_ns : FloorTo(until_ns - 1, width)) + width;
    out.resolution_ns = std::max(out.resolution_ns, width);
  }
  std::vector<std::shared_ptr<const AggregateBucket>> read;
  CollectBuckets(out.since_ns, out.until_ns, &read);
  // A straddling batch filed in the bucket before the window has records inside it that the
  // answer leaves out: that coarsens the answer too.
  if (const AggregateBucket* before = out.since_ns != 0 ? Holding(out.since_ns - 1) : nullptr) {
    if (before->overhang_ns > 0) {
      out.resolution_ns = std::max(out.resolution_ns, before->width_ns + before->overhang_ns);
    }
  }
  // A straddling batch filed in the bucket before the window has records inside it that the
  // answer leaves out: that coarsens the answer too.
  if (const AggregateBucket* before = out.since_ns != 0 ? Holding(out.since_ns - 1) : nullptr) {
    if (before->overhang_ns > 0) {
      out.resolution_ns = std::max(out.resolution_ns, before->width_ns + before->overhang_ns);
    }
  }
  for (const auto& b : read) {
    out.resolution_ns = std::max(out.resolution_ns, b->width_ns + b->overhang_ns);
  }
  return out;
}

void AggregateIndex::CollectBuckets(
    int64_t since_ns, int64_t until_ns,
    std::vector<std::shared_ptr<const AggregateBucket>>* out) const {
  auto it = buckets_.begin();
  if (since_ns != 0) {
    const AggregateBucket* holding = Holding(since_ns);
    it = buckets_.lower_bound(holding != nullptr ? holding->start_ns : since_ns);
  }
  for (; it != buckets_.end(); ++it) {
    if (until_ns != 0 && it->first >= until_ns) {
      break;
    }
    out->push_back(it->second);
  }
}

std::pair<int64_t, int64_t> AggregateIndex::StoredSpan() const {
  if (buckets_.empty()) {
    return {0, 0};
  }
  const AggregateBucket& last = *buckets_.rbegin()->second;
  return {buckets_.begin()->first, last.start_ns + last.width_ns};
}

}  // namespace synmap::collector::internal
