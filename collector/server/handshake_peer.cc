#include "collector/server/handshake_peer.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace synmap::collector {
namespace {

// The socket this thread last read with recvmsg, or -1. Constant-initialised, so reading it
// from the interposed recvmsg costs one thread-local store, on any thread, at any time.
thread_local int t_last_read_fd = -1;

using RecvmsgFn = ssize_t (*)(int, struct msghdr*, int);

RecvmsgFn RealRecvmsg() {
  static const RecvmsgFn real = [] {
    auto* fn = reinterpret_cast<RecvmsgFn>(dlsym(RTLD_NEXT, "recvmsg"));
    if (fn == nullptr) {
      std::fputs("handshake_peer: cannot find the C library's recvmsg\n", stderr);
      std::abort();
    }
    return fn;
  }();
  return real;
}

struct ListeningPorts {
  absl::Mutex mu;
  std::vector<int> ports ABSL_GUARDED_BY(mu);
};

// Never destroyed: gRPC threads may ask until the process exits.
ListeningPorts& Ports() {
  static auto* ports = new ListeningPorts();
  return *ports;
}

bool IsListeningPort(int port) {
  ListeningPorts& p = Ports();
  absl::MutexLock lock(&p.mu);
  return std::find(p.ports.begin(), p.ports.end(), port) != p.ports.end();
}

// The port of an AF_INET/AF_INET6 address, or -1.
int PortOf(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  }
  return -1;
}

// gRPC's peer form of `addr`; an IPv4-mapped IPv6 address (dual-stack listener) prints as IPv4.
std::string PeerForm(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text));
    return absl::StrCat("ipv4:", text, ":", ntohs(a.sin_port));
  }
  const auto& a6 = reinterpret_cast<const sockaddr_in6&>(addr);
  if (IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr)) {
    inet_ntop(AF_INET, &a6.sin6_addr.s6_addr[12], text, sizeof(text));
    return absl::StrCat("ipv4:", text, ":", ntohs(a6.sin6_port));
  }
  inet_ntop(AF_INET6, &a6.sin6_addr, text, sizeof(text));
  return absl::StrCat("ipv6:[", text, "]:", ntohs(a6.sin6_port));
}

}  // namespace

std::string HandshakePeerAddress() {
  const int fd = t_last_read_fd;
  if (fd < 0) {
    return "";
  }
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  sockaddr_storage peer{};
  socklen_t peer_len = sizeof(peer);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
      getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 || PortOf(peer) < 0 ||
      !IsListeningPort(PortOf(local))) {
    return "";
  }
  return PeerForm(peer);
}

void RegisterListeningPort(int port) {
  ListeningPorts& p = Ports();
  absl::MutexLock lock(&p.mu);
  p.ports.push_back(port);
}

void UnregisterListeningPort(int port) {
  ListeningPorts& p = Ports();
  absl::MutexLock lock(&p.mu);
  if (auto it = std::find(p.ports.begin(), p.ports.end(), port); it != p.ports.end()) {
    p.ports.erase(it);
  }
}

}  // namespace synmap::collector

// Interposes the C library's recvmsg (see handshake_peer.h): remembers the socket, then reads
// exactly as the C library does. Exported from the executable (collector/server/CMakeLists.txt)
// so that libgrpc's calls bind here.
extern "C" ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  synmap::collector::t_last_read_fd = fd;
  return synmap::collector::RealRecvmsg()(fd, msg, flags);
}
