#include "common/pcapfile/internal/byte_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace synmap::common::internal {

absl::StatusOr<std::unique_ptr<ByteStream>> ByteStream::Open(absl::string_view path) {
  if (path == "-") {
    return absl::WrapUnique(new ByteStream(STDIN_FILENO, /*owns_fd=*/false));
  }
  const std::string path_str(path);
  const int fd = ::open(path_str.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  }
  auto stream = absl::WrapUnique(new ByteStream(fd, /*owns_fd=*/true));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("stat ", path));
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory"));
  }
  stream->regular_file_ = S_ISREG(st.st_mode);
  if (stream->regular_file_) {
    // A small file needs no 1 MiB buffer: many of them may be open at once (several capture
    // points merged by time). It may still grow (a capture being written): reads then come in
    // pieces of the size chosen here, and a record longer than it grows the buffer.
    stream->read_chunk_bytes_ = std::clamp<size_t>(static_cast<size_t>(st.st_size) + 1,
                                                   kMinReadChunkBytes, kReadChunkBytes);
  }
  return stream;
}

ByteStream::~ByteStream() {
  if (owns_fd_ && fd_ >= 0) {
    ::close(fd_);
  }
}

const uint8_t* ByteStream::Fill(size_t n) {
  if (eof_ || !status_.ok()) {
    return nullptr;
  }
  if (source_ != nullptr) {
    return FillFromSource(n);
  }
  // Move the unconsumed tail to the front, grow to fit `n`, then read until `n` are there.
  const size_t have = static_cast<size_t>(end_ - pos_);
  const size_t consumed = static_cast<size_t>(pos_ - begin_);
  if (buffer_.size() < n || buffer_.size() < read_chunk_bytes_) {
    std::vector<uint8_t> bigger(std::max(n, read_chunk_bytes_));
    if (have > 0) {
      std::memcpy(bigger.data(), pos_, have);
    }
    buffer_.swap(bigger);
  } else if (have > 0 && consumed > 0) {
    std::memmove(buffer_.data(), pos_, have);
  }
  consumed_before_buffer_ += consumed;
  begin_ = buffer_.data();
  pos_ = begin_;
  end_ = begin_ + have;
  const size_t filled = have + ReadAtLeast(fd_, buffer_.data() + have, n - have,
                                           buffer_.size() - have, &eof_, &status_);
  end_ = begin_ + filled;
  return filled >= n ? pos_ : nullptr;
}

const uint8_t* ByteStream::FillFromSource(size_t n) {
  const size_t have = static_cast<size_t>(end_ - pos_);
  const uint64_t offset_now = offset();
  ByteChunk chunk = source_->NextChunk();
  if (chunk.size == 0) {
    eof_ = true;
    status_ = source_->ReadStatus();
    return nullptr;  // pos_ and end_ stay: the tail is still there (buffered()).
  }
  if (have <= chunk.headroom && have + chunk.size >= n) {
    // The usual case: the tail (the start of a record cut by the boundary) goes just before the
    // chunk's bytes. The chunk before (holding the tail) is still the stream's until the next
    // NextChunk() call.
    uint8_t* start = chunk.data - have;
    if (have > 0) {
      std::memcpy(start, pos_, have);
    }
    begin_ = start;
    pos_ = start;
    end_ = chunk.data + chunk.size;
    consumed_before_buffer_ = offset_now;
    return pos_;
  }
  // A record longer than a chunk's headroom allows, or the file's last chunks: gather the tail
  // and whole chunks in buffer_ until `n` bytes are there or the input ends.
  std::vector<uint8_t> gathered;
  gathered.reserve(std::max(n, have + chunk.size));
  gathered.insert(gathered.end(), pos_, end_);
  for (;;) {
    gathered.insert(gathered.end(), chunk.data, chunk.data + chunk.size);
    if (gathered.size() >= n) {
      break;
    }
    chunk = source_->NextChunk();
    if (chunk.size == 0) {
      eof_ = true;
      status_ = source_->ReadStatus();
      break;
    }
  }
  buffer_.swap(gathered);
  begin_ = buffer_.data();
  pos_ = begin_;
  end_ = begin_ + buffer_.size();
  consumed_before_buffer_ = offset_now;
  return buffer_.size() >= n ? pos_ : nullptr;
}

void ByteStream::TakeBackReading() {
  if (source_ == nullptr) {
    return;
  }
  source_ = nullptr;
  const uint64_t offset_now = offset();
  std::vector<uint8_t> tail(pos_, end_);
  buffer_.swap(tail);
  begin_ = buffer_.data();
  pos_ = begin_;
  end_ = begin_ + buffer_.size();
  consumed_before_buffer_ = offset_now;
  if (!eof_ && status_.ok() &&
      ::lseek(fd_, static_cast<off_t>(offset_now + buffer_.size()), SEEK_SET) < 0) {
    status_ = absl::ErrnoToStatus(errno, "lseek");
  }
}

bool ByteStream::Discard(uint64_t n) {
  while (n > 0) {
    const size_t have = buffered();
    if (have >= n) {
      Skip(static_cast<size_t>(n));
      return true;
    }
    Skip(have);
    n -= have;
    if (Peek(1) == nullptr) {
      return false;
    }
  }
  return true;
}

}  // namespace synmap::common::internal

namespace synmap::common {

size_t ReadAtLeast(int fd, uint8_t* out, size_t at_least, size_t capacity, bool* eof,
                   absl::Status* status) {
  size_t filled = 0;
  while (filled < at_least) {
    const ssize_t got = ::read(fd, out + filled, capacity - filled);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      *status = absl::ErrnoToStatus(errno, "read");
      break;
    }
    if (got == 0) {
      *eof = true;
      break;
    }
    filled += static_cast<size_t>(got);
  }
  return filled;
}

}  // namespace synmap::common
