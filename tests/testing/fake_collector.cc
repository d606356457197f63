#include "tests/testing/fake_collector.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <utility>

#include "common/batch/batch_codec.h"
#include "common/tls/credentials.h"

namespace synmap::testing {

grpc::Status FakeCollectorState::Serve(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::CollectorMessage, v1::SensorMessage>* stream) {
  v1::SensorMessage msg;
  if (!stream->Read(&msg) || !msg.has_hello()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "hello first");
  }
  v1::CollectorMessage hello_ack;
  {
    absl::MutexLock l(&mu_);
    hellos_.push_back(msg.hello());
    if (deny_role_) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "Ingest.Stream requires a certificate with OU=sensor");
    }
    if (silent_) {
      mu_.Unlock();
      while (stream->Read(&msg)) {  // Never answers; ends when the client cancels.
      }
      mu_.Lock();
      return grpc::Status::CANCELLED;
    }
    for (const auto& cn : context->auth_context()->FindPropertyValues("x509_common_name")) {
      peer_names_.emplace_back(cn.data(), cn.size());
    }
    hello_ack.mutable_hello_ack()->set_sensor_name("sensor-1");
    const uint64_t last = committed_.empty() ? 0 : *committed_.rbegin();
    hello_ack.mutable_hello_ack()->set_last_committed_seq(report_zero_committed_ ? 0 : last);
    stream_ = stream;
    held_.clear();
  }
  stream->Write(hello_ack);
  grpc::Status result = grpc::Status::OK;
  while (stream->Read(&msg)) {
    absl::MutexLock l(&mu_);
    if (msg.has_heartbeat()) {
      ++heartbeats_;
      last_heartbeat_health_ = msg.heartbeat().health();
      continue;
    }
    if (!msg.has_batch()) continue;
    const uint64_t seq = msg.batch().seq();
    if (seq == refuse_seq_) {
      // The text names no seq: the sensor must take it from the trailing metadata.
      if (name_refused_seq_) {
        context->AddTrailingMetadata(common::kRefusedSeqMetadataKey, absl::StrCat(seq));
      }
      result =
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "batch refused: records exceed limit");
      break;
    }
    received_.push_back(msg.batch());
    if (!commit_) {
      held_.push_back(seq);
      continue;
    }
    // Content identity as the real collector keeps it: the batch without seq and health.
    v1::Batch content = msg.batch();
    content.clear_seq();
    content.clear_health();
    const std::string digest = content.SerializeAsString();
    const uint64_t last = committed_.empty() ? 0 : *committed_.rbegin();
    const bool known = committed_.count(seq) > 0;
    const bool conflict = known ? !contents_[seq].empty() && contents_[seq] != digest : seq <= last;
    v1::CollectorMessage ack;
    ack.mutable_ack()->set_seq(seq);
    if (conflict) {
      ++conflicts_;
      ack.mutable_ack()->set_status(v1::ACK_STATUS_CONFLICT);
      ack.mutable_ack()->set_last_committed_seq(last);
    } else {
      ack.mutable_ack()->set_duplicate(known);
      if (!known) {
        committed_.insert(seq);
        contents_[seq] = digest;
        committed_ports_[seq] =
            msg.batch().records_size() > 0 ? msg.batch().records(0).server_port() : 0;
      }
    }
    if (send_acks_) {
      stream->Write(ack);
    }
  }
  absl::MutexLock l(&mu_);
  stream_ = nullptr;
  return result;
}

FakeCollector::FakeCollector(FakeCollectorState& state, const common::TlsMaterial& tls, int port)
    : service_(state) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), common::MakeServerCredentials(tls),
                           &port_);
  builder.RegisterService(&service_);
  absl::MutexLock lock(&mu_);
  server_ = builder.BuildAndStart();
}

FakeCollector::FakeCollector(FakeCollectorState& state) : service_(state), in_process_(true) {
  grpc::ServerBuilder builder;
  builder.RegisterService(&service_);
  absl::MutexLock lock(&mu_);
  server_ = builder.BuildAndStart();
}

std::function<std::unique_ptr<v1::Ingest::StubInterface>(const std::string& target)>
FakeCollector::StubFactory() {
  return [this](const std::string&) -> std::unique_ptr<v1::Ingest::StubInterface> {
    absl::MutexLock lock(&mu_);
    if (server_ == nullptr) {
      // Shut down: a channel nobody answers, so the attempt fails as on a dead path.
      return v1::Ingest::NewStub(grpc::CreateChannel("unix:/nonexistent/synmap-fake-collector",
                                                     grpc::InsecureChannelCredentials()));
    }
    return v1::Ingest::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  };
}

void FakeCollector::Shutdown() {
  std::unique_ptr<grpc::Server> server;
  {
    absl::MutexLock lock(&mu_);
    server = std::move(server_);
  }
  if (server != nullptr) {
    server->Shutdown(std::chrono::system_clock::now());  // Cancels open streams now.
    server->Wait();
  }
}

}  // namespace synmap::testing
