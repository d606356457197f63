#include "cli/decode_thread.h"

#include <algorithm>

namespace synmap::cli {
namespace {

void CountSkipped(int link_type, std::vector<std::pair<int, uint64_t>>& skipped) {
  auto it = std::find_if(skipped.begin(), skipped.end(),
                         [&](const std::pair<int, uint64_t>& s) { return s.first == link_type; });
  if (it == skipped.end()) {
    skipped.emplace_back(link_type, 1);
  } else {
    ++it->second;
  }
}

}  // namespace

bool DecodeBatch(common::PacketReader& reader, const common::DecodeOptions& options,
                 uint64_t progress_packets, DecodedBatch& batch) {
  batch.skipped_link_types.clear();
  batch.progress_point = false;
  // The hot loop: no allocation, no virtual call, no division; counters stay in locals. SYN/ACKs
  // are decoded straight into their slots.
  common::SynAckEvent* const slots = batch.synack_slots.data();
  size_t synacks = 0;
  uint64_t packets = 0;
  uint64_t to_progress = progress_packets - reader.packets_read() % progress_packets;
  common::DecodeStats decode;
  common::PacketRef packet;
  bool more = true;
  while (synacks < DecodedBatch::kMaxSynAcks) {
    if (!reader.Next(&packet)) {
      more = false;
      break;
    }
    ++packets;
    common::SynAckEvent& event = slots[synacks];
    common::TunnelInfo tunnel;
    const common::DecodeResult result = common::DecodePacket(
        packet.link_type, packet.data, packet.caplen, options, &event, &tunnel);
    decode.Count(result, tunnel);
    if (result == common::DecodeResult::kSynAck) {
      event.timestamp_ns = packet.timestamp_ns;
      ++synacks;
    } else if (result == common::DecodeResult::kUnsupportedLinkType) {
      CountSkipped(packet.link_type, batch.skipped_link_types);
    }
    if (--to_progress == 0) {
      batch.progress_point = true;
      break;
    }
  }
  batch.synack_count = synacks;
  batch.packets = packets;
  batch.decode = decode;
  return more;
}

DecodeThread::DecodeThread(common::PacketReader& reader, const common::DecodeOptions& options,
                           uint64_t progress_packets)
    : reader_(reader), options_(options), progress_packets_(progress_packets) {
  thread_ = std::thread([this] { Run(); });
}

DecodeThread::~DecodeThread() { Stop(); }

void DecodeThread::Run() {
  // One lock per batch: the batch is published and the next slot waited for in one go.
  mu_.Lock();
  for (;;) {
    mu_.Await(absl::Condition(this, &DecodeThread::HasRoomOrStop));
    if (stop_) {
      break;
    }
    DecodedBatch& batch = slots_[filled_ % kSlots];
    mu_.Unlock();
    const bool more = DecodeBatch(reader_, options_, progress_packets_, batch);
    mu_.Lock();
    ++filled_;
    if (!more) {
      break;
    }
  }
  done_ = true;
  mu_.Unlock();
}

const DecodedBatch* DecodeThread::Next() {
  {
    absl::MutexLock lock(&mu_);
    if (holding_) {
      ++handed_back_;
      holding_ = false;
    }
    mu_.Await(absl::Condition(this, &DecodeThread::HasBatchOrDone));
    if (filled_ > handed_back_) {
      holding_ = true;
      return &slots_[handed_back_ % kSlots];
    }
  }
  Stop();  // Every batch was handed out: the thread has ended or is ending.
  return nullptr;
}

void DecodeThread::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

}  // namespace synmap::cli
