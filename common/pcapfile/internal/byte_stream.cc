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
  // Move the unconsumed tail to the front, grow to fit `n`, then read until `n` are there.
  const size_t have = static_cast<size_t>(end_ - pos_);
  const size_t consumed = static_cast<size_t>(pos_ - begin_);
  if (buffer_.size() < n || buffer_.size() < kReadChunkBytes) {
    std::vector<uint8_t> bigger(std::max(n, kReadChunkBytes));
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
  size_t filled = have;
  while (filled < n) {
    const ssize_t got = ::read(fd_, buffer_.data() + filled, buffer_.size() - filled);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      status_ = absl::ErrnoToStatus(errno, "read");
      break;
    }
    if (got == 0) {
      eof_ = true;
      break;
    }
    filled += static_cast<size_t>(got);
  }
  end_ = begin_ + filled;
  return filled >= n ? pos_ : nullptr;
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
