#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/packet/decoder.h"
#include "common/packet/synack_event.h"
#include "common/pcapfile/chunk_source.h"
#include "common/pcapfile/packet_reader.h"

namespace synmap::cli {

// What decoding consecutive packets of one capture file found: their SYN/ACKs in capture order
// and their counters. Reused from batch to batch: its memory is allocated once. Plain data.
struct DecodedBatch {
  static constexpr size_t kMaxSynAcks = 1024;

  DecodedBatch() : synack_slots(kMaxSynAcks) {}
  absl::Span<const common::SynAckEvent> synacks() const {
    return absl::MakeConstSpan(synack_slots.data(), synack_count);
  }

  std::vector<common::SynAckEvent> synack_slots;  // kMaxSynAcks; the first synack_count count.
  size_t synack_count = 0;
  uint64_t packets = 0;        // Packets read for this batch.
  common::DecodeStats decode;  // Their decode results.
  // Their packets of link types the decoder does not know: (link type, packets), in the order
  // first seen.
  std::vector<std::pair<int, uint64_t>> skipped_link_types;
  // The batch ends where the file's packets read reach a multiple of the progress interval.
  bool progress_point = false;
};

// Empties `batch`, then reads and decodes packets of `reader` into it until it holds
// kMaxSynAcks SYN/ACKs, the reader's packets_read() reaches a multiple of `progress_packets`
// (> 0), or the reader stops. Returns false when the reader stopped (at the end of its input, or
// on an error: see reader.status()); the batch then holds what was read before. Allocates only
// for a link type not seen before in this batch.
bool DecodeBatch(common::PacketReader& reader, const common::DecodeOptions& options,
                 uint64_t progress_packets, DecodedBatch& batch);

// Runs DecodeBatch over one capture file on a thread of its own while the caller counts the
// batches, so that reading and decoding (most of the counting's CPU time) overlap with the
// SYN/ACK table. The batches go, in capture order, through a ring of kSlots reused DecodedBatch
// buffers (no allocation once running): the decoding thread waits while all are full, Next()
// while all are empty. Borrows `reader`, which must outlive this object; the decoding thread
// alone uses it from construction until Next() returned null or the destructor returned.
// Next() is for one thread at a time (the counting thread); the destructor stops the decoding
// at its next batch, joins its thread and gives the reading back to `reader`.
//
// The read() calls of a regular file are the caller's (PacketReader::HandOverReading): the
// kernel's copy of the file into memory costs about as much as the table, so Next() reads the
// file ahead, kChunkBytes at a time into a ring of kChunks buffers, whenever one is free, and
// the decoding thread only parses and decodes. Both threads then carry about half of the work.
// Standard input and pipes are read by the decoding thread, as before.
class DecodeThread : private common::ChunkSource {
 public:
  static constexpr size_t kSlots = 4;
  static constexpr size_t kChunks = 6;
  static constexpr size_t kChunkBytes = size_t{1} << 20;
  // Room before a chunk for the tail of the one before: more than the largest record the
  // reader accepts (256 KiB and its header), so a cut record is made whole by one small copy.
  static constexpr size_t kChunkHeadroom = size_t{320} << 10;

  // Starts the decoding thread.
  DecodeThread(common::PacketReader& reader, const common::DecodeOptions& options,
               uint64_t progress_packets);
  ~DecodeThread();
  DecodeThread(const DecodeThread&) = delete;
  DecodeThread& operator=(const DecodeThread&) = delete;

  // The next batch in capture order, valid until the next call (which hands its buffer back
  // to the decoding thread) or the destructor. Null once the reader stopped and every batch
  // was handed out: the decoding thread has then ended, and reader.status() may be read.
  const DecodedBatch* Next() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // The decoding thread's loop.
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // ChunkSource, for the reader on the decoding thread.
  common::ByteChunk NextChunk() override ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status ReadStatus() override ABSL_LOCKS_EXCLUDED(mu_);
  uint8_t* ChunkData(uint64_t chunk) {
    return chunk_memory_.get() + (chunk % kChunks) * (kChunkHeadroom + kChunkBytes) +
           kChunkHeadroom;
  }
  // Whether Next()'s thread should read the next chunk now: it hands reading over, the file
  // has not ended, a buffer is free and the decoding goes on.
  bool CanRead() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return read_fd_ >= 0 && !read_ended_ && !stop_ && !done_ &&
           chunks_read_ - chunks_released_ < kChunks;
  }
  bool CanReadOrHasBatchOrDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return CanRead() || HasBatchOrDone();
  }
  // Reads chunk chunks_read_ into its buffer (free: CanRead, or the decoding thread once
  // stopped) with mu_ released, then publishes it; a short chunk ends the reading (end of file,
  // or a read error kept for ReadStatus()).
  void ReadNextChunk() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasChunkOrEnd() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || read_ended_ || chunks_read_ > chunks_taken_;
  }
  // Stops the decoding at its next batch and joins its thread. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  bool HasRoomOrStop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || filled_ - handed_back_ < kSlots;
  }
  bool HasBatchOrDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return done_ || filled_ > handed_back_;
  }

  common::PacketReader& reader_;
  const common::DecodeOptions options_;
  const uint64_t progress_packets_;
  // Slot n % kSlots holds batch n: written by the decoding thread while n < filled_ is false,
  // read by Next()'s caller from filled_ > n until handed back (handed_back_ > n). The counts
  // under mu_ order the two.
  std::array<DecodedBatch, kSlots> slots_;
  absl::Mutex mu_;
  uint64_t filled_ ABSL_GUARDED_BY(mu_) = 0;       // Batches the decoding thread finished.
  uint64_t handed_back_ ABSL_GUARDED_BY(mu_) = 0;  // Batches the caller is done with.
  bool done_ ABSL_GUARDED_BY(mu_) = false;         // The decoding thread will fill no more.
  bool stop_ ABSL_GUARDED_BY(mu_) = false;         // Asked to stop early.
  bool holding_ = false;  // Next()'s thread: it handed out batch handed_back_, not yet back.
  // Reading ahead (read_fd_ >= 0): chunk n lives in buffer n % kChunks, written by Next()'s
  // thread while n < chunks_read_ is false, read by the decoding thread from then until it
  // released it (chunks_released_ > n; it keeps the last one it took, two within NextChunk).
  int read_fd_ = -1;
  std::unique_ptr<uint8_t[]> chunk_memory_;  // Not zeroed: only the pages used get memory.
  std::array<size_t, kChunks> chunk_sizes_ ABSL_GUARDED_BY(mu_) = {};
  uint64_t chunks_read_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t chunks_taken_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t chunks_released_ ABSL_GUARDED_BY(mu_) = 0;
  bool read_ended_ ABSL_GUARDED_BY(mu_) = false;  // End of file or a read error: no more chunks.
  absl::Status read_status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace synmap::cli
