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
  // The reader asks for chunks only once the decoding thread runs, after they exist.
  read_fd_ = reader_.HandOverReading(this);
  if (read_fd_ >= 0) {
    chunk_memory_.reset(new uint8_t[kChunks * (kChunkHeadroom + kChunkBytes)]);
  }
  thread_ = std::thread([this] { Run(); });
}

DecodeThread::~DecodeThread() {
  Stop();
  if (read_fd_ >= 0) {
    reader_.TakeBackReading();  // The chunks go with this object.
  }
}

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
  mu_.Lock();
  if (holding_) {
    ++handed_back_;
    holding_ = false;
  }
  for (;;) {
    mu_.Await(absl::Condition(this, &DecodeThread::CanReadOrHasBatchOrDone));
    if (CanRead()) {
      // Reading first keeps the decoding thread fed; it is one chunk, then the batches again.
      ReadNextChunk();
      continue;
    }
    if (filled_ > handed_back_) {
      holding_ = true;
      const DecodedBatch* batch = &slots_[handed_back_ % kSlots];
      mu_.Unlock();
      return batch;
    }
    break;  // Done, and every batch was handed out.
  }
  mu_.Unlock();
  Stop();  // The thread has ended or is ending.
  return nullptr;
}

common::ByteChunk DecodeThread::NextChunk() {
  mu_.Lock();
  if (chunks_taken_ > 0) {
    chunks_released_ = chunks_taken_ - 1;  // The reader keeps only the last chunk it took.
  }
  mu_.Await(absl::Condition(this, &DecodeThread::HasChunkOrEnd));
  if (chunks_read_ == chunks_taken_ && !read_ended_) {
    // Stopped: Next()'s thread reads no more, and the decoding goes on to its batch's end. It
    // reads here rather than see a false end of the file (the reader is given back after).
    ReadNextChunk();
  }
  common::ByteChunk out;
  if (chunks_read_ > chunks_taken_) {
    const uint64_t chunk = chunks_taken_++;
    out = common::ByteChunk{ChunkData(chunk), chunk_sizes_[chunk % kChunks], kChunkHeadroom};
  }
  mu_.Unlock();
  return out;
}

void DecodeThread::ReadNextChunk() {
  const uint64_t chunk = chunks_read_;
  mu_.Unlock();  // No lock across I/O: the decoding thread takes and releases chunks meanwhile.
  absl::Status status;
  bool eof = false;
  const size_t got =
      common::ReadAtLeast(read_fd_, ChunkData(chunk), kChunkBytes, kChunkBytes, &eof, &status);
  mu_.Lock();
  if (got > 0) {
    chunk_sizes_[chunk % kChunks] = got;
    ++chunks_read_;
  }
  if (got < kChunkBytes) {
    read_ended_ = true;
    read_status_ = status;
  }
}

absl::Status DecodeThread::ReadStatus() {
  absl::MutexLock lock(&mu_);
  return read_status_;
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
