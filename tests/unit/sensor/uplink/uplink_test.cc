// The uplink against a scripted fake collector (tests/testing/fake_collector.h): a real gRPC
// server over mutual TLS on 127.0.0.1 with certificates made by deploy/make-certs.sh, or
// in-process through the uplink's stub factory.

#include "sensor/uplink/uplink.h"

#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/tls/credentials.h"
#include "common/tls/handshake_check.h"
#include "common/tls/tls_files.h"
#include "sensor/uplink/internal/batch_codec.h"
#include "sensor/uplink/internal/ingest_stream.h"
#include "sensor/uplink/internal/spool_file.h"
#include "synmap/v1/ingest.grpc.pb.h"
#include "tests/testing/fake_collector.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap::sensor {
namespace {

namespace fs = std::filesystem;
using ::synmap::testing::StatusIs;
using ::synmap::testing::TempDir;
using ::testing::ElementsAre;

constexpr absl::Duration kWait = absl::Seconds(20);

using CollectorState = ::synmap::testing::FakeCollectorState;
using TestCollector = ::synmap::testing::FakeCollector;

class UplinkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TempDir();
    std::string script = synmap::testing::SourceDir() + "/deploy/make-certs.sh";
    if (!fs::exists(script)) {
      // Run by hand from elsewhere: find the checkout from this file's path.
      script = (fs::path(__FILE__).parent_path() / "../../../../deploy/make-certs.sh").string();
    }
    ASSERT_TRUE(fs::exists(script)) << "missing " << script;
    for (const std::string args :
         {" ca", " collector collector", " sensor sensor-1", " sensor expired --expired"}) {
      const std::string cmd = script + " " + certs_->path() + args + " >/dev/null 2>&1";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    auto load = [](const std::string& name) {
      return common::LoadTlsMaterial(
          {certs_->File("ca.pem"), certs_->File(name + ".pem"), certs_->File(name + ".key")});
    };
    auto server = load("collector");
    auto sensor = load("sensor-1");
    ASSERT_OK(server);
    ASSERT_OK(sensor);
    auto expired = load("expired");
    ASSERT_OK(expired);
    server_tls_ = new common::TlsMaterial(*server);
    sensor_tls_ = new common::TlsMaterial(*sensor);
    expired_tls_ = new common::TlsMaterial(*expired);
  }
  static void TearDownTestSuite() {
    delete certs_;
    delete server_tls_;
    delete sensor_tls_;
    delete expired_tls_;
  }

  UplinkOptions Options(std::vector<std::string> collectors) const {
    UplinkOptions o;
    o.collectors = std::move(collectors);
    o.credentials = common::MakeClientCredentials(*sensor_tls_);
    o.spool_dir = spool_.path();
    o.initial_backoff = absl::Milliseconds(20);
    o.max_backoff = absl::Milliseconds(200);
    o.heartbeat_interval = absl::Seconds(60);
    o.connect_timeout = absl::Seconds(5);
    o.ack_timeout = absl::Seconds(30);
    o.jitter_source = [] { return 0.5; };
    o.interfaces = {"eth0"};
    o.filter = "tcp[13] & 0x12 = 0x12";
    return o;
  }

  std::unique_ptr<Uplink> Started(const UplinkOptions& options) {
    auto uplink = Uplink::Create(options, RealClock::Get());
    EXPECT_OK(uplink);
    if (!uplink.ok()) return nullptr;
    EXPECT_OK((*uplink)->Start());
    return std::move(*uplink);
  }

  // A port that nothing listens on (a server bound it, then went away).
  int DeadPort() {
    TestCollector probe(state_, *server_tls_);
    EXPECT_TRUE(probe.ok());
    return probe.port();
  }

  std::vector<std::string> SpoolBatchFiles() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(spool_.path())) {
      if (internal::SeqFromSpoolFileName(e.path().filename().string()) != 0) {
        names.push_back(e.path().filename().string());
      }
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  static inline TempDir* certs_ = nullptr;
  static inline common::TlsMaterial* server_tls_ = nullptr;
  static inline common::TlsMaterial* sensor_tls_ = nullptr;
  static inline common::TlsMaterial* expired_tls_ = nullptr;
  TempDir spool_;
  CollectorState state_;
};

// A batch with `n` records on ports first_port.. (one key each), `packets` per record.
common::Batch MakeBatch(int n, uint16_t first_port, uint64_t packets = 1) {
  common::Batch b;
  b.start_ns = 1'700'000'000'000'000'000;
  b.end_ns = b.start_ns + 10'000'000'000;
  for (int i = 0; i < n; ++i) {
    common::Record r;
    r.key.client = *common::IpAddress::Parse("192.0.2.1");
    r.key.server = *common::IpAddress::Parse("198.51.100.7");
    r.key.server_port = static_cast<uint16_t>(first_port + i);
    r.packets = packets;
    r.connections = packets;
    r.first_seen_ns = b.start_ns + 1;
    r.last_seen_ns = b.start_ns + 2;
    b.records.push_back(r);
  }
  b.stats.packets_received = 10;
  return b;
}

// The spool file size of MakeBatch(n, port) (independent of seq for small seqs).
uint64_t SpoolFileBytes(int n, uint16_t first_port) {
  return internal::EncodeSpoolFile(internal::BatchToProto(MakeBatch(n, first_port), 1), 1).size();
}

