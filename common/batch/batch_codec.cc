#include "common/batch/batch_codec.h"

#include <openssl/evp.h>

#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/aggregate/saturating.h"
#include "common/status/status_macros.h"

namespace synmap::common {
namespace {

// Builds the refusal status and names the limit.
absl::Status Refuse(uint64_t seq, absl::string_view limit_name, absl::string_view detail,
                    std::string* limit) {
  if (limit != nullptr) {
    *limit = std::string(limit_name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("batch seq ", seq, ": ", detail, " (limit ", limit_name, ")"));
}

// The rules on a batch's header, shared by both forms.
absl::Status CheckHeader(uint64_t seq, int64_t start_ns, int64_t end_ns, size_t records,
                         int64_t now_ns, const BatchLimits& limits, std::string* limit) {
  if (seq < 1 || seq > kMaxSeq) {
    return Refuse(seq, "seq",
                  absl::StrCat("seq must be 1..2^63-1 (", kMaxSeq, "); a sensor never gets there"),
                  limit);
  }
  if (start_ns <= 0 || end_ns < start_ns) {
    return Refuse(
        seq, "window",
        absl::StrCat("window [", start_ns, ", ", end_ns, "] must satisfy 0 < start <= end"), limit);
  }
  const int64_t latest_end = now_ns > std::numeric_limits<int64_t>::max() - limits.max_future_ns
                                 ? std::numeric_limits<int64_t>::max()
                                 : now_ns + limits.max_future_ns;
  if (end_ns > latest_end) {
    return Refuse(
        seq, "future",
        absl::StrCat("window end ", end_ns, " is more than ", limits.max_future_ns / 1'000'000'000,
                     " s ahead of the collector clock (", now_ns, ")"),
        limit);
  }
  if (records > static_cast<size_t>(limits.max_records_per_batch)) {
    return Refuse(
        seq, "records_per_batch",
        absl::StrCat(records, " records, at most ", limits.max_records_per_batch, " allowed"),
        limit);
  }
  return absl::OkStatus();
}

// The fields of one record the rules look at, from either form.
struct RecordFacts {
  size_t client_len = 0;
  size_t server_len = 0;
  uint64_t port = 0;
  uint64_t packets = 0;
  uint64_t connections = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
};

absl::Status CheckRecord(uint64_t seq, int64_t start_ns, int64_t end_ns, size_t index,
                         const RecordFacts& r, std::string* limit) {
  const std::string at = absl::StrCat("record ", index, ": ");
  if ((r.client_len != 4 && r.client_len != 16) || (r.server_len != 4 && r.server_len != 16)) {
    return Refuse(seq, "ip_length",
                  absl::StrCat(at, "client_ip is ", r.client_len, " bytes and server_ip ",
                               r.server_len, " bytes; each must be 4 or 16"),
                  limit);
  }
  if (r.client_len != r.server_len) {
    return Refuse(seq, "ip_family",
                  absl::StrCat(at, "client_ip and server_ip are of different families"), limit);
  }
  if (r.port < 1 || r.port > 65535) {
    return Refuse(seq, "port", absl::StrCat(at, "server_port ", r.port, " is outside 1..65535"),
                  limit);
  }
  if (r.packets < 1 || r.packets > kMaxRecordCount || r.connections > r.packets) {
    return Refuse(seq, "counts",
                  absl::StrCat(at, "packets ", r.packets, " and connections ", r.connections,
                               " (need 1 <= packets <= 2^40 = ", kMaxRecordCount,
                               " and connections <= packets)"),
                  limit);
  }
  if (r.first_ns <= 0 || r.first_ns > r.last_ns || r.first_ns < start_ns || r.last_ns > end_ns) {
    return Refuse(seq, "timestamps",
                  absl::StrCat(at, "first_seen ", r.first_ns, " and last_seen ", r.last_ns,
                               " must satisfy 0 < first <= last and lie inside the batch window [",
                               start_ns, ", ", end_ns, "]"),
                  limit);
  }
  return absl::OkStatus();
}

// The handshake fingerprints' rules, shared by both forms: none, or exactly one per connection
// (`connections`, summed over the records, saturating) with as many offsets, each no later
// than the window's end. `offset_ms(i)` reads offset i.
template <typename OffsetAt>
absl::Status CheckHandshakes(uint64_t seq, int64_t start_ns, int64_t end_ns, size_t fingerprints,
                             size_t offsets, uint64_t connections, OffsetAt offset_ms,
                             std::string* limit) {
  if (fingerprints == 0 && offsets == 0) {
    return absl::OkStatus();
  }
  if (fingerprints != offsets || fingerprints > kMaxHandshakesPerBatch ||
      fingerprints != connections) {
    return Refuse(seq, "handshakes",
                  absl::StrCat(fingerprints, " handshake fingerprints and ", offsets,
                               " offsets for ", connections,
                               " connections (need none, or one of each per connection, at most ",
                               kMaxHandshakesPerBatch, ")"),
                  limit);
  }
  const int64_t window_ms = (end_ns - start_ns) / 1'000'000;
  for (size_t i = 0; i < offsets; ++i) {
    if (static_cast<int64_t>(offset_ms(i)) > window_ms) {
      return Refuse(seq, "handshakes",
                    absl::StrCat("handshake ", i, ": offset ", offset_ms(i),
                                 " ms is past the batch window of ", window_ms, " ms"),
                    limit);
    }
  }
  return absl::OkStatus();
}

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

}  // namespace

absl::Status CheckBatch(const synmap::v1::Batch& batch, int64_t now_ns, const BatchLimits& limits,
                        std::string* limit) {
  SYNMAP_RETURN_IF_ERROR(CheckHeader(batch.seq(), batch.start_unix_ns(), batch.end_unix_ns(),
                                     static_cast<size_t>(batch.records_size()), now_ns, limits,
                                     limit));
  for (int i = 0; i < batch.records_size(); ++i) {
    const synmap::v1::Record& r = batch.records(i);
    SYNMAP_RETURN_IF_ERROR(
        CheckRecord(batch.seq(), batch.start_unix_ns(), batch.end_unix_ns(), static_cast<size_t>(i),
                    {r.client_ip().size(), r.server_ip().size(), r.server_port(), r.packets(),
                     r.connections(), r.first_seen_unix_ns(), r.last_seen_unix_ns()},
                    limit));
  }
  uint64_t connections = 0;
  for (const synmap::v1::Record& r : batch.records()) {
    connections = SaturatingAdd(connections, r.connections());
  }
  return CheckHandshakes(
      batch.seq(), batch.start_unix_ns(), batch.end_unix_ns(),
      static_cast<size_t>(batch.handshake_fingerprints_size()),
      static_cast<size_t>(batch.handshake_offsets_ms_size()), connections,
      [&](size_t i) { return batch.handshake_offsets_ms(static_cast<int>(i)); }, limit);
}

absl::Status CheckBatch(const SequencedBatch& batch, int64_t now_ns, const BatchLimits& limits,
                        std::string* limit) {
  const Batch& b = batch.batch;
  SYNMAP_RETURN_IF_ERROR(
      CheckHeader(batch.seq, b.start_ns, b.end_ns, b.records.size(), now_ns, limits, limit));
  for (size_t i = 0; i < b.records.size(); ++i) {
    const Record& r = b.records[i];
    SYNMAP_RETURN_IF_ERROR(CheckRecord(batch.seq, b.start_ns, b.end_ns, i,
                                       {r.key.client.length, r.key.server.length, r.key.server_port,
                                        r.packets, r.connections, r.first_seen_ns, r.last_seen_ns},
                                       limit));
  }
  uint64_t connections = 0;
  for (const Record& r : b.records) {
    connections = SaturatingAdd(connections, r.connections);
  }
  return CheckHandshakes(
      batch.seq, b.start_ns, b.end_ns, b.handshakes.size(), b.handshakes.size(), connections,
      [&](size_t i) { return b.handshakes[i].offset_ms; }, limit);
}

absl::Status ValidateSensorName(absl::string_view sensor) {
  if (sensor.empty() || sensor.size() > kMaxSensorNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("sensor name must be 1..", kMaxSensorNameBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SequencedBatch> BatchFromProto(const synmap::v1::Batch& proto, int64_t now_ns,
                                              const BatchLimits& limits, std::string* limit) {
  SYNMAP_RETURN_IF_ERROR(CheckBatch(proto, now_ns, limits, limit));
  return DecodeBatch(proto);
}

absl::StatusOr<SequencedBatch> DecodeBatch(const synmap::v1::Batch& proto) {
  SequencedBatch out;
  out.seq = proto.seq();
  out.batch.start_ns = proto.start_unix_ns();
  out.batch.end_ns = proto.end_unix_ns();
  out.batch.stats = StatsFromProto(proto.stats());
  out.health = HealthFromProto(proto.health());
  out.merged_from = proto.merged_from();
  out.batch.records.reserve(static_cast<size_t>(proto.records_size()));
  for (const synmap::v1::Record& rec : proto.records()) {
    Record r;
    SYNMAP_ASSIGN_OR_RETURN(r.key.client, IpAddress::FromBytes(rec.client_ip()));
    SYNMAP_ASSIGN_OR_RETURN(r.key.server, IpAddress::FromBytes(rec.server_ip()));
    if (rec.server_port() > std::numeric_limits<uint16_t>::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat("server_port out of range: ", rec.server_port()));
    }
    r.key.server_port = static_cast<uint16_t>(rec.server_port());
    r.packets = rec.packets();
    r.connections = rec.connections();
    r.first_seen_ns = rec.first_seen_unix_ns();
    r.last_seen_ns = rec.last_seen_unix_ns();
    out.batch.records.push_back(r);
  }
  if (proto.handshake_fingerprints_size() != proto.handshake_offsets_ms_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch seq ", proto.seq(), ": ", proto.handshake_fingerprints_size(),
        " handshake fingerprints but ", proto.handshake_offsets_ms_size(), " offsets"));
  }
  out.batch.handshakes.resize(static_cast<size_t>(proto.handshake_fingerprints_size()));
  for (int i = 0; i < proto.handshake_fingerprints_size(); ++i) {
    out.batch.handshakes[static_cast<size_t>(i)] =
        Handshake{proto.handshake_fingerprints(i), proto.handshake_offsets_ms(i)};
  }
  return out;
}

synmap::v1::Batch BatchToProto(const SequencedBatch& batch) {
  synmap::v1::Batch out;
  out.set_seq(batch.seq);
  out.set_start_unix_ns(batch.batch.start_ns);
  out.set_end_unix_ns(batch.batch.end_ns);
  StatsToProto(batch.batch.stats, out.mutable_stats());
  out.mutable_records()->Reserve(static_cast<int>(batch.batch.records.size()));
  for (const Record& r : batch.batch.records) {
    synmap::v1::Record* rec = out.add_records();
    const absl::string_view client = r.key.client.Raw();
    const absl::string_view server = r.key.server.Raw();
    rec->set_client_ip(client.data(), client.size());
    rec->set_server_ip(server.data(), server.size());
    rec->set_server_port(r.key.server_port);
    rec->set_packets(r.packets);
    rec->set_connections(r.connections);
    rec->set_first_seen_unix_ns(r.first_seen_ns);
    rec->set_last_seen_unix_ns(r.last_seen_ns);
  }
  if (batch.health != SensorHealth()) {
    *out.mutable_health() = HealthToProto(batch.health);
  }
  out.set_merged_from(batch.merged_from);
  HandshakesToProto(batch.batch.handshakes, &out);
  return out;
}

void HandshakesToProto(const std::vector<Handshake>& handshakes, synmap::v1::Batch* out) {
  out->mutable_handshake_fingerprints()->Reserve(static_cast<int>(handshakes.size()));
  out->mutable_handshake_offsets_ms()->Reserve(static_cast<int>(handshakes.size()));
  for (const Handshake& h : handshakes) {
    out->add_handshake_fingerprints(h.fingerprint);
    out->add_handshake_offsets_ms(h.offset_ms);
  }
}

absl::StatusOr<std::string> EncodeBatch(const SequencedBatch& batch) {
  const synmap::v1::Batch proto = BatchToProto(batch);
  if (proto.ByteSizeLong() > kMaxBatchBytes) {
    return absl::InvalidArgumentError(absl::StrCat("batch seq ", batch.seq, ": larger than ",
                                                   kMaxBatchBytes, " bytes (limit bytes)"));
  }
  std::string out;
  if (!proto.SerializeToString(&out)) {
    return absl::InvalidArgumentError(absl::StrCat("batch seq ", batch.seq, ": cannot encode"));
  }
  return out;
}

SensorHealth HealthFromProto(const synmap::v1::SensorHealth& p) {
  return SensorHealth{
      .spool_batches = p.spool_batches(),
      .spool_bytes = p.spool_bytes(),
      .batches_merged = p.batches_merged(),
      .batches_dropped = p.batches_dropped(),
      .records_dropped = p.records_dropped(),
      .batches_quarantined = p.batches_quarantined(),
      .uptime_ns = p.uptime_ns(),
      .batches_lost_write_failed = p.batches_lost_write_failed(),
      .records_lost_write_failed = p.records_lost_write_failed(),
  };
}

synmap::v1::SensorHealth HealthToProto(const SensorHealth& h) {
  synmap::v1::SensorHealth p;
  p.set_spool_batches(h.spool_batches);
  p.set_spool_bytes(h.spool_bytes);
  p.set_batches_merged(h.batches_merged);
  p.set_batches_dropped(h.batches_dropped);
  p.set_records_dropped(h.records_dropped);
  p.set_batches_quarantined(h.batches_quarantined);
  p.set_uptime_ns(h.uptime_ns);
  p.set_batches_lost_write_failed(h.batches_lost_write_failed);
  p.set_records_lost_write_failed(h.records_lost_write_failed);
  return p;
}

SensorInfo SensorInfoFromProto(const synmap::v1::Hello& p) {
  SensorInfo info;
  info.protocol_version = p.protocol_version();
  info.software_version = p.software_version();
  info.interfaces.assign(p.interfaces().begin(), p.interfaces().end());
  info.filter = p.filter();
  info.boot_id = p.boot_id();
  info.flush_interval_ns = p.flush_interval_ns();
  info.health = HealthFromProto(p.health());
  info.site = p.site();
  info.certificate_not_after_ns = p.certificate_not_after_unix_ns();
  return info;
}

synmap::v1::Hello SensorInfoToProto(const SensorInfo& info) {
  synmap::v1::Hello p;
  p.set_protocol_version(info.protocol_version);
  p.set_software_version(info.software_version);
  for (const std::string& i : info.interfaces) {
    p.add_interfaces(i);
  }
  p.set_filter(info.filter);
  p.set_boot_id(info.boot_id);
  p.set_flush_interval_ns(info.flush_interval_ns);
  if (info.health != SensorHealth()) {
    *p.mutable_health() = HealthToProto(info.health);
  }
  p.set_site(info.site);
  p.set_certificate_not_after_unix_ns(info.certificate_not_after_ns);
  return p;
}

CaptureStats StatsFromProto(const synmap::v1::CaptureStats& p) {
  CaptureStats s;
  s.packets_received = p.packets_received();
  s.kernel_drops = p.kernel_drops();
  s.interface_drops = p.interface_drops();
  s.synacks = p.synacks();
  s.retransmissions = p.retransmissions();
  s.malformed = p.malformed();
  s.handshakes_evicted = p.handshakes_evicted();
  return s;
}

void StatsToProto(const CaptureStats& s, synmap::v1::CaptureStats* out) {
  out->set_packets_received(s.packets_received);
  out->set_kernel_drops(s.kernel_drops);
  out->set_interface_drops(s.interface_drops);
  out->set_synacks(s.synacks);
  out->set_retransmissions(s.retransmissions);
  out->set_malformed(s.malformed);
  out->set_handshakes_evicted(s.handshakes_evicted);
}

std::string BatchDigest(absl::string_view serialized) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return "";
  }
  constexpr uint64_t kSeqField = 1;
  constexpr uint64_t kHealthField = 6;
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

std::string BatchDigest(const SequencedBatch& batch) {
  return BatchDigest(BatchToProto(batch).SerializeAsString());
}

}  // namespace synmap::common
