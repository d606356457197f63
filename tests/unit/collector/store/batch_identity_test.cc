// A batch is its content: duplicate vs conflict by digest, seq and count limits, the same
// answers after a restart, and one process per database.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "collector/store/sqlite_store.h"
#include "common/aggregate/record.h"
#include "common/aggregate/saturating.h"
#include "common/batch/batch_codec.h"
#include "common/time/clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/collector/store/batch_builder.h"

namespace synmap::collector {
namespace {

using synmap::testing::StatusIs;
using synmap::testing::TempDir;
using testing::AddRecord;
using ::testing::HasSubstr;
using testing::kHour;
using testing::kSecond;
using testing::kT0;
using testing::MakeBatch;
using testing::Plain;

constexpr uint64_t kTwoTo63 = uint64_t{1} << 63;

synmap::v1::Batch Batch(uint64_t seq, uint32_t port, uint64_t packets = 1) {
  synmap::v1::Batch batch = MakeBatch(seq, kT0);
  AddRecord(batch, "10.0.0.2", "10.0.0.1", port, 1, kT0 + kSecond, packets);
  return batch;
}

class BatchIdentityTest : public ::testing::Test {
 protected:
  SqliteStoreOptions Options() {
    SqliteStoreOptions options;
    options.path = dir_.File("store.db");
    options.clock = &clock_;
    return options;
  }
  std::unique_ptr<Store> Open() {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(Options());
    EXPECT_OK(store);
    return store.ok() ? *std::move(store) : nullptr;
  }
  // The answers of `store` for the probes every test of this file compares.
  std::string Answers(Store& store) {
    std::string out;
    for (const auto& [seq, port] : std::vector<std::pair<uint64_t, uint32_t>>{
             {1, 22}, {1, 23}, {2, 22}, {kTwoTo63 - 1, 25}, {kTwoTo63 - 1, 26}}) {
      absl::StatusOr<CommitResult> r = store.Commit("s1", Plain(Batch(seq, port)));
      absl::StrAppend(&out, seq, "/", port, ":",
                      !r.ok()        ? "error"
                      : r->duplicate ? "duplicate"
                      : r->conflict  ? absl::StrCat("conflict>", r->last_committed_seq)
                                     : "committed",
                      " ");
    }
    return out;
  }

  TempDir dir_;
  FakeClock clock_{absl::FromUnixNanos(kT0 + 2 * kHour)};
};

TEST_F(BatchIdentityTest, SameSeqSameContentIsDuplicateOtherContentIsConflict) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK_AND_ASSIGN(CommitResult first, store->Commit("s1", Plain(Batch(1, 22))));
  EXPECT_EQ(first, CommitResult{});
  synmap::v1::Batch resent = Batch(1, 22);
  resent.mutable_health()->set_spool_batches(7);  // Health is not content.
  ASSERT_OK_AND_ASSIGN(CommitResult again, store->Commit("s1", Plain(resent)));
  EXPECT_TRUE(again.duplicate);
  EXPECT_FALSE(again.conflict);
  ASSERT_OK_AND_ASSIGN(CommitResult other, store->Commit("s1", Plain(Batch(1, 23))));
  EXPECT_FALSE(other.duplicate) << "other content under a used seq is never a duplicate";
  EXPECT_TRUE(other.conflict);
  EXPECT_EQ(other.last_committed_seq, 1u);
  EXPECT_EQ(store->stats().commits, 1u);
}

TEST_F(BatchIdentityTest, UncommittedSeqAtOrBelowTheHighestIsConflict) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Commit("s1", Plain(Batch(1000, 22))));  // A forged jump.
  ASSERT_OK_AND_ASSIGN(CommitResult behind, store->Commit("s1", Plain(Batch(3, 23))));
  EXPECT_TRUE(behind.conflict);
  EXPECT_EQ(behind.last_committed_seq, 1000u);
  ASSERT_OK_AND_ASSIGN(CommitResult above, store->Commit("s1", Plain(Batch(1001, 23))));
  EXPECT_EQ(above, CommitResult{});
  EXPECT_EQ(store->LastCommittedSeq("s1"), 1001u);
  EXPECT_EQ(store->LastCommittedSeq("s2"), 0u) << "other sensors are not affected";
}