TEST_F(UplinkTest, DeliversInOrderOverMutualTlsAndAcksDeleteSpoolFiles) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  for (uint16_t i = 0; i < 3; ++i) {
    ASSERT_OK(uplink->Submit(MakeBatch(2, static_cast<uint16_t>(100 + 10 * i), i + 1)));
  }
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_THAT(state_.received_seqs(), ElementsAre(1, 2, 3));
  EXPECT_EQ(state_.committed(), (std::set<uint64_t>{1, 2, 3}));
  const std::vector<v1::Batch> got = state_.received();
  EXPECT_EQ(got[2].records(0).server_port(), 120u);
  EXPECT_EQ(got[2].records(0).packets(), 3u);
  EXPECT_EQ(got[0].merged_from(), 1u);
  EXPECT_THAT(state_.peer_names(), ElementsAre("sensor-1"));  // Client cert was presented.
  ASSERT_EQ(state_.hellos().size(), 1u);
  EXPECT_EQ(state_.hellos()[0].protocol_version(), 2u);
  EXPECT_THAT(state_.hellos()[0].interfaces(), ElementsAre("eth0"));
  EXPECT_EQ(state_.hellos()[0].boot_id().size(), 32u);
  EXPECT_TRUE(SpoolBatchFiles().empty());
  const UplinkStats s = uplink->stats();
  EXPECT_EQ(s.batches_spooled, 3u);
  EXPECT_EQ(s.batches_sent, 3u);
  EXPECT_EQ(s.batches_acked, 3u);
  EXPECT_EQ(s.duplicates, 0u);
  EXPECT_EQ(s.spool_batches, 0u);
  EXPECT_EQ(s.spool_bytes, 0u);
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(s.current_collector, collector.address());
}

TEST_F(UplinkTest, SubmitIsDurableBeforeAnyNetwork) {
  auto uplink = Started(Options({absl::StrCat("127.0.0.1:", DeadPort())}));
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Submit(MakeBatch(3, 80)));
  // The file exists as soon as Submit returns, and decodes to what was submitted.
  ASSERT_THAT(SpoolBatchFiles(), ElementsAre(internal::SpoolFileName(1)));
  auto bytes = internal::ReadWholeFile(spool_.File(internal::SpoolFileName(1)));
  ASSERT_OK(bytes);
  auto file = internal::DecodeSpoolFile(*bytes);
  ASSERT_OK(file);
  auto batch = internal::BatchFromProto(file->batch);
  ASSERT_OK(batch);
  EXPECT_EQ(*batch, MakeBatch(3, 80));
}

