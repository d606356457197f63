#include "common/tls/handshake_check.h"

#include <netdb.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/tls/internal/openssl_handles.h"

namespace synmap::common {
namespace {

using internal::EvpPkeyHandle;
using internal::MemoryBio;
using internal::SslCtxHandle;
using internal::SslHandle;
using internal::X509Handle;

// Closes the socket when the check ends.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Loads the CA, our certificate and key into `ctx`; false on any failure (the caller then
// has nothing to explain: gRPC would have failed on the same files first).
bool Configure(SSL_CTX* ctx, const TlsMaterial& material) {
  auto ca = MemoryBio(material.ca_pem);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int loaded = 0;
  while (X509* cert = PEM_read_bio_X509(ca.get(), nullptr, nullptr, nullptr)) {
    loaded += X509_STORE_add_cert(store, cert) == 1 ? 1 : 0;
    X509_free(cert);
  }
  auto cert_bio = MemoryBio(material.cert_pem);
  X509Handle cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  auto key_bio = MemoryBio(material.key_pem);
  EvpPkeyHandle key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return loaded > 0 && cert != nullptr && key != nullptr &&
         SSL_CTX_use_certificate(ctx, cert.get()) == 1 &&
         SSL_CTX_use_PrivateKey(ctx, key.get()) == 1;
}

int Connect(absl::string_view target, absl::Duration timeout) {
  const size_t colon = target.rfind(':');
  if (colon == absl::string_view::npos) {
    return -1;
  }
  std::string host(target.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port(target.substr(colon + 1));
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) {
    return -1;
  }
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    const timeval tv = absl::ToTimeval(timeout);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  return fd;
}

// The reason string of the first queued OpenSSL error ("tlsv1 alert unknown ca"), or "".
std::string ErrorReason() {
  const unsigned long code = ERR_peek_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  std::string text = reason != nullptr ? reason : "";
  ERR_clear_error();
  return text;
}

std::string Refused(absl::string_view alert, absl::string_view role) {
  return absl::StrCat("the collector refused this certificate",
                      alert.empty() ? "" : absl::StrCat(" (", alert, ")"),
                      ": is it issued by the collector's CA, unexpired, OU=", role, "?");
}

}  // namespace

std::string ExplainTlsRefusal(absl::string_view target, const TlsMaterial& material,
                              absl::string_view expected_role, absl::Duration timeout) {
  SslCtxHandle ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr || !Configure(ctx.get(), material)) {
    return "";
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  ScopedFd fd(Connect(target, timeout));
  if (fd.get() < 0) {
    return "";
  }
  SslHandle ssl(SSL_new(ctx.get()));
  static constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};
  if (ssl == nullptr || SSL_set_alpn_protos(ssl.get(), kAlpnH2, sizeof(kAlpnH2)) != 0 ||
      SSL_set_fd(ssl.get(), fd.get()) != 1) {
    return "";
  }
  if (SSL_connect(ssl.get()) != 1) {
    const long verify = SSL_get_verify_result(ssl.get());
    const std::string reason = ErrorReason();
    if (verify != X509_V_OK) {
      return absl::StrCat("the collector's certificate does not verify against ", "this CA (",
                          X509_verify_cert_error_string(verify), "): is --ca the deployment's CA?");
    }
    return absl::StrContains(reason, "alert") ? Refused(reason, expected_role) : "";
  }
  // TLS 1.3: the collector checks our certificate after our Finished, so its verdict comes
  // as the first thing read: an alert (refused) or its HTTP/2 settings (accepted).
  char byte = 0;
  const int read = SSL_read(ssl.get(), &byte, 1);
  if (read > 0) {
    return "";
  }
  const int error = SSL_get_error(ssl.get(), read);
  const std::string reason = ErrorReason();
  if (absl::StrContains(reason, "alert")) {
    return Refused(reason, expected_role);
  }
  // Closed without an alert right after our certificate: refused all the same. A read that
  // timed out means the collector is waiting for us: accepted.
  if (error == SSL_ERROR_ZERO_RETURN || absl::StrContains(reason, "unexpected eof") ||
      (error == SSL_ERROR_SYSCALL && read == 0)) {
    return Refused("connection closed", expected_role);
  }
  return "";
}

}  // namespace synmap::common
