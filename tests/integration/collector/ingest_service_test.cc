// The Ingest service over real mutual TLS on loopback, with an in-memory store.

#include "collector/server/ingest_service.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/batch/batch_codec.h"
#include "common/tls/credentials.h"
#include "tests/integration/collector/fake_store.h"
#include "tests/integration/collector/ingest_test_util.h"
#include "tests/testing/status_matchers.h"

namespace synmap::collector {
namespace {

using ::synmap::testing::FakeStore;
using ::synmap::testing::kSecondNs;
using ::synmap::testing::MakeBatch;
using ::synmap::testing::SensorStream;
using ::testing::HasSubstr;

class IngestServiceTest : public ::synmap::testing::PkiSuite {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_->ok()) << "make-certs.sh failed (is openssl installed?)";
    StartServer(IngestServiceOptions());
  }
  void TearDown() override { StopServer(); }

  void StartServer(IngestServiceOptions options) {
    service_ = std::make_unique<IngestService>(store_, clock_, refusals_, options);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", common::MakeServerCredentials(pki_->Material("col")),
                             &port_);
    // As collector_server.cc: the transport cap is twice the limit, the service refuses by name.
    builder.SetMaxReceiveMessageSize(2 * options.limits.max_message_bytes);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
  }
  void StopServer() {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
      server_.reset();
    }
    service_.reset();
  }

  int64_t Now() const { return absl::ToUnixNanos(clock_.Now()); }
  std::unique_ptr<SensorStream> Open(const std::string& name, bool other_ca = false) {
    return std::make_unique<SensorStream>(pki_->Channel(port_, name, other_ca));
  }
  // Opens a stream as `name` and completes the Hello exchange.
  std::unique_ptr<SensorStream> OpenWithHello(const std::string& name) {
    auto s = Open(name);
    EXPECT_TRUE(s->SendHello());
    std::optional<synmap::v1::CollectorMessage> ack = s->Receive();
    EXPECT_TRUE(ack.has_value() && ack->has_hello_ack());
    return s;
  }

  FakeStore store_;
  FakeClock clock_;
  RefusalCounters refusals_;
  std::unique_ptr<IngestService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(IngestServiceTest, HelloAckCarriesCertificateNameAndLastSeq) {
  auto s = Open("s1");
  ASSERT_TRUE(s->SendHello());
  std::optional<synmap::v1::CollectorMessage> ack = s->Receive();
  ASSERT_TRUE(ack.has_value());
  ASSERT_TRUE(ack->has_hello_ack());
  EXPECT_EQ(ack->hello_ack().sensor_name(), "s1");
  EXPECT_EQ(ack->hello_ack().last_committed_seq(), 0u);
  EXPECT_TRUE(s->Close().ok());
  ASSERT_EQ(store_.hellos().size(), 1u);
  EXPECT_EQ(store_.hellos()[0].sensor, "s1");
  EXPECT_THAT(store_.hellos()[0].peer_address, HasSubstr("127.0.0.1"));
  EXPECT_EQ(store_.hellos()[0].hello.boot_id, "boot-1");
}

TEST_F(IngestServiceTest, BatchesAreCommittedUnderCertNameAndAckedInOrder) {
  auto s = OpenWithHello("s2");
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    ASSERT_TRUE(s->SendBatch(MakeBatch(seq, Now(), /*records=*/3)));
  }
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    std::optional<synmap::v1::CollectorMessage> ack = s->Receive();
    ASSERT_TRUE(ack.has_value() && ack->has_ack()) << "seq " << seq;
    EXPECT_EQ(ack->ack().seq(), seq);
    EXPECT_FALSE(ack->ack().duplicate());
  }
  EXPECT_TRUE(s->Close().ok());
  std::vector<FakeStore::CommitCall> commits = store_.commits();
  ASSERT_EQ(commits.size(), 5u);
  for (const FakeStore::CommitCall& c : commits) {
    EXPECT_EQ(c.sensor, "s2");
    EXPECT_EQ(c.batch.batch.records.size(), 3u);
  }
  EXPECT_EQ(service_->stats().records_committed, 15u);
  EXPECT_EQ(service_->stats().batches_committed, 5u);
  // Every commit is timed, into cumulative buckets (the metrics endpoint's histogram).
  const common::HistogramSnapshot times = service_->commit_seconds().snapshot();
  EXPECT_EQ(times.cumulative_counts.back(), 5u);
}