TEST_F(UplinkTest, LifecycleErrors) {
  auto created = Uplink::Create(Options({"127.0.0.1:1"}), RealClock::Get());
  ASSERT_OK(created);
  Uplink& uplink = **created;
  EXPECT_THAT(uplink.Submit(MakeBatch(1, 80)), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(uplink.Drain(absl::Milliseconds(1)), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK(uplink.Start());
  EXPECT_THAT(uplink.Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK(uplink.Submit(MakeBatch(1, 80)));  // Never acked: 127.0.0.1:1 is closed.
  uplink.Stop();
  uplink.Stop();  // Idempotent.
  EXPECT_THAT(uplink.Submit(MakeBatch(1, 80)), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(uplink.Drain(absl::Milliseconds(1)), StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(UplinkTest, InvalidOptionsAreRefused) {
  UplinkOptions o = Options({"127.0.0.1:1"});
  o.collectors.clear();
  EXPECT_THAT(Uplink::Create(o, RealClock::Get()), StatusIs(absl::StatusCode::kInvalidArgument));
  o = Options({"127.0.0.1:1"});
  o.credentials = nullptr;
  EXPECT_THAT(Uplink::Create(o, RealClock::Get()), StatusIs(absl::StatusCode::kInvalidArgument));
  o = Options({"127.0.0.1:1"});
  o.initial_backoff = absl::Seconds(10);
  o.max_backoff = absl::Seconds(1);
  EXPECT_THAT(Uplink::Create(o, RealClock::Get()), StatusIs(absl::StatusCode::kInvalidArgument));
  o = Options({"127.0.0.1:1"});
  o.max_in_flight = 0;
  EXPECT_THAT(Uplink::Create(o, RealClock::Get()), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(UplinkTest, BatchLargerThanTheWholeSpoolIsRefused) {
  UplinkOptions o = Options({"127.0.0.1:1"});
  o.spool_max_bytes = 4096;
  auto uplink = Started(o);
  ASSERT_NE(uplink, nullptr);
  EXPECT_THAT(uplink->Submit(MakeBatch(500, 1000)), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_TRUE(SpoolBatchFiles().empty());
  EXPECT_EQ(uplink->stats().batches_spooled, 0u);
}

TEST_F(UplinkTest, SeqSurvivesRestartWithEmptySpool) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  {
    auto uplink = Started(Options({collector.address()}));
    ASSERT_NE(uplink, nullptr);
    ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
    ASSERT_OK(uplink->Submit(MakeBatch(1, 81)));
    ASSERT_OK(uplink->Drain(kWait));
  }
  ASSERT_TRUE(SpoolBatchFiles().empty());
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 82)));
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_THAT(state_.received_seqs(), ElementsAre(1, 2, 3));
}

TEST_F(UplinkTest, UnackedSpoolIsResentInOrderAfterRestart) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  state_.set_commit(false);  // Receives but neither commits nor acks.
  {
    auto uplink = Started(Options({collector.address()}));
    ASSERT_NE(uplink, nullptr);
    for (uint16_t i = 0; i < 3; ++i) {
      ASSERT_OK(uplink->Submit(MakeBatch(1, static_cast<uint16_t>(80 + i))));
    }
    ASSERT_TRUE(state_.WaitUntil([&] { return state_.received_locked().size() == 3; }));
    EXPECT_EQ(uplink->stats().spool_batches, 3u);
  }  // Sensor stops (or crashes) with three unacked batches.
  EXPECT_EQ(SpoolBatchFiles().size(), 3u);
  state_.ClearReceived();
  state_.set_commit(true);
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_THAT(state_.received_seqs(), ElementsAre(1, 2, 3));
  EXPECT_EQ(state_.committed(), (std::set<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(SpoolBatchFiles().empty());
}

TEST_F(UplinkTest, BatchesCommittedBeforeRestartAreResentAndDeletedOnTheirDuplicateAck) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  state_.set_send_acks(false);  // Commits, but the acks are lost.
  {
    auto uplink = Started(Options({collector.address()}));
    ASSERT_NE(uplink, nullptr);
    ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
    ASSERT_OK(uplink->Submit(MakeBatch(1, 81)));
    ASSERT_TRUE(state_.WaitUntil([&] { return state_.committed_locked().size() == 2; }));
  }
  EXPECT_EQ(SpoolBatchFiles().size(), 2u);
  state_.ClearReceived();
  state_.set_send_acks(true);
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  // HelloAck.last_committed_seq = 2 proves nothing about these files' content: they are sent
  // again, and deleted when the collector says it holds that content (duplicate).
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_THAT(state_.received_seqs(), ElementsAre(1, 2));
  EXPECT_EQ(state_.committed(), (std::set<uint64_t>{1, 2}));
  EXPECT_EQ(uplink->stats().batches_acked, 2u);
  EXPECT_EQ(uplink->stats().duplicates, 2u);
  EXPECT_EQ(uplink->stats().batches_renumbered, 0u);
}

// The collector committed seqs 1..6 from an earlier spool of this sensor (since wiped); a
// fresh spool's seqs 1..3 are new data, not duplicates.
TEST_F(UplinkTest, FreshSpoolBatchesAreRenumberedAboveTheCollectorsHistory) {
  for (uint64_t seq = 1; seq <= 6; ++seq) state_.PreCommit(seq);
  const int port = DeadPort();
  auto uplink = Started(Options({absl::StrCat("127.0.0.1:", port)}));
  ASSERT_NE(uplink, nullptr);
  for (uint16_t i = 0; i < 3; ++i) {
    ASSERT_OK(uplink->Submit(MakeBatch(1, static_cast<uint16_t>(80 + i))));
  }
  ASSERT_TRUE(uplink->AwaitStats([](const UplinkStats& s) { return s.reconnects >= 1; }, kWait));
  EXPECT_EQ(uplink->stats().spool_batches, 3u);
  TestCollector collector(state_, *server_tls_, port);
  ASSERT_TRUE(collector.ok());
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_THAT(state_.received_seqs(), ElementsAre(7, 8, 9));
  std::vector<uint32_t> ports;
  for (const v1::Batch& b : state_.received()) ports.push_back(b.records(0).server_port());
  EXPECT_THAT(ports, ElementsAre(80, 81, 82)) << "the same batches, in submission order";
  EXPECT_EQ(state_.committed(), (std::set<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  const UplinkStats stats = uplink->stats();
  EXPECT_EQ(stats.batches_acked, 3u);
  EXPECT_EQ(stats.duplicates, 0u);
  EXPECT_TRUE(SpoolBatchFiles().empty());
  // Later batches continue above the renumbered ones.
  ASSERT_OK(uplink->Submit(MakeBatch(1, 83)));
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_THAT(state_.received_seqs(), ElementsAre(7, 8, 9, 10));
}

TEST_F(UplinkTest, FreshSpoolRestartedBeforeItsFirstHelloAckIsStillRenumbered) {
  const int port = DeadPort();
  {
    auto uplink = Started(Options({absl::StrCat("127.0.0.1:", port)}));
    ASSERT_NE(uplink, nullptr);
    ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
    ASSERT_OK(uplink->Submit(MakeBatch(1, 81)));
  }  // Stopped (or crashed) before ever reaching a collector: seq file and spool exist now.
  for (uint64_t seq = 1; seq <= 6; ++seq) state_.PreCommit(seq);
  TestCollector collector(state_, *server_tls_, port);
  ASSERT_TRUE(collector.ok());
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_THAT(state_.received_seqs(), ElementsAre(7, 8));
  EXPECT_EQ(uplink->stats().duplicates, 0u);
}

// After the first HelloAck of a fresh counter, batches the collector reports as committed
// (acks lost) are resent, answered duplicate and deleted: not renumbered, not counted twice.
TEST_F(UplinkTest, AfterTheFirstHelloAckCommittedBatchesAreAckedDuplicateNotRenumbered) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  state_.set_send_acks(false);  // Commits, but the acks are lost.
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  ASSERT_TRUE(uplink->AwaitStats([](const UplinkStats& s) { return s.connected; }, kWait));
  ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
  ASSERT_OK(uplink->Submit(MakeBatch(1, 81)));
  ASSERT_TRUE(state_.WaitUntil([&] { return state_.committed_locked().size() == 2; }));
  state_.set_send_acks(true);
  collector.Shutdown();  // The stream breaks; the next HelloAck says 2 is committed.
  TestCollector again(state_, *server_tls_, collector.port());
  ASSERT_TRUE(again.ok());
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_THAT(state_.received_seqs(), ElementsAre(1, 2, 1, 2)) << "resent, not renumbered";
  EXPECT_EQ(state_.committed(), (std::set<uint64_t>{1, 2}));
  EXPECT_EQ(uplink->stats().batches_acked, 2u);
  EXPECT_EQ(uplink->stats().duplicates, 2u);
}

// Someone holding the sensor's key committed seq 1000. The real sensor's spooled batches
// (2..4) are "behind the collector": they are renumbered above 1000 and delivered, never
// deleted unsent.
TEST_F(UplinkTest, ForgedHighSeqMakesSpooledBatchesRenumberedNotDeleted) {
  auto collector = std::make_unique<TestCollector>(state_, *server_tls_);
  ASSERT_TRUE(collector->ok());
  const int port = collector->port();
  auto uplink = Started(Options({collector->address()}));
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
  ASSERT_OK(uplink->Drain(kWait));
  collector->Shutdown();
  for (uint16_t i = 1; i <= 3; ++i) {
    ASSERT_OK(uplink->Submit(MakeBatch(1, static_cast<uint16_t>(80 + i))));
  }
  state_.PreCommitOther(1000);
  collector = std::make_unique<TestCollector>(state_, *server_tls_, port);
  ASSERT_TRUE(collector->ok());
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_EQ(state_.conflicts(), 3);
  EXPECT_EQ(state_.committed(), (std::set<uint64_t>{1, 1000, 1001, 1002, 1003}));
  const std::map<uint64_t, uint32_t> ports = state_.committed_ports();
  EXPECT_EQ(ports.at(1001), 81u);
  EXPECT_EQ(ports.at(1002), 82u);
  EXPECT_EQ(ports.at(1003), 83u);
  EXPECT_EQ(uplink->stats().batches_renumbered, 3u);
  EXPECT_EQ(uplink->stats().batches_acked, 4u);
  EXPECT_TRUE(SpoolBatchFiles().empty());
  ASSERT_OK(uplink->Submit(MakeBatch(1, 84)));  // Later batches continue above.
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_EQ(state_.committed_ports().at(1004), 84u);
}

// The collector holds other content under seq 1 (a clone, a spool restored from an older
// backup) and says nothing in HelloAck: the batch is answered CONFLICT, renumbered and
// delivered; a duplicate answer (which would delete it) never comes.
TEST_F(UplinkTest, SameSeqWithOtherContentIsRenumberedNotDeleted) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  state_.PreCommitOther(1);
  state_.set_report_zero_committed(true);
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_THAT(state_.received_seqs(), ElementsAre(1, 2));
  EXPECT_EQ(state_.committed_ports().at(2), 80u);
  EXPECT_EQ(uplink->stats().duplicates, 0u);
  EXPECT_EQ(uplink->stats().batches_renumbered, 1u);
  EXPECT_TRUE(SpoolBatchFiles().empty());
}

TEST_F(UplinkTest, DuplicateAckDeletesTheSpoolFile) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  state_.PreCommit(1);                     // Committed already, e.g. by a racing stream,
  state_.set_report_zero_committed(true);  // but HelloAck did not say so.
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_EQ(uplink->stats().duplicates, 1u);
  EXPECT_EQ(uplink->stats().batches_acked, 1u);
  EXPECT_TRUE(SpoolBatchFiles().empty());
}

TEST_F(UplinkTest, ReconnectsWithBackoffWhenCollectorComesBack) {
  auto first = std::make_unique<TestCollector>(state_, *server_tls_);
  ASSERT_TRUE(first->ok());
  const int port = first->port();
  auto uplink = Started(Options({first->address()}));
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
  ASSERT_OK(uplink->Drain(kWait));
  first->Shutdown();
  ASSERT_OK(uplink->Submit(MakeBatch(1, 81)));  // The collector is away: spooled.
  ASSERT_TRUE(uplink->AwaitStats(
      [](const UplinkStats& s) { return !s.connected && s.reconnects >= 3; }, kWait))
      << "expected several failed attempts while the collector is down";
  EXPECT_EQ(uplink->stats().spool_batches, 1u);
  TestCollector second(state_, *server_tls_, port);
  ASSERT_TRUE(second.ok());
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_EQ(state_.committed(), (std::set<uint64_t>{1, 2}));
  EXPECT_TRUE(uplink->stats().connected);
}

// An expired certificate: the collector refuses every handshake. The uplink says why once and
// retries ever more slowly (up to max_refused_backoff), not every max_backoff.
TEST_F(UplinkTest, RefusedCertificateIsRetriedAtGrowingDelaysAboveMaxBackoff) {
  TestCollector live(state_, *server_tls_);
  ASSERT_TRUE(live.ok());
  UplinkOptions options = Options({live.address()});
  const common::TlsMaterial expired = *expired_tls_;
  options.credentials = common::MakeClientCredentials(expired);
  options.explain_refusal = [expired](const std::string& target) {
    return common::ExplainTlsRefusal(target, expired, "sensor");
  };
  options.max_refused_backoff = absl::Milliseconds(1600);
  auto uplink = Started(options);
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
  std::map<uint64_t, absl::Duration> delays;  // identity_refusals -> retry_delay then.
  ASSERT_TRUE(uplink->AwaitStats(
      [&delays](const UplinkStats& s) {
        if (s.identity_refusals > 0) {
          delays.emplace(s.identity_refusals, s.retry_delay);
        }
        return s.identity_refusals >= 4;
      },
      kWait));
  // Jitter 0.5 and a floor of half the ceiling: 3/4 of 400, 800, 1600, 1600 ms.
  EXPECT_EQ(delays[1], absl::Milliseconds(300));
  EXPECT_EQ(delays[2], absl::Milliseconds(600));
  EXPECT_EQ(delays[3], absl::Milliseconds(1200));
  EXPECT_EQ(delays[4], absl::Milliseconds(1200));
  const UplinkStats s = uplink->stats();
  EXPECT_THAT(s.identity_refused, ::testing::HasSubstr("this certificate has expired"));
  EXPECT_FALSE(s.connected);
  EXPECT_EQ(s.spool_batches, 1u);
  EXPECT_TRUE(state_.committed().empty());
}

// PERMISSION_DENIED (a certificate whose role may not ingest) is a refused identity too: slow.
TEST_F(UplinkTest, PermissionDeniedIsRetriedAsARefusedIdentityNotAtNetworkPace) {
  state_.set_deny_role(true);
  TestCollector live(state_, *server_tls_);
  ASSERT_TRUE(live.ok());
  UplinkOptions options = Options({live.address()});
  options.max_refused_backoff = absl::Milliseconds(1600);
  auto uplink = Started(options);
  ASSERT_NE(uplink, nullptr);
  ASSERT_TRUE(
      uplink->AwaitStats([](const UplinkStats& s) { return s.identity_refusals >= 2; }, kWait));
  const UplinkStats s = uplink->stats();
  EXPECT_THAT(s.identity_refused, ::testing::HasSubstr("requires a certificate with OU=sensor"));
  EXPECT_GT(s.retry_delay, options.max_backoff);
  EXPECT_EQ(state_.hellos().size(), s.identity_refusals);
}

// A collector that is down is a network error: retried at the normal pace, never slowed down as
// a refusal, even with explain_refusal set.
TEST_F(UplinkTest, UnreachableCollectorIsStillRetriedFastWithExplainRefusalSet) {
  UplinkOptions options = Options({absl::StrCat("127.0.0.1:", DeadPort())});
  const common::TlsMaterial good = *sensor_tls_;
  options.explain_refusal = [good](const std::string& target) {
    return common::ExplainTlsRefusal(target, good, "sensor");
  };
  options.max_refused_backoff = absl::Seconds(600);
  auto uplink = Started(options);
  ASSERT_NE(uplink, nullptr);
  ASSERT_TRUE(uplink->AwaitStats([](const UplinkStats& s) { return s.reconnects >= 4; }, kWait));
  const UplinkStats s = uplink->stats();
  EXPECT_EQ(s.identity_refusals, 0u);
  EXPECT_EQ(s.identity_refused, "");
  EXPECT_GT(s.retry_delay, absl::ZeroDuration());
  EXPECT_LE(s.retry_delay, options.max_backoff);
}

TEST_F(UplinkTest, FailsOverToTheNextCollector) {
  TestCollector live(state_, *server_tls_);
  ASSERT_TRUE(live.ok());
  const std::string dead = absl::StrCat("127.0.0.1:", DeadPort());
  auto uplink = Started(Options({dead, live.address()}));
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
  ASSERT_OK(uplink->Drain(kWait));
  const UplinkStats s = uplink->stats();
  EXPECT_EQ(s.current_collector, live.address());
  EXPECT_GE(s.reconnects, 1u);
  EXPECT_EQ(state_.committed(), (std::set<uint64_t>{1}));
}

TEST_F(UplinkTest, RefusedBatchIsQuarantinedAndTheRestDelivered) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  state_.set_refuse_seq(2);
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  for (uint16_t i = 0; i < 3; ++i) {
    ASSERT_OK(uplink->Submit(MakeBatch(1, static_cast<uint16_t>(80 + i))));
  }
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_EQ(state_.committed(), (std::set<uint64_t>{1, 3}));
  EXPECT_EQ(uplink->stats().batches_quarantined, 1u);
  EXPECT_TRUE(fs::exists(spool_.File("quarantine/" + internal::SpoolFileName(2))));
  EXPECT_TRUE(SpoolBatchFiles().empty());
}

// Without a network: the stub factory reaches an in-process collector. The refused batch is
// the one the collector names in its trailing metadata (the status text names none), not the
// oldest batch in flight: batch 1 is committed but not yet acked when batch 2 is refused.
TEST_F(UplinkTest, InProcessCollectorNamesTheRefusedBatchInAStructuredField) {
  TestCollector collector(state_);
  ASSERT_TRUE(collector.ok());
  state_.set_send_acks(false);
  state_.set_refuse_seq(2);
  UplinkOptions options = Options({"in-process"});
  options.credentials = nullptr;  // Not needed: the factory makes every stub.
  options.stub_factory = collector.StubFactory();
  // The reconnect after the refusal may resend batch 1 before acks are turned back on below;
  // its lost ack is then waited out and the batch resent, well within Drain's kWait.
  options.ack_timeout = absl::Seconds(1);
  auto uplink = Started(options);
  ASSERT_NE(uplink, nullptr);
  for (uint16_t i = 0; i < 3; ++i) {
    ASSERT_OK(uplink->Submit(MakeBatch(1, static_cast<uint16_t>(80 + i))));
  }
  ASSERT_TRUE(state_.WaitUntil([&] { return uplink->stats().batches_quarantined == 1; }));
  state_.set_send_acks(true);
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_EQ(state_.committed(), (std::set<uint64_t>{1, 3}));
  EXPECT_TRUE(fs::exists(spool_.File("quarantine/" + internal::SpoolFileName(2))));
  EXPECT_FALSE(fs::exists(spool_.File("quarantine/" + internal::SpoolFileName(1))));
  EXPECT_TRUE(SpoolBatchFiles().empty());
  EXPECT_EQ(uplink->stats().current_collector, "in-process");
}

// A collector that ends the stream with INVALID_ARGUMENT without naming a batch (a bug, or
// an older collector) makes the sensor set nothing aside: every batch is kept and delivered.
TEST_F(UplinkTest, RefusalNamingNoBatchQuarantinesNothing) {
  TestCollector collector(state_);
  ASSERT_TRUE(collector.ok());
  state_.set_refuse_seq(1);
  state_.set_name_refused_seq(false);
  UplinkOptions options = Options({"in-process"});
  options.stub_factory = collector.StubFactory();
  auto uplink = Started(options);
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
  ASSERT_TRUE(state_.WaitUntil([&] { return uplink->stats().reconnects >= 2; }));
  state_.set_refuse_seq(0);
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_EQ(state_.committed(), (std::set<uint64_t>{1}));
  EXPECT_EQ(uplink->stats().batches_quarantined, 0u);
}

TEST_F(UplinkTest, CorruptSpoolFileIsQuarantinedAtStartup) {
  ASSERT_OK(internal::WriteFileDurably(spool_.path(), internal::SpoolFileName(1), "garbage"));
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  EXPECT_EQ(uplink->stats().batches_quarantined, 1u);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_THAT(state_.received_seqs(), ElementsAre(2));  // Seq 1 stays taken.
  ASSERT_FALSE(state_.received().empty());
  EXPECT_EQ(state_.received()[0].health().batches_quarantined(), 1u);
}

TEST_F(UplinkTest, SpoolWriteFailureIsCountedAndReportedInTheNextBatchsHealth) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  // A directory where seq 1's temporary file goes: its write fails even for root (EISDIR),
  // as a full disk would.
  const std::string blocker = spool_.File("." + internal::SpoolFileName(1) + ".tmp");
  ASSERT_TRUE(fs::create_directory(blocker));
  EXPECT_FALSE(uplink->Submit(MakeBatch(7, 80)).ok());
  EXPECT_EQ(uplink->stats().batches_lost_write_failed, 1u);
  EXPECT_EQ(uplink->stats().records_lost_write_failed, 7u);
  fs::remove(blocker);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 90)));
  ASSERT_OK(uplink->Drain(kWait));
  ASSERT_EQ(state_.received().size(), 1u);
  EXPECT_EQ(state_.received()[0].health().batches_lost_write_failed(), 1u);
  EXPECT_EQ(state_.received()[0].health().records_lost_write_failed(), 7u);
}

