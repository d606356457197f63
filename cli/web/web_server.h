#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/web/password_file.h"
#include "cli/web/web_views.h"

namespace httplib {
class Server;
}

namespace synmap::cli::web {

// Where `synmap web` listens: "HOST:PORT" or "[V6]:PORT".
struct ListenAddress {
  std::string host{};     // Without brackets.
  int port = 0;           // 0: any free port.
  bool loopback = false;  // 127.0.0.0/8, ::1 or "localhost".
};
// InvalidArgument for a missing host or port, or a port outside 0-65535.
[[nodiscard]] absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text);

struct WebServerOptions {
  std::string listen = "127.0.0.1:8080";  // --listen; port 0 picks a free port.
  std::string tls_cert{};                 // PEM certificate chain; with tls_key, serve HTTPS.
  std::string tls_key{};                  // PEM private key of tls_cert.
  std::string password_file{};  // Require HTTP basic auth by these accounts (PasswordFile).
  std::string client_ca{};      // PEM CA bundle: require client certificates it signed (TLS).

  // InvalidArgument when the address is bad, only one of tls_cert/tls_key is set, client_ca is
  // set without TLS, or the address is not loopback and the server would run without TLS or
  // without a password file or client certificates.
  [[nodiscard]] absl::Status Validate() const;
};

// The HTTP(S) server of `synmap web` (cpp-httplib): GET and HEAD only (other methods 405),
// every answer with a strict Content-Security-Policy, nosniff, no framing and no caching; the
// built-in assets; and WebViews' pages. Owns its listening thread and the library's worker
// threads; `views` is borrowed and must outlive the server. Thread-safe.
class WebServer {
 public:
  // Validates `options`, loads the TLS files and password file, binds and starts serving.
  // InvalidArgument (options, unreadable TLS files), NotFound (password file), Unavailable
  // (the address cannot be bound).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<WebServer>> Start(
      const WebServerOptions& options, const WebViews& views);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // The bound port (the one picked when options asked for 0).
  int port() const { return port_; }
  // "http://127.0.0.1:8080/" (https with TLS; IPv6 hosts in brackets).
  std::string url() const;
  // Stops accepting, finishes the requests in progress and joins. Idempotent.
  void Stop();

 private:
  WebServer(const WebViews& views, std::optional<PasswordFile> passwords, bool tls,
            ListenAddress address);
  void AddRoutes();

  const WebViews& views_;
  const std::optional<PasswordFile> passwords_;
  const bool tls_;
  const ListenAddress address_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread listener_;
};

// The headers every answer carries: Content-Security-Policy (default-src 'none'; script, style
// and images only from the server itself; no framing, no form target elsewhere),
// X-Content-Type-Options nosniff, X-Frame-Options DENY, Referrer-Policy no-referrer,
// Cache-Control no-store.
inline constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

}  // namespace synmap::cli::web