TEST_F(IngestServiceTest, LastCommittedSeqIsReportedOnReconnect) {
  auto first = OpenWithHello("s1");
  ASSERT_TRUE(first->SendBatch(MakeBatch(41, Now())));
  ASSERT_TRUE(first->Receive().has_value());
  ASSERT_TRUE(first->Close().ok());
  auto second = Open("s1");
  ASSERT_TRUE(second->SendHello());
  std::optional<synmap::v1::CollectorMessage> ack = second->Receive();
  ASSERT_TRUE(ack.has_value() && ack->has_hello_ack());
  EXPECT_EQ(ack->hello_ack().last_committed_seq(), 41u);
  EXPECT_TRUE(second->Close().ok());
}

TEST_F(IngestServiceTest, RepeatedSeqIsAckedDuplicateAndStoredOnce) {
  auto s = OpenWithHello("s1");
  ASSERT_TRUE(s->SendBatch(MakeBatch(1, Now())));
  ASSERT_TRUE(s->SendBatch(MakeBatch(1, Now())));
  std::optional<synmap::v1::CollectorMessage> a1 = s->Receive();
  std::optional<synmap::v1::CollectorMessage> a2 = s->Receive();
  ASSERT_TRUE(a1.has_value() && a2.has_value());
  EXPECT_FALSE(a1->ack().duplicate());
  EXPECT_EQ(a2->ack().seq(), 1u);
  EXPECT_TRUE(a2->ack().duplicate());
  EXPECT_TRUE(s->Close().ok());
  EXPECT_EQ(store_.commits().size(), 1u);
  EXPECT_EQ(service_->stats().duplicates, 1u);
  EXPECT_EQ(service_->stats().batches_committed, 1u);  // The duplicate is not committed again.
}

TEST_F(IngestServiceTest, FirstMessageMustBeHello) {
  auto s = Open("s1");
  ASSERT_TRUE(s->SendBatch(MakeBatch(1, Now())));
  grpc::Status status = s->Drain();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("Hello"));
  EXPECT_EQ(store_.commit_calls(), 0);
  EXPECT_EQ(refusals_.Get("no_hello"), 1u);
}

TEST_F(IngestServiceTest, SecondHelloIsRefused) {
  auto s = OpenWithHello("s1");
  ASSERT_TRUE(s->SendHello());
  EXPECT_EQ(s->Drain().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refusals_.Get("hello_twice"), 1u);
}

TEST_F(IngestServiceTest, HeartbeatIsRecordedUnderCertName) {
  auto s = OpenWithHello("s1");
  synmap::v1::SensorMessage hb;
  hb.mutable_heartbeat()->set_sent_unix_ns(Now());
  ASSERT_TRUE(s->Send(hb));
  // Store calls of one stream run in order, so the ack of a later batch follows the heartbeat.
  ASSERT_TRUE(s->SendBatch(MakeBatch(1, Now())));
  ASSERT_TRUE(s->Receive().has_value());
  EXPECT_EQ(store_.heartbeats("s1"), 1);
  EXPECT_TRUE(s->Close().ok());
}

TEST_F(IngestServiceTest, StreamEndMarksSensorDisconnected) {
  auto s = OpenWithHello("s2");
  EXPECT_TRUE(s->Close().ok());
  store_.AwaitDisconnected("s2");  // Hangs (test timeout) if never recorded.
}