TEST_F(UplinkTest, BatchRefusedForItsSizeIsCountedAsLost) {
  UplinkOptions o = Options({"127.0.0.1:1"});
  o.spool_max_bytes = 4096;
  auto uplink = Started(o);
  ASSERT_NE(uplink, nullptr);
  EXPECT_FALSE(uplink->Submit(MakeBatch(500, 1000)).ok());
  EXPECT_EQ(uplink->stats().batches_lost_write_failed, 1u);
  EXPECT_EQ(uplink->stats().records_lost_write_failed, 500u);
}

// The last batch's health counted the batches in flight with it; once they are acked the
// collector must hear an empty backlog before the next heartbeat_interval (60 s here), or
// `synmap sensors` keeps showing a backlog for a sensor that drained and exited.
TEST_F(UplinkTest, DrainedSpoolIsReportedAsAnEmptyBacklogWithoutWaitingForTheHeartbeatInterval) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  for (uint16_t port = 80; port < 85; ++port) {
    ASSERT_OK(uplink->Submit(MakeBatch(3, port)));
  }
  ASSERT_OK(uplink->Drain(kWait));
  ASSERT_EQ(state_.received().size(), 5u);
  EXPECT_GT(state_.received().back().health().spool_batches(), 0u);  // Itself, at least.
  EXPECT_TRUE(state_.WaitUntil([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    const auto health = state_.last_heartbeat_health_locked();
    return health.has_value() && health->spool_batches() == 0;
  })) << "no heartbeat reported the drained spool";
}

