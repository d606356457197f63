#pragma once

// Helpers for collector tests: certificate sets, a sensor-side stream, batch builders.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/tls/credentials.h"
#include "common/tls/tls_files.h"
#include "synmap/v1/ingest.grpc.pb.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/common/tls/test_certs.h"

namespace synmap::testing {

constexpr int64_t kSecondNs = 1'000'000'000;

// Certificates for the usual cast, made once: CA, collector "col", sensors "s1" and "s2",
// reader "r1", an expired sensor "old", and in other/ a second CA with its own sensor "s1".
class TestPki {
 public:
  TestPki() {
    ok_ = MakeCerts(dir_.path(), "ca").ok() && MakeCerts(dir_.path(), "collector col").ok() &&
          MakeCerts(dir_.path(), "sensor s1").ok() && MakeCerts(dir_.path(), "sensor s2").ok() &&
          MakeCerts(dir_.path(), "reader r1").ok() &&
          MakeCerts(dir_.path(), "sensor old --expired").ok() &&
          MakeCerts(dir_.File("other"), "ca").ok() &&
          MakeCerts(dir_.File("other"), "sensor s1").ok();
  }
  bool ok() const { return ok_; }
  const std::string& dir() const { return dir_.path(); }
  // Files of `name` under the main CA (or other/ when `other_ca`).
  common::TlsFiles Files(const std::string& name, bool other_ca = false) const {
    const std::string d = other_ca ? dir_.File("other") : dir_.path();
    return common::TlsFiles{d + "/ca.pem", d + "/" + name + ".pem", d + "/" + name + ".key"};
  }
  common::TlsMaterial Material(const std::string& name, bool other_ca = false) const {
    absl::StatusOr<common::TlsMaterial> m = common::LoadTlsMaterial(Files(name, other_ca));
    EXPECT_OK(m);
    return m.ok() ? *m : common::TlsMaterial{};
  }
  // A client channel presenting `name`'s certificate but trusting the main CA (so the
  // collector's certificate verifies; only the client side is "other" when `other_ca`).
  std::shared_ptr<grpc::Channel> Channel(int port, const std::string& name,
                                         bool other_ca = false) const {
    common::TlsMaterial m = Material(name, other_ca);
    m.ca_pem = Material("col").ca_pem;
    return common::MakeChannel(absl::StrCat("127.0.0.1:", port), m);
  }
  // A TLS channel that trusts the CA but presents no client certificate.
  std::shared_ptr<grpc::Channel> ChannelWithoutClientCert(int port) const {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Material("col").ca_pem;
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(options));
  }

 private:
  TempDir dir_;
  bool ok_ = false;
};

// A suite sharing one TestPki (the certificates are made once per suite): pki_ from
// SetUpTestSuite to TearDownTestSuite.
class PkiSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static inline TestPki* pki_ = nullptr;
};

// The sensor side of one Ingest.Stream (synchronous client API).
class SensorStream {
 public:
  explicit SensorStream(const std::shared_ptr<grpc::Channel>& channel)
      : stub_(synmap::v1::Ingest::NewStub(channel)) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stream_ = stub_->Stream(&context_);
  }
  bool Send(const synmap::v1::SensorMessage& msg) { return stream_->Write(msg); }
  bool SendHello(const std::string& boot_id = "boot-1", uint32_t protocol_version = 1) {
    synmap::v1::SensorMessage msg;
    msg.mutable_hello()->set_protocol_version(protocol_version);
    msg.mutable_hello()->set_software_version("test");
    msg.mutable_hello()->set_boot_id(boot_id);
    return Send(msg);
  }
  bool SendBatch(const synmap::v1::Batch& batch) {
    synmap::v1::SensorMessage msg;
    *msg.mutable_batch() = batch;
    return Send(msg);
  }
  // Next message from the collector, or nullopt when the stream ended.
  std::optional<synmap::v1::CollectorMessage> Receive() {
    synmap::v1::CollectorMessage msg;
    if (!stream_->Read(&msg)) {
      return std::nullopt;
    }
    return msg;
  }
  // Half-closes, drains remaining messages, and returns the final status.
  grpc::Status Close() {
    stream_->WritesDone();
    synmap::v1::CollectorMessage ignored;
    while (stream_->Read(&ignored)) {
    }
    return stream_->Finish();
  }
  // Returns the final status without half-closing (the collector ended the stream).
  grpc::Status Drain() {
    synmap::v1::CollectorMessage ignored;
    while (stream_->Read(&ignored)) {
    }
    return stream_->Finish();
  }
  // After Drain/Finish: the value of trailing metadata `key`, or "" when the collector sent none.
  std::string Trailer(const std::string& key) const {
    const auto& trailers = context_.GetServerTrailingMetadata();
    auto it = trailers.find(key);
    return it == trailers.end() ? "" : std::string(it->second.data(), it->second.size());
  }

 private:
  std::unique_ptr<synmap::v1::Ingest::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<synmap::v1::SensorMessage, synmap::v1::CollectorMessage>>
      stream_;
};

// A valid IPv4 record inside [end - 10 s, end].
inline synmap::v1::Record MakeRecord(uint8_t client_last, uint8_t server_last, uint32_t port,
                                     uint64_t packets, uint64_t connections, int64_t end_ns) {
  synmap::v1::Record r;
  const char client[4] = {10, 0, 0, static_cast<char>(client_last)};
  const char server[4] = {10, 0, 1, static_cast<char>(server_last)};
  r.set_client_ip(std::string(client, 4));
  r.set_server_ip(std::string(server, 4));
  r.set_server_port(port);
  r.set_packets(packets);
  r.set_connections(connections);
  r.set_first_seen_unix_ns(end_ns - 9 * kSecondNs);
  r.set_last_seen_unix_ns(end_ns - 1 * kSecondNs);
  return r;
}

// Batch `seq` over [end - 10 s, end) with `records` records of distinct keys.
inline synmap::v1::Batch MakeBatch(uint64_t seq, int64_t end_ns, int records = 2) {
  synmap::v1::Batch b;
  b.set_seq(seq);
  b.set_start_unix_ns(end_ns - 10 * kSecondNs);
  b.set_end_unix_ns(end_ns);
  for (int i = 0; i < records; ++i) {
    *b.add_records() =
        MakeRecord(static_cast<uint8_t>(i % 250 + 1), static_cast<uint8_t>(i / 250 % 250 + 1),
                   static_cast<uint32_t>(1 + i / 62500), 3, 2, end_ns);
  }
  return b;
}

}  // namespace synmap::testing
