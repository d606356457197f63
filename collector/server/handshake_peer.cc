#include "collector/server/handshake_peer.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "collector/server/internal/recent_reads.h"

namespace synmap::collector {
namespace {

// Looks up the next definition of `name` (the C library's, OpenSSL's) once; aborts when there is
// none, since the process cannot do I/O without it.
template <typename Fn>
Fn Next(const char* name) {
  auto* fn = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
  if (fn == nullptr) {
    std::fprintf(stderr, "handshake_peer: cannot find %s in the libraries\n", name);
    std::abort();
  }
  return fn;
}

using RecvmsgFn = ssize_t (*)(int, struct msghdr*, int);
using BioWriteFn = int (*)(BIO*, const void*, int);
using BioNewPairFn = int (*)(BIO**, size_t, BIO**, size_t);
using SslFn = int (*)(SSL*);
using SslFreeFn = void (*)(SSL*);
using SslPeerCertFn = X509* (*)(const SSL*);
using SslPeerChainFn = STACK_OF(X509) * (*)(const SSL*);

// How many first bytes of a read name it (TLS records: a 5-byte header, then handshake
// messages whose fresh random bytes make each connection's first 32 bytes its own).
constexpr size_t kPrefixBytes = 32;

// FNV-1a of the first min(kPrefixBytes, n) bytes spread over `iov`, with their count; never 0.
uint64_t PrefixHash(const struct iovec* iov, size_t iovcnt, size_t n) {
  uint64_t h = 14695981039346656037ULL;
  size_t left = std::min(n, kPrefixBytes);
  h = (h ^ left) * 1099511628211ULL;
  for (size_t i = 0; i < iovcnt && left > 0; ++i) {
    const auto* p = static_cast<const unsigned char*>(iov[i].iov_base);
    const size_t take = std::min(left, iov[i].iov_len);
    for (size_t k = 0; k < take; ++k) {
      h = (h ^ p[k]) * 1099511628211ULL;
    }
    left -= take;
  }
  return h == 0 ? 1 : h;
}

// Recent reads of every socket of the process, by their first bytes.
constinit internal::RecentReads g_reads;

uint64_t MonotonicSeconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return static_cast<uint64_t>(now.tv_sec);
}

// What this thread last handed to OpenSSL with BIO_write (the BIO and its bytes' prefix hash),
// and the SSL object whose handshake it is working on. Constant-initialised.
thread_local const BIO* t_written_bio = nullptr;
thread_local uint64_t t_written_hash = 0;
thread_local const SSL* t_current_ssl = nullptr;

// The two halves of each BIO pair (gRPC feeds a handshake's bytes into one half; its SSL
// reads the other) and the peer of each server-side SSL object whose bytes were traced to an
// accepted connection. Never destroyed: gRPC threads may ask until the process exits.
struct Handshakes {
  absl::Mutex mu;
  absl::flat_hash_map<const BIO*, const BIO*> pair_of ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<const SSL*, std::string> peer_of ABSL_GUARDED_BY(mu);
};

Handshakes& AllHandshakes() {
  static auto* handshakes = new Handshakes();
  return *handshakes;
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

// The peer of socket `fd` in gRPC's form when it is a connection accepted on a listening port
// of this process, else "".
std::string AcceptedPeer(int fd) {
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

// Called as `ssl` starts a handshake step on this thread: when this thread's last BIO_write
// fed the bytes of a socket read into this SSL's BIO pair, that socket is its connection.
void TraceHandshakeStep(const SSL* ssl) {
  t_current_ssl = ssl;
  const BIO* written = t_written_bio;
  const uint64_t hash = t_written_hash;
  t_written_bio = nullptr;
  t_written_hash = 0;
  if (written == nullptr) {
    return;
  }
  const BIO* ssl_side = SSL_get_rbio(ssl);
  Handshakes& h = AllHandshakes();
  {
    absl::MutexLock lock(&h.mu);
    auto it = h.pair_of.find(ssl_side);
    if (it == h.pair_of.end() || it->second != written) {
      return;  // The bytes went to another BIO: not this handshake's.
    }
  }
  const int fd = g_reads.Claim(hash, MonotonicSeconds());
  if (fd < 0) {
    return;  // Not known, or several sockets sent these bytes (then naming one could be wrong).
  }
  std::string peer = AcceptedPeer(fd);
  if (peer.empty()) {
    return;
  }
  absl::MutexLock lock(&h.mu);
  h.peer_of[ssl] = std::move(peer);
}

}  // namespace

std::string HandshakePeerAddress() {
  const SSL* ssl = t_current_ssl;
  if (ssl == nullptr) {
    return "";
  }
  Handshakes& h = AllHandshakes();
  absl::MutexLock lock(&h.mu);
  auto it = h.peer_of.find(ssl);
  return it == h.peer_of.end() ? "" : it->second;
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

// The interposed functions (see handshake_peer.h). Exported from the executable
// (collector/server/CMakeLists.txt) so that libgrpc's calls bind here; each does exactly what
// the library's own does, after noting what it needs. None changes errno.
extern "C" {

ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  static const auto real = synmap::collector::Next<synmap::collector::RecvmsgFn>("recvmsg");
  const ssize_t n = real(fd, msg, flags);
  if (n > 0 && msg != nullptr && (flags & MSG_PEEK) == 0) {
    synmap::collector::g_reads.Note(
        fd, synmap::collector::PrefixHash(msg->msg_iov, msg->msg_iovlen, static_cast<size_t>(n)),
        synmap::collector::MonotonicSeconds());
  }
  return n;
}

int BIO_write(BIO* bio, const void* data, int length) {
  static const auto real = synmap::collector::Next<synmap::collector::BioWriteFn>("BIO_write");
  if (data != nullptr && length > 0) {
    struct iovec iov = {const_cast<void*>(data), static_cast<size_t>(length)};
    synmap::collector::t_written_bio = bio;
    synmap::collector::t_written_hash =
        synmap::collector::PrefixHash(&iov, 1, static_cast<size_t>(length));
  }
  return real(bio, data, length);
}

int BIO_new_bio_pair(BIO** bio1, size_t writebuf1, BIO** bio2, size_t writebuf2) {
  static const auto real =
      synmap::collector::Next<synmap::collector::BioNewPairFn>("BIO_new_bio_pair");
  const int ok = real(bio1, writebuf1, bio2, writebuf2);
  if (ok == 1 && *bio1 != nullptr && *bio2 != nullptr) {
    synmap::collector::Handshakes& h = synmap::collector::AllHandshakes();
    absl::MutexLock lock(&h.mu);
    h.pair_of[*bio1] = *bio2;
    h.pair_of[*bio2] = *bio1;
  }
  return ok;
}

int SSL_do_handshake(SSL* ssl) {
  static const auto real = synmap::collector::Next<synmap::collector::SslFn>("SSL_do_handshake");
  synmap::collector::TraceHandshakeStep(ssl);
  return real(ssl);
}

// gRPC extracts the peer's certificates right before it calls the certificate verifier, on the
// same thread: the verifier's handshake is this SSL's.
X509* SSL_get1_peer_certificate(const SSL* ssl) {
  static const auto real =
      synmap::collector::Next<synmap::collector::SslPeerCertFn>("SSL_get1_peer_certificate");
  synmap::collector::t_current_ssl = ssl;
  return real(ssl);
}

STACK_OF(X509) * SSL_get_peer_cert_chain(const SSL* ssl) {
  static const auto real =
      synmap::collector::Next<synmap::collector::SslPeerChainFn>("SSL_get_peer_cert_chain");
  synmap::collector::t_current_ssl = ssl;
  return real(ssl);
}

void SSL_free(SSL* ssl) {
  static const auto real = synmap::collector::Next<synmap::collector::SslFreeFn>("SSL_free");
  if (ssl != nullptr) {
    const BIO* ssl_side = SSL_get_rbio(ssl);
    synmap::collector::Handshakes& h = synmap::collector::AllHandshakes();
    {
      absl::MutexLock lock(&h.mu);
      h.peer_of.erase(ssl);
      if (auto it = h.pair_of.find(ssl_side); it != h.pair_of.end()) {
        h.pair_of.erase(it->second);
        h.pair_of.erase(it);
      }
    }
    if (synmap::collector::t_current_ssl == ssl) {
      synmap::collector::t_current_ssl = nullptr;
    }
  }
  real(ssl);
}

}  // extern "C"
