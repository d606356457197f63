// The Query service over real mutual TLS on loopback, on a real SQLite store: a big Summary
// answer is made in the service's arena and arrives as the engine makes it; an answer over the
// size limit is refused with its size, counted, and the next query is answered.

#include "collector/server/query_service.h"

#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "collector/query/names_holder.h"
#include "collector/query/query_engine.h"
#include "collector/store/sqlite_store.h"
#include "common/naming/name_table.h"
#include "common/time/clock.h"
#include "tests/integration/collector/ingest_test_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/collector/store/batch_builder.h"

namespace synmap::collector {
namespace {

using ::synmap::testing::TempDir;
using testing::AddRecord;
using ::testing::HasSubstr;
using testing::kHour;
using testing::kSecond;
using testing::kT0;
using testing::MakeBatch;
using testing::Plain;

constexpr int kKeys = 3000;

class QueryServiceTest : public ::synmap::testing::PkiSuite {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_->ok()) << "make-certs.sh failed (is openssl installed?)";
    SqliteStoreOptions options;
    options.path = dir_.File("store.db");
    options.clock = &clock_;
    ASSERT_OK_AND_ASSIGN(store_, OpenSqliteStore(options));
    // kKeys keys of IPv4 and IPv6 clients (texts longer than a short string's room) to a few
    // servers, with counts that tie and differ.
    synmap::v1::Batch batch = MakeBatch(1, kT0);
    for (int i = 0; i < kKeys; ++i) {
      const bool v6 = i % 2 == 0;
      AddRecord(batch,
                v6 ? absl::StrCat("2001:db8:", i, "::", i + 1)
                   : absl::StrCat("198.18.", i / 256, ".", i % 256),
                v6 ? absl::StrCat("2001:db8:ffff::", i % 7) : absl::StrCat("192.0.2.", i % 7),
                1000 + i % 50, 1 + i % 13, kT0 + kSecond);
    }
    ASSERT_OK(store_->Commit("s1", Plain(batch)));
    ASSERT_OK_AND_ASSIGN(const common::NameTable names,
                         common::NameTable::FromYaml(
                             "local_networks: [192.0.2.0/24, \"2001:db8:ffff::/48\"]\n", "n.yaml"));
    names_ = std::make_unique<NamesHolder>(std::make_shared<const common::NameTable>(names));
    engine_ = std::make_unique<QueryEngine>(*store_, *names_);
  }
  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    }
  }

  void StartServer(size_t max_answer_bytes) {
    service_ = std::make_unique<QueryService>(*engine_, refusals_, nullptr, max_answer_bytes);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", common::MakeServerCredentials(pki_->Material("col")),
                             &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = synmap::v1::Query::NewStub(pki_->Channel(port, "r1"));
  }

  grpc::Status Summary(const synmap::v1::SummaryRequest& request,
                       synmap::v1::SummaryResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub_->Summary(&context, request, response);
  }

  TempDir dir_;
  FakeClock clock_{absl::FromUnixNanos(kT0 + 2 * kHour)};
  std::unique_ptr<Store> store_;
  std::unique_ptr<NamesHolder> names_;
  std::unique_ptr<QueryEngine> engine_;
  RefusalCounters refusals_;
  std::unique_ptr<QueryService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<synmap::v1::Query::Stub> stub_;
};

TEST_F(QueryServiceTest, EveryRowArrivesAsTheEngineMakesIt) {
  StartServer(QueryService::kMaxAnswerBytes);
  for (const bool show_remote : {true, false}) {
    synmap::v1::SummaryRequest request;
    request.set_show_remote(show_remote);
    ASSERT_OK_AND_ASSIGN(const synmap::v1::SummaryResponse expected, engine_->Summary(request));
    ASSERT_EQ(expected.rows_size(), show_remote ? kKeys : 50 * 7);
    // Several calls: each answer has an arena of its own, released after it is sent.
    for (int call = 0; call < 3; ++call) {
      synmap::v1::SummaryResponse response;
      ASSERT_TRUE(Summary(request, &response).ok());
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(response, expected))
          << "show_remote " << show_remote << " call " << call;
    }
  }
}

TEST_F(QueryServiceTest, AnAnswerOverTheLimitIsRefusedWithItsSizeAndTheNextIsAnswered) {
  synmap::v1::SummaryRequest every_row;
  every_row.set_show_remote(true);
  ASSERT_OK_AND_ASSIGN(const synmap::v1::SummaryResponse whole, engine_->Summary(every_row));
  const size_t limit = whole.ByteSizeLong() / 2;
  StartServer(limit);
  synmap::v1::SummaryResponse response;
  const grpc::Status refused = Summary(every_row, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr(absl::StrCat("the answer would be ", whole.ByteSizeLong(),
                                     " bytes, over the ", limit, " bytes limit of one answer")));
  EXPECT_EQ(response.rows_size(), 0);
  EXPECT_EQ(refusals_.Get("answer_too_large"), 1u);

  synmap::v1::SummaryRequest top = every_row;
  top.set_top_n(10);
  response.Clear();
  ASSERT_TRUE(Summary(top, &response).ok());
  EXPECT_EQ(response.rows_size(), 10);
  EXPECT_EQ(response.total_rows(), static_cast<uint64_t>(kKeys));
  EXPECT_EQ(refusals_.Get("answer_too_large"), 1u);
}

TEST_F(QueryServiceTest, ABadQueryIsRefusedAndCounted) {
  StartServer(QueryService::kMaxAnswerBytes);
  synmap::v1::SummaryRequest request;
  request.mutable_range()->set_since_unix_ns(kT0 + kHour);
  request.mutable_range()->set_until_unix_ns(kT0);  // Ends before it starts.
  synmap::v1::SummaryResponse response;
  EXPECT_EQ(Summary(request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(response.rows_size(), 0);
  EXPECT_EQ(refusals_.Get("bad_query"), 1u);
}

}  // namespace
}  // namespace synmap::collector
