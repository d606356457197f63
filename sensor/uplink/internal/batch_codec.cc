#include "sensor/uplink/internal/batch_codec.h"

#include <algorithm>
#include <limits>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/batch/batch_codec.h"
#include "common/status/status_macros.h"

namespace synmap::sensor::internal {

v1::Batch BatchToProto(const common::Batch& batch, uint64_t seq) {
  v1::Batch out;
  out.set_seq(seq);
  out.set_start_unix_ns(batch.start_ns);
  out.set_end_unix_ns(batch.end_ns);
  common::StatsToProto(batch.stats, out.mutable_stats());
  out.mutable_records()->Reserve(static_cast<int>(batch.records.size()));
  for (const common::Record& r : batch.records) {
    v1::Record* rec = out.add_records();
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
  out.set_merged_from(1);
  common::HandshakesToProto(batch.handshakes, &out);
  return out;
}

absl::StatusOr<common::Batch> BatchFromProto(const v1::Batch& proto) {
  common::Batch batch;
  batch.start_ns = proto.start_unix_ns();
  batch.end_ns = proto.end_unix_ns();
  batch.stats = common::StatsFromProto(proto.stats());
  batch.records.reserve(static_cast<size_t>(proto.records_size()));
  for (const v1::Record& rec : proto.records()) {
    common::Record r;
    SYNMAP_ASSIGN_OR_RETURN(r.key.client, common::IpAddress::FromBytes(rec.client_ip()));
    SYNMAP_ASSIGN_OR_RETURN(r.key.server, common::IpAddress::FromBytes(rec.server_ip()));
    if (rec.server_port() > std::numeric_limits<uint16_t>::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat("server_port out of range: ", rec.server_port()));
    }
    r.key.server_port = static_cast<uint16_t>(rec.server_port());
    r.packets = rec.packets();
    r.connections = rec.connections();
    r.first_seen_ns = rec.first_seen_unix_ns();
    r.last_seen_ns = rec.last_seen_unix_ns();
    batch.records.push_back(r);
  }
  return batch;
}

absl::Status BatchMerger::Add(const v1::Batch& part) {
  SYNMAP_ASSIGN_OR_RETURN(common::Batch batch, BatchFromProto(part));
  std::sort(batch.records.begin(), batch.records.end(),
            [](const common::Record& a, const common::Record& b) { return a.key < b.key; });
  // Both sides are sorted: a linear merge keeps records_ sorted without a map.
  std::vector<common::Record> merged;
  merged.reserve(records_.size() + batch.records.size());
  auto a = records_.begin();
  auto b = batch.records.begin();
  while (a != records_.end() || b != batch.records.end()) {
    if (b == batch.records.end() || (a != records_.end() && a->key < b->key)) {
      merged.push_back(*a++);
    } else if (a == records_.end() || b->key < a->key) {
      merged.push_back(*b++);
    } else {
      common::Record r = *a++;
      r.MergeFrom(*b++);
      merged.push_back(r);
    }
  }
  // A part may repeat a key (it should not); fold such neighbours too.
  std::vector<common::Record> folded;
  folded.reserve(merged.size());
  for (const common::Record& r : merged) {
    if (!folded.empty() && folded.back().key == r.key) {
      folded.back().MergeFrom(r);
    } else {
      folded.push_back(r);
    }
  }
  records_ = std::move(folded);
  stats_.MergeFrom(batch.stats);
  if (parts_ == 0) {
    start_ns_ = batch.start_ns;
    end_ns_ = batch.end_ns;
  } else {
    start_ns_ = std::min(start_ns_, batch.start_ns);
    end_ns_ = std::max(end_ns_, batch.end_ns);
  }
  seq_ = std::max(seq_, part.seq());
  merged_from_ += std::max<uint64_t>(1, part.merged_from());
  ++parts_;
  return absl::OkStatus();
}

v1::Batch BatchMerger::Result() const {
  common::Batch batch;
  batch.start_ns = start_ns_;
  batch.end_ns = end_ns_;
  batch.stats = stats_;
  batch.records = records_;
  v1::Batch out = BatchToProto(batch, seq_);
  out.set_merged_from(static_cast<uint32_t>(
      std::min<uint64_t>(merged_from_, std::numeric_limits<uint32_t>::max())));
  return out;
}

}  // namespace synmap::sensor::internal
