#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"

namespace synmap::common {

// Consecutive bytes of a capture file read by someone else (PacketReader::HandOverReading).
// `data` - `headroom` .. `data` is writable: the reader copies the unread tail of the chunk
// before into it, so a record cut by the chunk boundary is whole again without copying the chunk.
struct ByteChunk {
  uint8_t* data = nullptr;
  size_t size = 0;  // 0: the input ended (or reading failed: ChunkSource::status()).
  size_t headroom = 0;
};

// Where a PacketReader that handed over its reading gets its file's bytes: chunk after chunk,
// in file order. Called on the reader's thread only.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  // The next chunk, waiting for it if need be. The chunk handed out before the last one may be
  // reused from this call on (the reader keeps at most the last two).
  virtual ByteChunk NextChunk() = 0;
  // Once NextChunk() returned an empty chunk: OK at the end of the file, else the read error.
  virtual absl::Status ReadStatus() = 0;
};

// Reads `fd` into `out` (room for `capacity` bytes) until at least `at_least` (<= capacity)
// bytes are there, the file ends (then *eof is set) or a read fails (then *status is set);
// an interrupted read is retried. Returns the bytes read. The one read loop of the native
// readers, whichever thread reads.
size_t ReadAtLeast(int fd, uint8_t* out, size_t at_least, size_t capacity, bool* eof,
                   absl::Status* status);

}  // namespace synmap::common
