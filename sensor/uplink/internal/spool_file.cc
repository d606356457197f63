#include "sensor/uplink/internal/spool_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace synmap::sensor::internal {
namespace {

constexpr char kMagic[4] = {'S', 'M', 'S', 'P'};
constexpr absl::string_view kPrefix = "batch-";
constexpr absl::string_view kSuffix = ".spool";
constexpr size_t kCrcOffset = 32;

void PutLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

uint64_t GetLe(absl::string_view in, size_t offset, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in[offset + i])) << (8 * i);
  }
  return v;
}

uint32_t Crc(absl::string_view header32, absl::string_view payload) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(header32.data()),
              static_cast<uInt>(header32.size()));
  // zlib takes uInt lengths: feed large payloads in chunks.
  size_t done = 0;
  while (done < payload.size()) {
    const size_t n = std::min<size_t>(payload.size() - done, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(payload.data() + done), static_cast<uInt>(n));
    done += n;
  }
  return static_cast<uint32_t>(crc);
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat("write ", path));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

std::string SpoolFileName(uint64_t seq) {
  return absl::StrFormat("%s%020u%s", kPrefix, seq, kSuffix);
}

uint64_t SeqFromSpoolFileName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kPrefix) || !absl::ConsumeSuffix(&name, kSuffix) ||
      name.size() != 20) {
    return 0;
  }
  uint64_t seq = 0;
  return absl::SimpleAtoi(name, &seq) ? seq : 0;
}

std::string EncodeSpoolFile(const v1::Batch& batch, uint64_t covers_from_seq) {
  std::string payload = batch.SerializeAsString();
  std::string out;
  out.reserve(kSpoolHeaderBytes + payload.size());
  out.append(kMagic, sizeof(kMagic));
  PutLe(out, kSpoolFormatVersion, 4);
  PutLe(out, batch.seq(), 8);
  PutLe(out, covers_from_seq, 8);
  PutLe(out, payload.size(), 8);
  PutLe(out, Crc(out, payload), 4);
  out.append(payload);
  return out;
}

absl::StatusOr<SpoolFile> DecodeSpoolFile(absl::string_view bytes) {
  if (bytes.size() < kSpoolHeaderBytes) {
    return absl::DataLossError(absl::StrCat("truncated header: ", bytes.size(), " bytes"));
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return absl::DataLossError("bad magic");
  }
  const uint64_t version = GetLe(bytes, 4, 4);
  if (version != kSpoolFormatVersion) {
    return absl::DataLossError(absl::StrCat("unsupported version ", version));
  }
  SpoolFile file;
  file.seq = GetLe(bytes, 8, 8);
  file.covers_from_seq = GetLe(bytes, 16, 8);
  const uint64_t length = GetLe(bytes, 24, 8);
  if (length != bytes.size() - kSpoolHeaderBytes) {
    return absl::DataLossError(absl::StrCat("payload length ", length, " but file holds ",
                                            bytes.size() - kSpoolHeaderBytes));
  }
  const absl::string_view payload = bytes.substr(kSpoolHeaderBytes);
  const uint32_t stored = static_cast<uint32_t>(GetLe(bytes, kCrcOffset, 4));
  if (stored != Crc(bytes.substr(0, kCrcOffset), payload)) {
    return absl::DataLossError("checksum mismatch");
  }
  if (!file.batch.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::DataLossError("payload does not parse as synmap.v1.Batch");
  }
  if (file.batch.seq() != file.seq || file.seq == 0 || file.covers_from_seq == 0 ||
      file.covers_from_seq > file.seq) {
    return absl::DataLossError(absl::StrCat("inconsistent seq: header ", file.seq, " covers ",
                                            file.covers_from_seq, " batch ", file.batch.seq()));
  }
  return file;
}

absl::Status FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open dir ", dir));
  }
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) {
    return absl::ErrnoToStatus(saved, absl::StrCat("fsync dir ", dir));
  }
  return absl::OkStatus();
}

absl::Status WriteFileDurably(const std::string& dir, const std::string& name,
                              absl::string_view contents) {
  const std::string tmp = absl::StrCat(dir, "/.", name, ".tmp");
  const std::string path = absl::StrCat(dir, "/", name);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", tmp));
  }
  absl::Status status = WriteAll(fd, contents, tmp);
  if (status.ok() && ::fsync(fd) != 0) {
    status = absl::ErrnoToStatus(errno, absl::StrCat("fsync ", tmp));
  }
  if (::close(fd) != 0 && status.ok()) {
    status = absl::ErrnoToStatus(errno, absl::StrCat("close ", tmp));
  }
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = absl::ErrnoToStatus(errno, absl::StrCat("rename ", tmp, " to ", path));
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  return FsyncDir(dir);
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  }
  std::string out;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      return absl::ErrnoToStatus(saved, absl::StrCat("read ", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace synmap::sensor::internal