TEST_F(BatchIdentityTest, LedgerAnswersTheSameBeforeAndAfterARestart) {
  std::string before;
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Commit("s1", Plain(Batch(1, 22))));
    ASSERT_OK(store->Commit("s1", Plain(Batch(kTwoTo63 - 1, 25))));
    before = Answers(*store);
    EXPECT_EQ(store->LastCommittedSeq("s1"), kTwoTo63 - 1);
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->LastCommittedSeq("s1"), kTwoTo63 - 1) << "no int64 sign trouble";
  EXPECT_EQ(Answers(*store), before);
  EXPECT_EQ(before, absl::StrCat("1/22:duplicate 1/23:conflict>", kTwoTo63 - 1, " 2/22:conflict>",
                                 kTwoTo63 - 1, " ", kTwoTo63 - 1, "/25:duplicate ", kTwoTo63 - 1,
                                 "/26:conflict>", kTwoTo63 - 1, " "));
}

TEST_F(BatchIdentityTest, SeqOfTwoToTheSixtyThreeOrMoreIsRefusedNamingTheLimit) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  for (uint64_t seq : {kTwoTo63, ~uint64_t{0}}) {
    absl::StatusOr<CommitResult> r = store->Commit("s1", Plain(Batch(seq, 22)));
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("2^63-1"));
  }
  EXPECT_EQ(store->LastCommittedSeq("s1"), 0u);
}

TEST_F(BatchIdentityTest, CountsAboveTwoToTheFortyAreRefused) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_OK(store->Commit("s1", Plain(Batch(1, 22, uint64_t{1} << 40))));
  absl::StatusOr<CommitResult> r =
      store->Commit("s1", Plain(Batch(2, 22, (uint64_t{1} << 40) + 1)));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("limit counts"));
  EXPECT_THAT(store->Commit("s1", Plain(Batch(3, 22, uint64_t{1} << 63))),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(BatchIdentityTest, SecondOpenOfTheDatabaseFailsNamingTheFileAndHolderPid) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::unique_ptr<Store>> second = OpenSqliteStore(Options());
  ASSERT_THAT(second, StatusIs(absl::StatusCode::kFailedPrecondition));
  const std::string message(second.status().message());
  EXPECT_THAT(message, HasSubstr(Options().path));
  EXPECT_THAT(message, HasSubstr(absl::StrCat("pid ", getpid())));
  ASSERT_OK(store->Close());
  EXPECT_OK(OpenSqliteStore(Options()).status()) << "the lock goes with Close";
}

TEST_F(BatchIdentityTest, BatchesCommittedBeforeDigestsWereKeptAnswerDuplicate) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Commit("s1", Plain(Batch(1, 22))));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(Options().path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE batches SET digest = x''", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK_AND_ASSIGN(CommitResult r, store->Commit("s1", Plain(Batch(1, 23))));
  EXPECT_TRUE(r.duplicate) << "content unknown: the old answer stands";
}

TEST(BatchDigestTest, IgnoresSeqAndHealthAndSeesEveryRecordByte) {
  synmap::v1::Batch a = Batch(1, 22);
  synmap::v1::Batch b = Batch(99, 22);
  b.mutable_health()->set_uptime_ns(5);
  synmap::v1::Batch c = Batch(1, 22);
  c.mutable_records(0)->set_connections(0);
  const std::string da = common::BatchDigest(a.SerializeAsString());
  EXPECT_EQ(da.size(), common::kBatchDigestBytes);
  EXPECT_EQ(da, common::BatchDigest(b.SerializeAsString()));
  EXPECT_NE(da, common::BatchDigest(c.SerializeAsString()));
  EXPECT_EQ(common::BatchDigest("\xff"), "") << "malformed wire format";
}

// Issue #10 item 7: 2^63 twice showed as 0, 2^64-1 then +2 as 1.
TEST(SaturatingAddTest, SumsHoldAtTheMaximumInsteadOfWrapping) {
  bool saturated = false;
  EXPECT_EQ(common::SaturatingAdd(kTwoTo63, kTwoTo63, &saturated), ~uint64_t{0});
  EXPECT_TRUE(saturated);
  saturated = false;
  EXPECT_EQ(common::SaturatingAdd(~uint64_t{0} - 2, 2, &saturated), ~uint64_t{0});
  EXPECT_FALSE(saturated) << "exactly the maximum is not saturation";
  common::Record a;
  a.packets = ~uint64_t{0};
  a.connections = kTwoTo63;
  common::Record b;
  b.packets = 2;
  b.connections = kTwoTo63;
  a.MergeFrom(b);
  EXPECT_EQ(a.packets, ~uint64_t{0});
  EXPECT_EQ(a.connections, ~uint64_t{0});
  common::CaptureStats stats;
  stats.kernel_drops = ~uint64_t{0};
  common::CaptureStats more;
  more.kernel_drops = 1;
  stats.MergeFrom(more);
  EXPECT_EQ(stats.kernel_drops, ~uint64_t{0});
}

}  // namespace
}  // namespace synmap::collector
