#include "collector/store/internal/aggregate_index.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <numeric>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace synmap::collector::internal {
namespace {

// Checkpoint chunk format 1: "SMA1", u32 row count, then rows of kRowBytes, little-endian:
// u32 sensor, u8 client length, 16 client bytes, u8 server length, 16 server bytes, u16 port,
// u64 packets, u64 connections, i64 first_seen_ns, i64 last_seen_ns.
constexpr char kChunkMagic[4] = {'S', 'M', 'A', '1'};
constexpr size_t kHeaderBytes = 8;
constexpr size_t kRowBytes = 4 + 1 + 16 + 1 + 16 + 2 + 8 * 4;

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

int64_t AggregateIndex::BucketStart(int64_t t_ns) const {
  int64_t q = t_ns / bucket_ns_;
  if (t_ns % bucket_ns_ < 0) {
    --q;
  }
  return q * bucket_ns_;
}

void AggregateIndex::BeginMutation() {
  ips_unique_ = false;
  keys_unique_ = false;
  cached_bucket_ = nullptr;
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

AggregateBucket* AggregateIndex::MutableBucket(int64_t start_ns) {
  if (cached_bucket_ != nullptr && cached_start_ == start_ns) {
    return cached_bucket_;
  }
  std::shared_ptr<AggregateBucket>& slot = buckets_[start_ns];
  if (slot == nullptr) {
    slot = std::make_shared<AggregateBucket>();
    slot->start_ns = start_ns;
  } else if (!IsUnique(slot)) {
    slot = std::make_shared<AggregateBucket>(*slot);  // A snapshot holds it: copy on write.
  }
  if (mark_dirty_) {
    dirty_.insert(start_ns);
  }
  cached_start_ = start_ns;
  cached_bucket_ = slot.get();
  return cached_bucket_;
}

void AggregateIndex::AddRow(uint32_t sensor, const common::IpAddress& client,
                            const common::IpAddress& server, uint16_t port, uint64_t packets,
                            uint64_t connections, int64_t first_ns, int64_t last_ns) {
  const uint32_t key = InternKey(AggregateKey{sensor, InternIp(client), InternIp(server), port});
  AddKeyRow(MutableBucket(BucketStart(first_ns)), key, packets, connections, first_ns, last_ns);
}

void AggregateIndex::AddKeyRow(AggregateBucket* bucket, uint32_t key, uint64_t packets,
                               uint64_t connections, int64_t first_ns, int64_t last_ns) {
  auto [it, inserted] = bucket->index.try_emplace(key, static_cast<uint32_t>(bucket->size()));
  if (inserted) {
    bucket->key.push_back(key);
    bucket->packets.push_back(packets);
    bucket->connections.push_back(connections);
    bucket->first_seen_ns.push_back(first_ns);
    bucket->last_seen_ns.push_back(last_ns);
    ++rows_;
    return;
  }
  const uint32_t row = it->second;
  bucket->packets[row] += packets;
  bucket->connections[row] += connections;
  bucket->first_seen_ns[row] = std::min(bucket->first_seen_ns[row], first_ns);
  bucket->last_seen_ns[row] = std::max(bucket->last_seen_ns[row], last_ns);
}

uint64_t AggregateIndex::ApplyBatch(uint32_t sensor, const synmap::v1::Batch& batch,
                                    int64_t cutoff_ns) {
  BeginMutation();
  mark_dirty_ = true;
  // Each record costs a few lookups in maps far larger than the caches. Doing them in stages
  // over the whole batch, each lookup prefetched kAhead records early, overlaps the misses
  // instead of paying them one after another.
  constexpr size_t kAhead = 8;
  struct Pending {
    common::IpAddress client;
    common::IpAddress server;
    int record = 0;
    AggregateKey key;
    uint32_t key_id = 0;
  };
  std::vector<Pending> pending;
  pending.reserve(static_cast<size_t>(batch.records_size()));
  for (int i = 0; i < batch.records_size(); ++i) {
    const synmap::v1::Record& r = batch.records(i);
    const size_t length = r.client_ip().size();
    // Validated before commit; a replayed log row is checked here again.
    if ((length != 4 && length != 16) || r.server_ip().size() != length ||
        BucketStart(r.first_seen_unix_ns()) + bucket_ns_ <= cutoff_ns) {
      continue;
    }
    const auto* client = reinterpret_cast<const uint8_t*>(r.client_ip().data());
    const auto* server = reinterpret_cast<const uint8_t*>(r.server_ip().data());
    Pending p;
    p.client = length == 4 ? common::IpAddress::V4(client) : common::IpAddress::V6(client);
    p.server = length == 4 ? common::IpAddress::V4(server) : common::IpAddress::V6(server);
    p.record = i;
    pending.push_back(p);
  }
  const size_t n = pending.size();
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      ip_ids_.prefetch(pending[i + kAhead].client);
      ip_ids_.prefetch(pending[i + kAhead].server);
    }
    Pending& p = pending[i];
    p.key = AggregateKey{sensor, InternIp(p.client), InternIp(p.server),
                         static_cast<uint16_t>(batch.records(p.record).server_port())};
  }
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      key_ids_.prefetch(pending[i + kAhead].key);
    }
    pending[i].key_id = InternKey(pending[i].key);
  }
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      const Pending& ahead = pending[i + kAhead];
      MutableBucket(BucketStart(batch.records(ahead.record).first_seen_unix_ns()))
          ->index.prefetch(ahead.key_id);
    }
    const synmap::v1::Record& r = batch.records(pending[i].record);
    AddKeyRow(MutableBucket(BucketStart(r.first_seen_unix_ns())), pending[i].key_id, r.packets(),
              r.connections(), r.first_seen_unix_ns(), r.last_seen_unix_ns());
  }
  return n;
}