TEST_F(UplinkTest, DrainTimesOutWhileCollectorIsDown) {
  auto uplink = Started(Options({absl::StrCat("127.0.0.1:", DeadPort())}));
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
  EXPECT_THAT(uplink->Drain(absl::Milliseconds(200)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(uplink->stats().spool_batches, 1u);
  EXPECT_EQ(SpoolBatchFiles().size(), 1u);
}

TEST_F(UplinkTest, HeartbeatsWhenIdle) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  UplinkOptions o = Options({collector.address()});
  o.heartbeat_interval = absl::Milliseconds(20);
  auto uplink = Started(o);
  ASSERT_NE(uplink, nullptr);
  EXPECT_TRUE(state_.WaitUntil(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return state_.heartbeats_locked() >= 3; }));
}

TEST_F(UplinkTest, CapDropsOldestWhileDownAndReportsLossInHealth) {
  const int port = DeadPort();
  UplinkOptions o = Options({absl::StrCat("127.0.0.1:", port)});
  // Disjoint keys (merging would not help): room for two and a half batches.
  const uint64_t one = SpoolFileBytes(30, 1000);
  o.spool_max_bytes = one * 5 / 2;
  auto uplink = Started(o);
  ASSERT_NE(uplink, nullptr);
  for (uint16_t i = 0; i < 5; ++i) {
    ASSERT_OK(uplink->Submit(MakeBatch(30, static_cast<uint16_t>(1000 + 100 * i))));
  }
  ASSERT_TRUE(uplink->AwaitStats(
      [](const UplinkStats& s) { return s.batches_dropped == 3 && s.spool_batches == 2; }, kWait));
  UplinkStats s = uplink->stats();
  EXPECT_EQ(s.records_dropped, 90u);
  EXPECT_EQ(s.batches_merged, 0u);
  EXPECT_LE(s.spool_bytes, o.spool_max_bytes);
  EXPECT_THAT(SpoolBatchFiles(),
              ElementsAre(internal::SpoolFileName(4), internal::SpoolFileName(5)));
  TestCollector collector(state_, *server_tls_, port);
  ASSERT_TRUE(collector.ok());
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_THAT(state_.received_seqs(), ElementsAre(4, 5));
  for (const v1::Batch& b : state_.received()) {
    EXPECT_EQ(b.health().batches_dropped(), 3u);
    EXPECT_EQ(b.health().records_dropped(), 90u);
  }
}

