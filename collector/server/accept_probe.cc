#include "collector/server/accept_probe.h"

#include <netdb.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace synmap::collector {
namespace {

struct SslCtxCloser {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslCloser {
  void operator()(SSL* s) const { SSL_free(s); }
};
// Closes the probe's socket when the probe ends.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() { close(fd_); }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;

 private:
  int fd_;
};

// Suspends the handshake where the client would send its certificate: reaching this point
// proves the server accepted the connection and sent its whole first flight.
int SuspendAtClientCertificate(SSL* /*ssl*/, X509** /*x509*/, EVP_PKEY** /*pkey*/) { return -1; }

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "no TLS error recorded";
  }
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

absl::Status LoadCa(SSL_CTX* ctx, const std::string& ca_pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())), &BIO_free);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int loaded = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    loaded += X509_STORE_add_cert(store, cert) == 1 ? 1 : 0;
    X509_free(cert);
  }
  ERR_clear_error();  // The loop ends on a "no start line" error.
  return loaded > 0 ? absl::OkStatus() : absl::InvalidArgumentError("accept probe: no CA in PEM");
}

// A TCP connection to `target` with send/receive timeouts of `timeout`, or the reason why not.
absl::StatusOr<int> Connect(const std::string& target, absl::Duration timeout) {
  const size_t colon = target.rfind(':');
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string host = target.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = target.substr(colon + 1);
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(absl::StrCat("resolve ", target, ": ", gai_strerror(rc)));
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const int err = errno;
    freeaddrinfo(found);
    return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(err)));
  }
  const timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));  // Also bounds connect().
  const int rc = connect(fd, found->ai_addr, found->ai_addrlen);
  const int err = errno;
  freeaddrinfo(found);
  if (rc != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect ", target, ": ", std::strerror(err)));
  }
  return fd;
}

}  // namespace

absl::Status AcceptProbeOptions::Validate() const {
  if (target.rfind(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("accept probe target '", target, "'"));
  }
  if (ca_pem.empty() || interval <= absl::ZeroDuration() || timeout <= absl::ZeroDuration() ||
      failures_to_fail < 1) {
    return absl::InvalidArgumentError("accept probe needs a CA, an interval, a timeout, N >= 1");
  }
  return absl::OkStatus();
}

absl::Status ProbeTlsAccept(const AcceptProbeOptions& options) {
  std::unique_ptr<SSL_CTX, SslCtxCloser> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) {
    return absl::UnavailableError(absl::StrCat("accept probe: ", OpenSslError()));
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_client_cert_cb(ctx.get(), &SuspendAtClientCertificate);
  if (absl::Status s = LoadCa(ctx.get(), options.ca_pem); !s.ok()) {
    return s;
  }
  absl::StatusOr<int> fd = Connect(options.target, options.timeout);
  if (!fd.ok()) {
    return fd.status();
  }
  ScopedFd fd_owner(*fd);
  std::unique_ptr<SSL, SslCloser> ssl(SSL_new(ctx.get()));
  static constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};
  if (ssl == nullptr || SSL_set_alpn_protos(ssl.get(), kAlpnH2, sizeof(kAlpnH2)) != 0 ||
      SSL_set_fd(ssl.get(), *fd) != 1) {
    return absl::UnavailableError(absl::StrCat("accept probe: ", OpenSslError()));
  }
  const int rc = SSL_connect(ssl.get());
  const int error = SSL_get_error(ssl.get(), rc);
  if (rc == 1 || error == SSL_ERROR_WANT_X509_LOOKUP) {
    ERR_clear_error();
    return absl::OkStatus();
  }
  const int err = errno;
  if (error == SSL_ERROR_SYSCALL || error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    return absl::UnavailableError(
        absl::StrCat("TLS handshake with ", options.target, ": ",
                     err == EAGAIN || err == EWOULDBLOCK ? "timed out" : std::strerror(err)));
  }
  return absl::UnavailableError(
      absl::StrCat("TLS handshake with ", options.target, ": ", OpenSslError()));
}

AcceptProbe::AcceptProbe(AcceptProbeOptions options,
                         std::function<void(const absl::Status&)> on_failed)
    : options_(std::move(options)), on_failed_(std::move(on_failed)) {}

AcceptProbe::~AcceptProbe() { Stop(); }

absl::Status AcceptProbe::Start() {
  if (absl::Status s = options_.Validate(); !s.ok()) {
    return s;
  }
  if (thread_.joinable()) {
    return absl::FailedPreconditionError("accept probe already started");
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void AcceptProbe::Stop() {
  if (!stop_.HasBeenNotified()) {
    stop_.Notify();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void AcceptProbe::Run() {
  int in_a_row = 0;
  while (!stop_.WaitForNotificationWithTimeout(options_.interval)) {
    probes_.fetch_add(1, std::memory_order_relaxed);
    absl::Status s = ProbeTlsAccept(options_);
    if (s.ok()) {
      if (in_a_row > 0) {
        SYNMAP_LOG(INFO) << "accept_probe_recovered after_failures=" << in_a_row;
      }
      in_a_row = 0;
      continue;
    }
    failures_.fetch_add(1, std::memory_order_relaxed);
    ++in_a_row;
    SYNMAP_LOG(WARNING) << "accept_probe_failed target=" << options_.target
                        << " in_a_row=" << in_a_row << " of=" << options_.failures_to_fail
                        << " status=" << s;
    if (in_a_row == options_.failures_to_fail) {
      on_failed_(s);
    }
  }
}

}  // namespace synmap::collector