absl::Status AggregateIndex::LoadChunk(absl::string_view body, uint32_t sensor_count) {
  if (body.size() < kHeaderBytes || std::memcmp(body.data(), kChunkMagic, 4) != 0) {
    return absl::DataLossError("aggregate chunk: bad header");
  }
  const char* p = body.data() + 4;
  const uint32_t count = Get<uint32_t>(p);
  if (body.size() != kHeaderBytes + size_t{count} * kRowBytes) {
    return absl::DataLossError(
        absl::StrCat("aggregate chunk: ", body.size(), " bytes do not hold ", count, " rows"));
  }
  BeginMutation();
  mark_dirty_ = false;
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
    if (!ips_ok || sensor >= sensor_count || first_ns > last_ns) {
      mark_dirty_ = true;
      return absl::DataLossError(absl::StrCat("aggregate chunk: bad row ", i));
    }
    AddRow(sensor, client, server, port, packets, connections, first_ns, last_ns);
  }
  mark_dirty_ = true;
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
    out.reserve(kHeaderBytes + (end - begin) * kRowBytes);
    out.append(kChunkMagic, 4);
    Put<uint32_t>(out, static_cast<uint32_t>(end - begin));
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
    }
    chunks.push_back(std::move(out));
  }
  return chunks;
}

size_t AggregateIndex::DropBucketsBefore(int64_t cutoff_ns) {
  BeginMutation();
  size_t dropped = 0;
  for (auto it = buckets_.begin(); it != buckets_.end() && it->first + bucket_ns_ <= cutoff_ns;) {
    rows_ -= it->second->size();
    dirty_.insert(it->first);
    it = buckets_.erase(it);
    ++dropped;
  }
  return dropped;
}

std::vector<int64_t> AggregateIndex::TakeDirty() {
  std::vector<int64_t> out(dirty_.begin(), dirty_.end());
  std::sort(out.begin(), out.end());
  dirty_.clear();
  return out;
}

void AggregateIndex::CollectBuckets(
    int64_t since_ns, int64_t until_ns,
    std::vector<std::shared_ptr<const AggregateBucket>>* out) const {
  auto it = since_ns == 0 ? buckets_.begin() : buckets_.lower_bound(BucketStart(since_ns));
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
  return {buckets_.begin()->first, buckets_.rbegin()->first + bucket_ns_};
}

}  // namespace synmap::collector::internal