TEST_F(UplinkTest, OnlyBatchesNeverSentAreMerged) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  state_.set_commit(false);  // Hold acks: 1 and 2 stay sent-but-unacked.
  UplinkOptions o = Options({collector.address()});
  o.max_in_flight = 2;
  // 1 and 2 are small; 3..5 share 50 keys, so merging them gives about one big batch.
  const uint64_t small = SpoolFileBytes(1, 80);
  const uint64_t big = SpoolFileBytes(50, 2000);
  o.spool_max_bytes = 2 * small + big * 3 / 2;
  auto uplink = Started(o);
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
  ASSERT_OK(uplink->Submit(MakeBatch(1, 81)));
  ASSERT_TRUE(state_.WaitUntil([&] { return state_.received_locked().size() == 2; }));
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(uplink->Submit(MakeBatch(50, 2000)));
  }
  ASSERT_TRUE(uplink->AwaitStats(
      [](const UplinkStats& s) { return s.batches_merged == 2 && s.spool_batches == 3; }, kWait));
  EXPECT_EQ(uplink->stats().batches_dropped, 0u);
  state_.ReleaseAcks();
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_THAT(state_.received_seqs(), ElementsAre(1, 2, 5));
  const std::vector<v1::Batch> got = state_.received();
  EXPECT_EQ(got[0].merged_from(), 1u);
  EXPECT_EQ(got[1].merged_from(), 1u);
  EXPECT_EQ(got[2].merged_from(), 3u);
  ASSERT_EQ(got[2].records_size(), 50);
  for (const v1::Record& r : got[2].records()) {
    EXPECT_GE(r.server_port(), 2000u);  // Nothing of the in-flight batches 1 and 2.
    EXPECT_EQ(r.packets(), 3u);
  }
  EXPECT_EQ(state_.committed(), (std::set<uint64_t>{1, 2, 5}));
}