TEST_F(IngestServiceTest, StoreFailureEndsStreamRetryableWithoutAck) {
  store_.FailCommitsWith(absl::UnavailableError("disk full"));
  auto s = OpenWithHello("s1");
  ASSERT_TRUE(s->SendBatch(MakeBatch(1, Now())));
  std::optional<synmap::v1::CollectorMessage> reply = s->Receive();
  EXPECT_FALSE(reply.has_value());
  EXPECT_EQ(s->Drain().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(IngestServiceTest, StreamsOfDifferentSensorsCommitConcurrently) {
  store_.CloseGate();
  auto a = OpenWithHello("s1");
  auto b = OpenWithHello("s2");
  ASSERT_TRUE(a->SendBatch(MakeBatch(1, Now())));
  ASSERT_TRUE(b->SendBatch(MakeBatch(1, Now())));
  // Both commits are inside the store at once: neither stream waits behind the other.
  store_.AwaitCommitCalls(2);
  store_.OpenGate();
  EXPECT_EQ(a->Receive()->ack().seq(), 1u);
  EXPECT_EQ(b->Receive()->ack().seq(), 1u);
  EXPECT_TRUE(a->Close().ok());
  EXPECT_TRUE(b->Close().ok());
}

TEST_F(IngestServiceTest, BatchesQueuedBehindASlowCommitKeepTheirOrder) {
  store_.CloseGate();
  auto s = OpenWithHello("s1");
  for (uint64_t seq = 1; seq <= 6; ++seq) {
    ASSERT_TRUE(s->SendBatch(MakeBatch(seq, Now())));
  }
  store_.AwaitCommitCalls(1);
  store_.OpenGate();
  for (uint64_t seq = 1; seq <= 6; ++seq) {
    std::optional<synmap::v1::CollectorMessage> ack = s->Receive();
    ASSERT_TRUE(ack.has_value());
    EXPECT_EQ(ack->ack().seq(), seq);
    EXPECT_FALSE(ack->ack().duplicate());  // The fake store refuses out-of-order seqs.
  }
  EXPECT_TRUE(s->Close().ok());
  EXPECT_EQ(store_.commits().size(), 6u);
}

TEST_F(IngestServiceTest, SeqBelowTheCommittedOnesIsAnsweredConflictNotDuplicate) {
  auto s = Open("s1");
  ASSERT_TRUE(s->SendHello("boot-1", /*protocol_version=*/2));
  ASSERT_TRUE(s->Receive().has_value());
  ASSERT_TRUE(s->SendBatch(MakeBatch(5, Now())));
  ASSERT_TRUE(s->SendBatch(MakeBatch(3, Now())));  // Never committed, below 5.
  ASSERT_TRUE(s->SendBatch(MakeBatch(6, Now())));
  std::optional<synmap::v1::CollectorMessage> a5 = s->Receive();
  std::optional<synmap::v1::CollectorMessage> a3 = s->Receive();
  std::optional<synmap::v1::CollectorMessage> a6 = s->Receive();
  ASSERT_TRUE(a5.has_value() && a3.has_value() && a6.has_value());
  EXPECT_EQ(a5->ack().status(), synmap::v1::ACK_STATUS_COMMITTED);
  EXPECT_EQ(a3->ack().seq(), 3u);
  EXPECT_EQ(a3->ack().status(), synmap::v1::ACK_STATUS_CONFLICT);
  EXPECT_FALSE(a3->ack().duplicate());
  EXPECT_EQ(a3->ack().last_committed_seq(), 5u);
  EXPECT_EQ(a6->ack().status(), synmap::v1::ACK_STATUS_COMMITTED) << "the stream goes on";
  EXPECT_TRUE(s->Close().ok());
  EXPECT_EQ(service_->stats().conflicts, 1u);
  EXPECT_EQ(refusals_.Get("seq_conflict"), 1u);
}

TEST_F(IngestServiceTest, ConflictEndsTheStreamOfAVersionOneSensor) {
  auto s = OpenWithHello("s1");  // protocol_version 1: knows no CONFLICT status.
  ASSERT_TRUE(s->SendBatch(MakeBatch(5, Now())));
  ASSERT_TRUE(s->SendBatch(MakeBatch(3, Now())));
  EXPECT_EQ(s->Receive()->ack().seq(), 5u);
  grpc::Status status = s->Drain();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("batch seq 3"));
}

// --- One live stream per sensor name ---

TEST_F(IngestServiceTest, SecondStreamOfAConnectedSensorNameIsRefusedAndCounted) {
  auto first = OpenWithHello("s1");  // boot-1
  auto clone = Open("s1");
  ASSERT_TRUE(clone->SendHello("boot-2"));
  grpc::Status refused = clone->Drain();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(refused.error_message(), HasSubstr("sensor s1 is already connected from"));
  EXPECT_THAT(refused.error_message(), HasSubstr("127.0.0.1"));
  EXPECT_EQ(refusals_.Get("sensor_already_connected"), 1u);
  EXPECT_EQ(store_.hellos().size(), 1u) << "the clone's Hello is not recorded";
  // The first stream is untouched and keeps committing.
  ASSERT_TRUE(first->SendBatch(MakeBatch(1, Now())));
  std::optional<synmap::v1::CollectorMessage> ack = first->Receive();
  ASSERT_TRUE(ack.has_value() && ack->has_ack());
  EXPECT_TRUE(first->Close().ok());
  // Once it is gone, the other sensor gets through.
  auto later = Open("s1");
  ASSERT_TRUE(later->SendHello("boot-2"));
  std::optional<synmap::v1::CollectorMessage> hello_ack = later->Receive();
  ASSERT_TRUE(hello_ack.has_value() && hello_ack->has_hello_ack());
  EXPECT_TRUE(later->Close().ok());
}

TEST_F(IngestServiceTest, SameSensorProcessReconnectingReplacesItsStaleStream) {
  auto stale = OpenWithHello("s1");  // boot-1, its path "broken" but not yet noticed.
  auto again = Open("s1");
  ASSERT_TRUE(again->SendHello("boot-1"));
  std::optional<synmap::v1::CollectorMessage> hello_ack = again->Receive();
  ASSERT_TRUE(hello_ack.has_value() && hello_ack->has_hello_ack());
  EXPECT_EQ(stale->Drain().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(again->SendBatch(MakeBatch(1, Now())));
  EXPECT_TRUE(again->Receive().has_value());
  EXPECT_TRUE(again->Close().ok());
  EXPECT_EQ(refusals_.Get("sensor_already_connected"), 0u);
}

// --- Identity ---

TEST_F(IngestServiceTest, ReaderCertCannotIngest) {
  auto s = Open("r1");
  s->SendHello();
  grpc::Status status = s->Drain();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("OU=sensor"));
  EXPECT_TRUE(store_.hellos().empty());
  EXPECT_EQ(refusals_.Get("permission_denied"), 1u);
}

// Collector certificates carry EKU serverAuth only, so they fail as client certificates.
TEST_F(IngestServiceTest, CollectorCertCannotActAsClient) {
  auto s = Open("col");
  s->SendHello();
  EXPECT_EQ(s->Drain().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(store_.hellos().empty());
}

// A TLS handshake that fails (no, foreign or expired client certificate) never reaches the
// service; gRPC reports it to the client as UNAVAILABLE.
TEST_F(IngestServiceTest, ClientWithoutCertificateIsRefusedAtHandshake) {
  SensorStream s(pki_->ChannelWithoutClientCert(port_));
  s.SendHello();
  EXPECT_EQ(s.Drain().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(store_.hellos().empty());
}

TEST_F(IngestServiceTest, CertificateFromAnotherCaIsRefusedAtHandshake) {
  auto s = Open("s1", /*other_ca=*/true);  // Same CN "s1", different CA.
  s->SendHello();
  s->SendBatch(MakeBatch(1, Now()));
  EXPECT_EQ(s->Drain().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(store_.hellos().empty());
  EXPECT_EQ(store_.commit_calls(), 0);
}

TEST_F(IngestServiceTest, ExpiredCertificateIsRefusedAtHandshake) {
  auto s = Open("old");
  s->SendHello();
  EXPECT_EQ(s->Drain().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(store_.hellos().empty());
}

// --- Limits: one bad batch per limit ends the stream; nothing of it is stored ---

struct BadBatchCase {
  std::string name;
  std::string limit;
  std::function<void(synmap::v1::Batch&, int64_t now)> spoil;
};

class BadBatchTest : public IngestServiceTest,
                     public ::testing::WithParamInterface<BadBatchCase> {};

TEST_P(BadBatchTest, RefusedWithInvalidArgumentAndNotStored) {
  auto s = OpenWithHello("s1");
  ASSERT_TRUE(s->SendBatch(MakeBatch(1, Now())));
  synmap::v1::Batch bad = MakeBatch(2, Now(), 3);
  GetParam().spoil(bad, Now());
  s->SendBatch(bad);
  s->SendBatch(MakeBatch(3, Now()));  // After the bad one: must not be stored either.
  std::optional<synmap::v1::CollectorMessage> ack = s->Receive();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->ack().seq(), 1u);  // The good batch before it is still acked.
  EXPECT_FALSE(s->Receive().has_value());
  grpc::Status status = s->Drain();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat("batch seq ", bad.seq(), ":")));
  EXPECT_THAT(status.error_message(), HasSubstr("limit " + GetParam().limit));
  // The refused batch is named for the sensor in a structured field, not only in the text.
  EXPECT_EQ(s->Trailer(common::kRefusedSeqMetadataKey),
            bad.seq() == 0 ? "" : absl::StrCat(bad.seq()));
  std::vector<FakeStore::CommitCall> commits = store_.commits();
  ASSERT_EQ(commits.size(), 1u);
  EXPECT_EQ(commits[0].batch.seq, 1u);
  EXPECT_EQ(refusals_.Get(GetParam().limit), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Limits, BadBatchTest,
    ::testing::Values(
        BadBatchCase{"SeqZero", "seq", [](synmap::v1::Batch& b, int64_t) { b.set_seq(0); }},
        BadBatchCase{
            "WindowReversed", "window",
            [](synmap::v1::Batch& b, int64_t) { b.set_end_unix_ns(b.start_unix_ns() - 1); }},
        BadBatchCase{"TwoDaysAhead", "future",
                     [](synmap::v1::Batch& b, int64_t now) {
                       b.set_end_unix_ns(now + 2 * 86'400 * kSecondNs);
                     }},
        BadBatchCase{"TooManyRecords", "records_per_batch",
                     [](synmap::v1::Batch& b, int64_t now) { b = MakeBatch(2, now, 200'001); }},
        BadBatchCase{
            "IpLength", "ip_length",
            [](synmap::v1::Batch& b, int64_t) { b.mutable_records(1)->set_client_ip("abc"); }},
        BadBatchCase{"MixedFamilies", "ip_family",
                     [](synmap::v1::Batch& b, int64_t) {
                       b.mutable_records(2)->set_server_ip(std::string(16, '\1'));
                     }},
        BadBatchCase{
            "PortZero", "port",
            [](synmap::v1::Batch& b, int64_t) { b.mutable_records(0)->set_server_port(0); }},
        BadBatchCase{
            "PortTooHigh", "port",
            [](synmap::v1::Batch& b, int64_t) { b.mutable_records(0)->set_server_port(70000); }},
        BadBatchCase{
            "ConnectionsAbovePackets", "counts",
            [](synmap::v1::Batch& b, int64_t) { b.mutable_records(0)->set_connections(99); }},
        BadBatchCase{"NegativeTimestamp", "timestamps",
                     [](synmap::v1::Batch& b, int64_t) {
                       b.mutable_records(0)->set_first_seen_unix_ns(-5);
                     }},
        BadBatchCase{"RecordOutsideWindow", "timestamps",
                     [](synmap::v1::Batch& b, int64_t) {
                       b.mutable_records(0)->set_last_seen_unix_ns(b.end_unix_ns() + kSecondNs);
                     }}),
    [](const ::testing::TestParamInfo<BadBatchCase>& p) { return p.param.name; });

TEST_F(IngestServiceTest, MessageOverSixteenMebibytesIsRefused) {
  auto s = OpenWithHello("s1");
  synmap::v1::Batch big = MakeBatch(1, Now());
  big.mutable_records(0)->set_client_ip(std::string((16 << 20) + 1, 'x'));
  s->SendBatch(big);
  EXPECT_EQ(s->Drain().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(store_.commit_calls(), 0);
  EXPECT_EQ(refusals_.Get("message_too_large"), 1u);  // Refused by name, counted.
}

TEST_F(IngestServiceTest, MessageOverTheTransportCapIsCutOffAndStoresNothing) {
  auto s = OpenWithHello("s1");
  synmap::v1::Batch huge = MakeBatch(1, Now());
  huge.mutable_records(0)->set_client_ip(std::string((32 << 20) + 1, 'x'));
  s->SendBatch(huge);
  EXPECT_EQ(s->Drain().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(store_.commit_calls(), 0);
}

}  // namespace
}  // namespace synmap::collector
