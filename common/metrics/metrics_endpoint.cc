#include "common/metrics/metrics_endpoint.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace synmap::common {
namespace {

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr int kWorkerThreads = 2;
constexpr time_t kTimeoutSeconds = 5;

// httplib's default sets SO_REUSEPORT, which would let a second process bind the same port
// and share the scrapes; SO_REUSEADDR alone still refuses a port another socket listens on.
void ExclusiveSocketOptions(socket_t sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

}  // namespace

absl::Status SplitListenAddress(absl::string_view address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  absl::string_view host_part = colon == absl::string_view::npos ? "" : address.substr(0, colon);
  if (host_part.size() >= 2 && host_part.front() == '[' && host_part.back() == ']') {
    host_part = host_part.substr(1, host_part.size() - 2);
  } else if (host_part.find(':') != absl::string_view::npos) {
    host_part = "";  // A bare IPv6 address is ambiguous: ask for brackets.
  }
  int value = -1;
  if (host_part.empty() || !absl::SimpleAtoi(address.substr(colon + 1), &value) || value < 0 ||
      value > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address '", address, "': want HOST:PORT, e.g. 127.0.0.1:9101 or [::1]:9101"));
  }
  *host = std::string(host_part);
  *port = value;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Bind(
    absl::string_view address, const MetricsRegistry& registry) {
  std::string host;
  int port = 0;
  if (absl::Status s = SplitListenAddress(address, &host, &port); !s.ok()) {
    return s;
  }
  auto server = std::make_unique<httplib::Server>();
  server->set_socket_options(ExclusiveSocketOptions);
  // Headers and body go out as separate writes: without this, Nagle's algorithm holds the body
  // for the client's delayed ACK (~40 ms a scrape). Accepted sockets inherit it on Linux.
  server->set_tcp_nodelay(true);
  server->new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server->set_read_timeout(kTimeoutSeconds);
  server->set_write_timeout(kTimeoutSeconds);
  server->set_keep_alive_timeout(kTimeoutSeconds);
  server->set_payload_max_length(0);  // A scrape has no body.
  server->set_pre_routing_handler([](const httplib::Request& request, httplib::Response& response) {
    if (request.method == "GET" || request.method == "HEAD") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    response.status = 405;
    response.set_header("Allow", "GET, HEAD");
    response.set_content("only GET /metrics is served\n", "text/plain");
    return httplib::Server::HandlerResponse::Handled;
  });
  server->Get("/metrics", [&registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry.Render(), kContentType);
  });
  errno = 0;
  int bound = -1;
  if (port == 0) {
    bound = server->bind_to_any_port(host);
  } else if (server->bind_to_port(host, port)) {
    bound = port;
  }
  if (bound < 0) {
    const int error = errno;
    if (error == EADDRINUSE) {
      return absl::AlreadyExistsError(
          absl::StrCat("cannot serve metrics on ", address,
                       ": address already in use (is another synmap process serving there?)"));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ",
                     error != 0 ? std::strerror(error) : "cannot resolve or bind the address"));
  }
  const std::string bound_address = host.find(':') != std::string::npos
                                        ? absl::StrCat("[", host, "]:", bound)
                                        : absl::StrCat(host, ":", bound);
  return absl::WrapUnique(new MetricsEndpoint(std::move(server), bound, bound_address));
}

MetricsEndpoint::MetricsEndpoint(std::unique_ptr<httplib::Server> server, int port,
                                 std::string address)
    : server_(std::move(server)), port_(port), address_(std::move(address)) {}

MetricsEndpoint::~MetricsEndpoint() { Stop(); }

absl::Status MetricsEndpoint::Start() {
  if (started_ || stopped_) {
    return absl::FailedPreconditionError("metrics endpoint already started or stopped");
  }
  StartThread();
  SYNMAP_LOG(INFO) << "metrics_listening address=" << address_;
  return absl::OkStatus();
}

void MetricsEndpoint::StartThread() {
  started_ = true;
  thread_ = std::thread([this] {
    if (!server_->listen_after_bind()) {
      SYNMAP_LOG(ERROR) << "metrics_endpoint_failed address=" << address_;
    }
    serving_done_.Notify();
  });
}

void MetricsEndpoint::Stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  // httplib closes the bound socket only from its serving loop: run it briefly if it never ran.
  const bool served = started_;
  if (!started_) {
    StartThread();
  }
  {
    // httplib's stop() does nothing until the serving loop has begun (is_running()), so a
    // Stop() right after Start() asks again until the loop has begun or ended.
    while (!serving_done_.WaitForNotificationWithTimeout(absl::Milliseconds(1))) {
      if (server_->is_running()) {
        server_->stop();
        break;
      }
    }
    thread_.join();
  }
  if (served) {
    SYNMAP_LOG(INFO) << "metrics_stopped address=" << address_;
  }
}

}  // namespace synmap::common
