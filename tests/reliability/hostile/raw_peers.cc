#include "tests/reliability/hostile/raw_peers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace synmap::reliability {
namespace {

// An owned socket descriptor.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Socket& operator=(Socket&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Socket() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

absl::Status ParseTarget(const std::string& host_port, sockaddr_in* addr) {
  const size_t colon = host_port.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(host_port.substr(colon + 1), &port) ||
      port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("target '", host_port, "' is not IPv4:PORT"));
  }
  *addr = {};
  addr->sin_family = AF_INET;
  addr->sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr->sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("target '", host_port, "' is not IPv4:PORT"));
  }
  return absl::OkStatus();
}

Socket Connect(const sockaddr_in& addr) {
  Socket s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.fd() < 0 || connect(s.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Socket();
  }
  return s;
}

// True when the peer has closed `fd` (EOF or error) within `wait`; consumes any data.
bool ClosedByPeer(int fd, absl::Duration wait) {
  const absl::Time deadline = absl::Now() + wait;
  char buf[4096];
  while (true) {
    const int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left_ms)));
    if (ready <= 0) {
      return false;
    }
    const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      return true;
    }
  }
}

}  // namespace

absl::Status SendRandomBytes(const std::string& host_port, int connections,
                             int bytes_per_connection, uint64_t seed, RawAttackReport* report) {
  sockaddr_in addr;
  if (absl::Status s = ParseTarget(host_port, &addr); !s.ok()) {
    return s;
  }
  std::mt19937_64 rng(seed);
  std::vector<char> payload(static_cast<size_t>(bytes_per_connection));
  for (int c = 0; c < connections; ++c) {
    for (char& b : payload) {
      b = static_cast<char>(rng());
    }
    Socket s = Connect(addr);
    if (s.fd() < 0) {
      ++report->connect_failures;
      continue;
    }
    ++report->connections_opened;
    size_t off = 0;
    while (off < payload.size()) {
      const ssize_t n = send(s.fd(), payload.data() + off, payload.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        break;  // The server closed on us mid-way: that is a fine answer to garbage.
      }
      off += static_cast<size_t>(n);
    }
    report->bytes_sent += static_cast<int64_t>(off);
    if (off < payload.size() || ClosedByPeer(s.fd(), absl::Seconds(2))) {
      ++report->closed_by_server;
    }
  }
  return report->connections_opened > 0
             ? absl::OkStatus()
             : absl::UnavailableError(absl::StrCat("no connection to ", host_port));
}

absl::Status StallHandshakes(const std::string& host_port, int connections, absl::Duration hold,
                             const std::function<void(int)>& on_holding, RawAttackReport* report) {
  sockaddr_in addr;
  if (absl::Status s = ParseTarget(host_port, &addr); !s.ok()) {
    return s;
  }
  // ContentType handshake (22), TLS 1.0 record version, length 16384: a body never comes.
  const char partial_record[5] = {22, 3, 1, 0x40, 0x00};
  std::vector<Socket> held;
  for (int c = 0; c < connections; ++c) {
    Socket s = Connect(addr);
    if (s.fd() < 0) {
      ++report->connect_failures;
      continue;
    }
    ++report->connections_opened;
    if (c % 2 == 1 && send(s.fd(), partial_record, sizeof(partial_record), MSG_NOSIGNAL) ==
                          static_cast<ssize_t>(sizeof(partial_record))) {
      report->bytes_sent += sizeof(partial_record);
    }
    held.push_back(std::move(s));
  }
  on_holding(static_cast<int>(held.size()));
  absl::SleepFor(hold);  // Holding the sockets open is the attack itself.
  for (const Socket& s : held) {
    if (ClosedByPeer(s.fd(), absl::ZeroDuration())) {
      ++report->closed_by_server;
    }
  }
  return report->connections_opened > 0
             ? absl::OkStatus()
             : absl::UnavailableError(absl::StrCat("no connection to ", host_port));
}

}  // namespace synmap::reliability
