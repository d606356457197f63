#include "cli/web/web_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/web/assets.h"
#include "common/status/status_macros.h"

namespace synmap::cli::web {
namespace {

bool IsLoopback(const std::string& host) {
  if (host == "localhost") {
    return true;
  }
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

void Send(const WebResponse& response, httplib::Response& res) {
  res.status = response.status;
  res.set_content(response.body, response.content_type.c_str());
  if (!response.download_name.empty()) {
    res.set_header("Content-Disposition",
                   absl::StrCat("attachment; filename=\"", response.download_name, "\""));
  }
}

}  // namespace

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text) {
  ListenAddress address;
  absl::string_view port_text;
  if (absl::StartsWith(text, "[")) {
    const size_t close = text.find("]:");
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("--listen: '", text, "' is not [IPV6]:PORT"));
    }
    address.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos || text.find(':') != colon) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--listen: '", text, "' is not HOST:PORT (IPv6 addresses go in brackets: [::1]:8080)"));
    }
    address.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (address.host.empty() || !absl::SimpleAtoi(port_text, &address.port) || address.port < 0 ||
      address.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen: '", text, "' needs a host and a port from 0 to 65535"));
  }
  address.loopback = IsLoopback(address.host);
  return address;
}

absl::Status WebServerOptions::Validate() const {
  SYNMAP_ASSIGN_OR_RETURN(const ListenAddress address, ParseListenAddress(listen));
  if (tls_cert.empty() != tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  const bool tls = !tls_cert.empty();
  if (!client_ca.empty() && !tls) {
    return absl::InvalidArgumentError("--client-ca needs TLS (--tls-cert and --tls-key)");
  }
  if (!address.loopback && (!tls || (password_file.empty() && client_ca.empty()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen ", listen,
        " is not a loopback address: serving it needs TLS (--tls-cert and --tls-key) and either "
        "--password-file or client certificates (--client-ca); refusing to start"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WebServer>> WebServer::Start(const WebServerOptions& options,
                                                            const WebViews& views) {
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  SYNMAP_ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(options.listen));
  std::optional<PasswordFile> passwords;
  if (!options.password_file.empty()) {
    SYNMAP_ASSIGN_OR_RETURN(passwords, PasswordFile::Load(options.password_file));
  }
  const bool tls = !options.tls_cert.empty();
  auto server = absl::WrapUnique(new WebServer(views, std::move(passwords), tls, address));
  if (tls) {
    server->server_ = std::make_unique<httplib::SSLServer>(
        options.tls_cert.c_str(), options.tls_key.c_str(),
        options.client_ca.empty() ? nullptr : options.client_ca.c_str());
  } else {
    server->server_ = std::make_unique<httplib::Server>();
  }
  if (!server->server_->is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot load the TLS certificate ", options.tls_cert, ", key ", options.tls_key,
        options.client_ca.empty() ? "" : absl::StrCat(" or client CA ", options.client_ca)));
  }
  server->AddRoutes();
  httplib::Server& http = *server->server_;
  // SO_REUSEADDR (a restart binds while its old connections linger in TIME_WAIT), and not
  // cpp-httplib's default SO_REUSEPORT: with it a second `synmap web` on the same port would
  // bind too, and the kernel would hand each browser connection to either of the two.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  errno = 0;
  if (address.port == 0) {
    server->port_ = http.bind_to_any_port(address.host);
  } else if (http.bind_to_port(address.host, address.port)) {
    server->port_ = address.port;
  }
  if (server->port_ <= 0) {
    const int err = errno;
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen,
        err == EADDRINUSE ? ": address already in use (is another synmap web serving there?)"
        : err != 0        ? absl::StrCat(": ", std::strerror(err))
                          : ""));
  }
  server->listener_ = std::thread([&http] { http.listen_after_bind(); });
  return server;
}

WebServer::WebServer(const WebViews& views, std::optional<PasswordFile> passwords, bool tls,
                     ListenAddress address)
    : views_(views), passwords_(std::move(passwords)), tls_(tls), address_(std::move(address)) {}

WebServer::~WebServer() { Stop(); }

void WebServer::Stop() {
  if (listener_.joinable()) {
    server_->stop();
    listener_.join();
  }
}

std::string WebServer::url() const {
  const bool v6 = address_.host.find(':') != std::string::npos;
  return absl::StrCat(tls_ ? "https" : "http", "://", v6 ? "[" : "", address_.host, v6 ? "]" : "",
                      ":", port_, "/");
}

void WebServer::AddRoutes() {
  httplib::Server& http = *server_;
  http.set_default_headers({
      {"Content-Security-Policy", kContentSecurityPolicy},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cache-Control", "no-store"},
  });
  // Authentication first, then the read-only rule, before any route runs.
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (passwords_.has_value() && !passwords_->Allows(req.get_header_value("Authorization"))) {
      res.set_header("WWW-Authenticate", "Basic realm=\"synmap\", charset=\"UTF-8\"");
      Send(WebViews::ErrorPage(401, "Unauthorized", "a user name and password are required"), res);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      res.set_header("Allow", "GET, HEAD");
      Send(WebViews::ErrorPage(405, "Method not allowed",
                               absl::StrCat(req.method, " is not allowed: this site is read-only")),
           res);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Unrouted paths get a page; answers of the views keep their own.
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.status != 404) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        Send(WebViews::ErrorPage(404, "Not found", absl::StrCat("no page at ", req.path)), res);
        return httplib::Server::HandlerResponse::Handled;
      }));
  auto view = [&http](const char* path, auto render) {
    http.Get(path, [render](const httplib::Request& req, httplib::Response& res) {
      Send(render(req), res);
    });
  };
  view("/", [this](const httplib::Request& req) { return views_.Map(req.params); });
  view("/summary", [this](const httplib::Request& req) { return views_.Summary(req.params); });
  view("/new", [this](const httplib::Request& req) { return views_.Sightings(req.params, false); });
  view("/gone", [this](const httplib::Request& req) { return views_.Sightings(req.params, true); });
  view("/sensors", [this](const httplib::Request& req) { return views_.Sensors(req.params); });
  view("/downloads", [this](const httplib::Request& req) { return views_.Downloads(req.params); });
  view(R"(/download/([A-Za-z0-9._-]+))", [this](const httplib::Request& req) {
    return views_.Download(req.matches[1].str(), req.params);
  });
  for (const char* path : {kStylePath, kScriptPath, kFaviconPath}) {
    view(path, [](const httplib::Request& req) {
      const Asset* asset = FindAsset(req.path);
      WebResponse response;
      response.content_type = std::string(asset->content_type);
      response.body = std::string(asset->body);
      return response;
    });
  }
}

}  // namespace synmap::cli::web