TEST_F(UplinkTest, StopCancelsAnOpenStreamPromptly) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  state_.set_commit(false);
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
  ASSERT_TRUE(state_.WaitUntil([&] { return state_.received_locked().size() == 1; }));
  uplink->Stop();  // Must not wait for the ack that never comes.
  EXPECT_FALSE(uplink->stats().connected);
  EXPECT_EQ(SpoolBatchFiles().size(), 1u);
}

TEST_F(UplinkTest, ConcurrentSubmittersAreDeliveredOnceInSeqOrder) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  auto uplink = Started(Options({collector.address()}));
  ASSERT_NE(uplink, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&uplink, t] {
      for (int i = 0; i < kPerThread; ++i) {
        EXPECT_OK(uplink->Submit(MakeBatch(1, static_cast<uint16_t>(1000 + 100 * t + i))));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  ASSERT_OK(uplink->Drain(kWait));
  const std::vector<uint64_t> seqs = state_.received_seqs();
  ASSERT_EQ(seqs.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < seqs.size(); ++i) {
    EXPECT_EQ(seqs[i], i + 1);  // Sent in seq order, each once.
  }
  std::set<uint32_t> ports;
  for (const v1::Batch& b : state_.received()) ports.insert(b.records(0).server_port());
  EXPECT_EQ(ports.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_F(UplinkTest, ConcurrentStopsAllReturnAfterTheThreadEnds) {
  auto uplink = Started(Options({"127.0.0.1:1"}));
  ASSERT_NE(uplink, nullptr);
  std::thread other([&uplink] { uplink->Stop(); });
  uplink->Stop();
  other.join();
  EXPECT_THAT(uplink->Submit(MakeBatch(1, 80)), StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(UplinkTest, CollectorThatNeverAnswersHelloTimesOut) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  state_.set_silent(true);
  UplinkOptions o = Options({collector.address()});
  // Long enough for a TLS handshake on a loaded sanitizer build (with 100 ms an attempt could
  // time out before its Hello was even sent), short enough to see two attempts quickly.
  o.connect_timeout = absl::Seconds(1);
  auto uplink = Started(o);
  ASSERT_NE(uplink, nullptr);
  // Each attempt's Hello reaches the collector, is never answered, and the attempt times out:
  // the next Hello comes on a new stream.
  const absl::Time deadline = absl::Now() + kWait;
  while (state_.hellos().size() < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_GE(state_.hellos().size(), 2u);
  EXPECT_GE(uplink->stats().reconnects, 1u);
  EXPECT_FALSE(uplink->stats().connected);
}

TEST_F(UplinkTest, StalledAcksCancelTheStreamAndTheBatchIsResent) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  state_.set_commit(false);  // Receives, never acks.
  UplinkOptions o = Options({collector.address()});
  o.ack_timeout = absl::Milliseconds(100);
  auto uplink = Started(o);
  ASSERT_NE(uplink, nullptr);
  ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
  ASSERT_TRUE(state_.WaitUntil([&] { return state_.received_locked().size() >= 2; }))
      << "the unacked batch should be resent on a new stream";
  EXPECT_THAT(state_.received_seqs(), ::testing::Each(1u));
  EXPECT_GE(uplink->stats().reconnects, 1u);
  state_.set_commit(true);
  ASSERT_OK(uplink->Drain(kWait));
  EXPECT_EQ(state_.committed(), (std::set<uint64_t>{1}));
}

// The reactor's hold: a call that fails fast (nothing listens) reports its end as `ended`
// while the owner still holds it, so a write started afterwards from outside the reactions
// is safe (it just fails) and OnDone waits for Release(). Without the hold, OnDone would run
// and free the call first, and that write would touch freed memory.
TEST_F(UplinkTest, IngestStreamHoldsAFastFailingCallUntilReleased) {
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", DeadPort()),
                                     common::MakeClientCredentials(*sensor_tls_));
  auto stub = v1::Ingest::NewStub(channel);
  absl::Mutex mu;
  internal::StreamEvents events;
  internal::IngestStream stream(&mu, &events);
  stream.Start(*stub);
  bool ended = false;
  {
    absl::MutexLock l(&mu);
    ended = mu.AwaitWithTimeout(absl::Condition(&events.ended), kWait);
    EXPECT_TRUE(ended) << "a call to a closed port should fail fast";
    EXPECT_FALSE(events.done) << "OnDone ran while the hold was held";
  }
  if (ended) {
    v1::SensorMessage hello;
    hello.mutable_hello()->set_protocol_version(1);
    stream.Write(hello);  // After the call is over: must fail, not crash.
    absl::MutexLock l(&mu);
    auto written = [&events]() { return !events.write_pending; };
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&written), kWait));
    // Nothing but Release() may bring OnDone now; give it a moment to misbehave.
    EXPECT_FALSE(mu.AwaitWithTimeout(absl::Condition(&events.done), absl::Milliseconds(100)));
  } else {
    stream.Cancel();
  }
  stream.Release();
  stream.Release();  // Idempotent.
  absl::MutexLock l(&mu);
  mu.Await(absl::Condition(&events.done));  // The stream may not die before OnDone.
  EXPECT_EQ(events.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << events.status.error_message();
  EXPECT_TRUE(events.inbox.empty());
}

// A collector that ends the call with a status: the end shows as `ended`, and releasing the
// hold (without cancelling) delivers the collector's own status, not CANCELLED.
TEST_F(UplinkTest, IngestStreamReportsTheCollectorsStatusAfterRelease) {
  TestCollector collector(state_, *server_tls_);
  ASSERT_TRUE(collector.ok());
  auto channel =
      grpc::CreateChannel(collector.address(), common::MakeClientCredentials(*sensor_tls_));
  auto stub = v1::Ingest::NewStub(channel);
  absl::Mutex mu;
  internal::StreamEvents events;
  internal::IngestStream stream(&mu, &events);
  stream.Start(*stub);
  v1::SensorMessage not_hello;  // The test collector refuses a first message that is no Hello.
  not_hello.mutable_heartbeat()->set_sent_unix_ns(1);
  stream.Write(not_hello);
  {
    absl::MutexLock l(&mu);
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&events.ended), kWait));
    EXPECT_FALSE(events.done) << "OnDone ran while the hold was held";
  }
  stream.Release();
  absl::MutexLock l(&mu);
  mu.Await(absl::Condition(&events.done));  // The stream may not die before OnDone.
  EXPECT_EQ(events.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << events.status.error_message();
  EXPECT_EQ(events.status.error_message(), "hello first");
}

