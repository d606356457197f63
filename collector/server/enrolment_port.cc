#include "collector/server/enrolment_port.h"

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/tls/pinned_tls.h"

namespace synmap::collector {
namespace {

bool SameMaterial(const common::TlsMaterial& a, const common::TlsMaterial& b) {
  return a.ca_pem == b.ca_pem && a.cert_pem == b.cert_pem && a.key_pem == b.key_pem;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EnrolmentPort>> EnrolmentPort::Start(
    const std::string& listen_address, const common::TlsMaterial& tls,
    const std::optional<common::TlsFiles>& files, grpc::Service& service,
    absl::Duration reload_every) {
  auto port = absl::WrapUnique(
      new EnrolmentPort(service, listen_address.substr(0, listen_address.rfind(':'))));
  std::unique_ptr<grpc::Server> server = port->Serve(listen_address, tls, &port->port_);
  if (server == nullptr || port->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for enrolment on ", listen_address));
  }
  port->server_ = std::move(server);
  port->serving_ = tls;
  if (files.has_value()) {
    port->reloader_ =
        std::thread([p = port.get(), f = *files, reload_every] { p->ReloadLoop(f, reload_every); });
  }
  return port;
}

EnrolmentPort::EnrolmentPort(grpc::Service& service, std::string host)
    : service_(service), host_(std::move(host)) {}

EnrolmentPort::~EnrolmentPort() { Shutdown(absl::Seconds(5)); }

std::unique_ptr<grpc::Server> EnrolmentPort::Serve(const std::string& address,
                                                   const common::TlsMaterial& tls, int* port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, common::MakeServerAuthenticatedCredentials(tls), port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10'000);
  builder.SetMaxReceiveMessageSize(64 << 10);  // A token and a CSR: a few KiB.
  builder.RegisterService(&service_);
  return builder.BuildAndStart();
}

void EnrolmentPort::ReloadLoop(common::TlsFiles files, absl::Duration every) {
  const std::string address = absl::StrCat(host_, ":", port_);
  std::string last_problem;
  while (!stop_.WaitForNotificationWithTimeout(every)) {
    // A half-written or mismatched pair is not served: the next look may find it complete.
    absl::StatusOr<common::TlsMaterial> loaded = common::LoadTlsMaterial(files);
    if (!loaded.ok()) {
      if (std::string problem(loaded.status().message()); problem != last_problem) {
        SYNMAP_LOG(WARNING) << "enrolment_certificate_unusable cert=" << files.cert_path
                            << " status=" << loaded.status();
        last_problem = std::move(problem);
      }
      continue;
    }
    last_problem.clear();
    if (server_ == nullptr || SameMaterial(*loaded, serving_)) {
      continue;
    }
    // One port, no SO_REUSEPORT: the old server lets go of it before the new one binds.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_->Wait();
    int port = 0;
    server_ = Serve(address, *loaded, &port);
    if (server_ == nullptr || port != port_) {
      // Someone took the port in between: nothing sensible is left to serve on.
      SYNMAP_LOG(ERROR) << "enrolment_port_lost address=" << address;
      server_.reset();
      continue;
    }
    serving_ = *std::move(loaded);
    reloads_.fetch_add(1, std::memory_order_relaxed);
    SYNMAP_LOG(INFO) << "enrolment_certificate_reloaded port=" << port_
                     << " cert=" << files.cert_path;
  }
}

void EnrolmentPort::Shutdown(absl::Duration grace) {
  if (!stop_.HasBeenNotified()) {
    stop_.Notify();
  }
  if (reloader_.joinable()) {
    reloader_.join();
  }
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
    server_->Wait();
    server_.reset();
  }
}

}  // namespace synmap::collector
