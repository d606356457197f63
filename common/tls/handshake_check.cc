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
#include "common/tls/certificate_check.h"
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

// Loads the CA into `ctx` as the trust anchors for the collector's certificate; false when
// there is none (the caller then has nothing to explain: gRPC would have failed on it first).
bool LoadCa(SSL_CTX* ctx, const TlsMaterial& material) {
  auto ca = MemoryBio(material.ca_pem);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int loaded = 0;
  while (X509* cert = PEM_read_bio_X509(ca.get(), nullptr, nullptr, nullptr)) {
    loaded += X509_STORE_add_cert(store, cert) == 1 ? 1 : 0;
    X509_free(cert);
  }
  ERR_clear_error();
  return loaded > 0;
}

// Presents our certificate and key on `ssl`; false when they do not parse or load.
bool UseOurCertificate(SSL* ssl, const TlsMaterial& material) {
  auto cert_bio = MemoryBio(material.cert_pem);
  X509Handle cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  auto key_bio = MemoryBio(material.key_pem);
  EvpPkeyHandle key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert != nullptr && key != nullptr && SSL_use_certificate(ssl, cert.get()) == 1 &&
         SSL_use_PrivateKey(ssl, key.get()) == 1;
}

// OpenSSL's certificate callback: suspends the handshake once, where the client is about to
// present its certificate (the collector's certificate is verified by then), so that the
// caller can look at its own certificate before sending it. `arg` is a bool, "suspended".
int SuspendOnceBeforeOurCertificate(SSL* /*ssl*/, void* arg) {
  bool* suspended = static_cast<bool*>(arg);
  if (*suspended) {
    return 1;
  }
  *suspended = true;
  return -1;
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

// OpenSSL's words when the other side does not speak TLS: plaintext HTTP/2 (a collector started
// with --insecure-for-testing) or another service's port.
bool NotTls(absl::string_view reason) {
  return absl::StrContains(reason, "wrong version number") ||
         absl::StrContains(reason, "packet length too long") ||
         absl::StrContains(reason, "record layer failure");
}

}  // namespace

std::string DescribeCertificateProblem(const TlsMaterial& material, absl::string_view expected_role,
                                       absl::Time now) {
  const CertificateVerdict v = CheckCertificateChain(material.cert_pem, material.ca_pem, now);
  // The date CheckCertificateChain appends to OpenSSL's words: " (not after ...)".
  const size_t paren = v.detail.find(" (");
  const std::string dated = paren == std::string::npos ? "" : v.detail.substr(paren);
  switch (v.problem) {
    case CertificateProblem::kExpired:
      return absl::StrCat("this certificate has expired", dated,
                          ": the collector refuses it; get a new one (deploy/make-certs.sh DIR ",
                          expected_role, " NAME, or enrol again)");
    case CertificateProblem::kNotYetValid:
      return absl::StrCat("this certificate is not valid yet", dated,
                          ": the collector refuses it until then; check the clocks of this "
                          "machine and of the one that issued it");
    default:
      // Whether the CA in --ca is the collector's is known only once the collector's own
      // certificate has been verified against it (ExplainTlsRefusal).
      return "";
  }
}

std::string ExplainTlsRefusal(absl::string_view target, const TlsMaterial& material,
                              absl::string_view expected_role, absl::Duration timeout,
                              absl::Time now) {
  if (std::string problem = DescribeCertificateProblem(material, expected_role, now);
      !problem.empty()) {
    return problem;
  }
  SslCtxHandle ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr || !LoadCa(ctx.get(), material)) {
    return "";
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  bool suspended = false;
  SSL_CTX_set_cert_cb(ctx.get(), &SuspendOnceBeforeOurCertificate, &suspended);
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
  int rc = SSL_connect(ssl.get());
  if (rc != 1 && SSL_get_error(ssl.get(), rc) == SSL_ERROR_WANT_X509_LOOKUP) {
    // The collector's certificate verified against --ca and it asks for ours. Ours not
    // verifying against the same CA is the problem then; say so without sending it, so this
    // check adds no refused handshake to the collector's log.
    ERR_clear_error();
    const CertificateVerdict own = CheckCertificateChain(material.cert_pem, material.ca_pem, now);
    if (own.problem != CertificateProblem::kNone) {
      return absl::StrCat("this certificate is not issued by the CA in --ca, the collector's CA (",
                          own.detail,
                          "): the collector refuses it; use one issued by this "
                          "deployment's CA (deploy/make-certs.sh DIR ",
                          expected_role, " NAME, or enrol again)");
    }
    if (!UseOurCertificate(ssl.get(), material)) {
      return "";
    }
    rc = SSL_connect(ssl.get());
  }
  if (rc != 1) {
    const long verify = SSL_get_verify_result(ssl.get());
    const std::string reason = ErrorReason();
    if (verify != X509_V_OK) {
      return absl::StrCat("the collector's certificate does not verify against ", "this CA (",
                          X509_verify_cert_error_string(verify), "): is --ca the deployment's CA?");
    }
    if (NotTls(reason)) {
      return absl::StrCat("the service at ", target, " does not answer in TLS (", reason,
                          "): is it a collector started with --insecure-for-testing, or another "
                          "service's port?");
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