// Many sessions whose calls fail fast (connection refused), each writing its Hello from the
// uplink thread while gRPC is ending the call; then many Start/Stop cycles, stopping while
// connecting. Used to abort with "pure virtual method called" (a write on a freed call).
TEST_F(UplinkTest, ManyFastFailingSessionsAndStartStopCyclesAgainstAClosedPort) {
  const std::string dead = absl::StrCat("127.0.0.1:", DeadPort());
  UplinkOptions o = Options({dead});
  o.initial_backoff = absl::Milliseconds(1);
  o.max_backoff = absl::Milliseconds(1);
  {
    auto uplink = Started(o);
    ASSERT_NE(uplink, nullptr);
    ASSERT_OK(uplink->Submit(MakeBatch(1, 80)));
    ASSERT_TRUE(uplink->AwaitStats([](const UplinkStats& s) { return s.reconnects >= 200; }, kWait))
        << "reconnects=" << uplink->stats().reconnects;
    EXPECT_FALSE(uplink->stats().connected);
    EXPECT_EQ(uplink->stats().batches_acked, 0u);
    uplink->Stop();
  }
  for (int i = 0; i < 50; ++i) {
    auto uplink = Started(o);
    ASSERT_NE(uplink, nullptr);
    ASSERT_OK(uplink->Submit(MakeBatch(1, static_cast<uint16_t>(81 + i))));
    uplink->Stop();
  }
  // Every batch is still spooled: nothing was lost or acked by a dying stream.
  EXPECT_EQ(SpoolBatchFiles().size(), 51u);
}

}  // namespace
}  // namespace synmap::sensor
