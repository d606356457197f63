#include "sensor/uplink/internal/spool.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sensor/uplink/internal/batch_codec.h"
#include "sensor/uplink/internal/seq_counter.h"
#include "sensor/uplink/internal/spool_file.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap::sensor::internal {
namespace {

namespace fs = std::filesystem;
using ::synmap::testing::StatusIs;
using ::synmap::testing::TempDir;

// A batch with `n` records on ports first_port.. (distinct keys), window [seq*10, seq*10+10).
v1::Batch MakeBatch(uint64_t seq, int n, uint16_t first_port, uint64_t packets = 1) {
  common::Batch b;
  b.start_ns = static_cast<int64_t>(seq) * 10;
  b.end_ns = b.start_ns + 10;
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
  b.stats.packets_received = 100;
  return BatchToProto(b, seq);
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void FlipByte(const std::string& path, size_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

std::vector<uint64_t> Seqs(const Spool& spool) {
  std::vector<uint64_t> seqs;
  for (const auto& [seq, e] : spool.entries()) seqs.push_back(seq);
  return seqs;
}

TEST(SpoolFileTest, EncodeDecodeRoundTrip) {
  const v1::Batch batch = MakeBatch(7, 3, 80);
  const std::string bytes = EncodeSpoolFile(batch, 5);
  EXPECT_EQ(bytes.substr(0, 4), "SMSP");
  ASSERT_OK_AND_ASSIGN(SpoolFile file, DecodeSpoolFile(bytes));
  EXPECT_EQ(file.seq, 7u);
  EXPECT_EQ(file.covers_from_seq, 5u);
  EXPECT_EQ(file.batch.SerializeAsString(), batch.SerializeAsString());
}

TEST(SpoolFileTest, DecodeDetectsEveryKindOfDamage) {
  const std::string good = EncodeSpoolFile(MakeBatch(7, 3, 80), 7);
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  std::string bad_payload = good;
  bad_payload[kSpoolHeaderBytes + 3] ^= 0x01;
  std::string bad_seq = good;
  bad_seq[8] ^= 0x01;  // Header seq no longer matches the CRC.
  for (const std::string& bytes : {bad_magic, bad_payload, bad_seq, good.substr(0, good.size() - 1),
                                   good.substr(0, 10), std::string()}) {
    EXPECT_THAT(DecodeSpoolFile(bytes), StatusIs(absl::StatusCode::kDataLoss));
  }
}

TEST(SpoolFileTest, FileNameRoundTrip) {
  EXPECT_EQ(SpoolFileName(42), "batch-00000000000000000042.spool");
  EXPECT_EQ(SeqFromSpoolFileName(SpoolFileName(42)), 42u);
  EXPECT_EQ(SeqFromSpoolFileName("seq"), 0u);
  EXPECT_EQ(SeqFromSpoolFileName("batch-42.spool"), 0u);
}

TEST(SpoolTest, WrittenBatchesAreRecoveredInOrderAndReadBack) {
  TempDir dir;
  for (uint64_t seq : {3, 1, 2}) {
    ASSERT_OK(WriteSpoolBatch(dir.path(), MakeBatch(seq, 2, 80)).status());
  }
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(spool->highest_seq(), 3u);
  uint64_t total = 0;
  for (const auto& [seq, e] : spool->entries()) {
    total += fs::file_size(dir.File(SpoolFileName(seq)));
    EXPECT_TRUE(e.sent) << "recovered batches may have been sent by a previous process";
    EXPECT_EQ(e.records, 2u);
  }
  EXPECT_EQ(spool->bytes(), total);
  ASSERT_OK_AND_ASSIGN(v1::Batch two, spool->Read(2));
  EXPECT_EQ(two.SerializeAsString(), MakeBatch(2, 2, 80).SerializeAsString());
  EXPECT_THAT(spool->Read(9), StatusIs(absl::StatusCode::kNotFound));
}

// A second sensor started on the same spool would take the first's seqs and temp files (both
// write batch-<seq>.spool and seq): it is refused before it reads or writes anything, naming the
// process that has the spool, and may have it once that one has let it go.
TEST(SpoolTest, ASpoolIsOpenedByOneOwnerAtATime) {
  TempDir dir;
  ASSERT_OK(WriteSpoolBatch(dir.path(), MakeBatch(1, 2, 80)).status());
  {
    ASSERT_OK_AND_ASSIGN(auto first, Spool::Open(dir.path()));
    const absl::StatusOr<std::unique_ptr<Spool>> second = Spool::Open(dir.path());
    EXPECT_THAT(second.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_EQ(second.status().message(),
              absl::StrCat("spool ", dir.path(), " is in use by another synmap-sensor (pid ",
                           getpid(), "); stop that one first or give this one another --spool"));
    EXPECT_EQ(Seqs(*first), (std::vector<uint64_t>{1}));
    EXPECT_EQ(FilesIn(dir.path()), (std::vector<std::string>{SpoolFileName(1)}));  // Untouched.
  }
  ASSERT_OK_AND_ASSIGN(auto again, Spool::Open(dir.path()));
  EXPECT_EQ(Seqs(*again), (std::vector<uint64_t>{1}));
}

TEST(SpoolTest, CorruptFileIsQuarantinedAtOpenNotFatal) {
  TempDir dir;
  ASSERT_OK(WriteSpoolBatch(dir.path(), MakeBatch(1, 2, 80)).status());
  ASSERT_OK(WriteSpoolBatch(dir.path(), MakeBatch(2, 2, 80)).status());
  FlipByte(dir.File(SpoolFileName(1)), kSpoolHeaderBytes + 2);
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{2}));
  EXPECT_EQ(spool->counters().batches_quarantined, 1u);
  EXPECT_FALSE(fs::exists(dir.File(SpoolFileName(1))));
  EXPECT_TRUE(fs::exists(dir.File("quarantine/" + SpoolFileName(1))));
  EXPECT_EQ(spool->bytes(), fs::file_size(dir.File(SpoolFileName(2))));
}

TEST(SpoolTest, FileCorruptedAfterOpenIsReportedAsDataLoss) {
  TempDir dir;
  ASSERT_OK(WriteSpoolBatch(dir.path(), MakeBatch(1, 2, 80)).status());
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  FlipByte(dir.File(SpoolFileName(1)), kSpoolHeaderBytes + 1);
  EXPECT_THAT(spool->Read(1), StatusIs(absl::StatusCode::kDataLoss));
  spool->Quarantine(1, "test");
  EXPECT_TRUE(spool->entries().empty());
  EXPECT_EQ(spool->bytes(), 0u);
  EXPECT_TRUE(fs::exists(dir.File("quarantine/" + SpoolFileName(1))));
}

TEST(SpoolTest, TempFilesOfInterruptedWritesAreRemoved) {
  TempDir dir;
  std::ofstream(dir.File("." + SpoolFileName(4) + ".tmp")) << "half";
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  EXPECT_TRUE(spool->entries().empty());
  EXPECT_EQ(FilesIn(dir.path()), std::vector<std::string>{});
}

TEST(SpoolTest, PartsLeftByInterruptedMergeAreDeletedAtOpen) {
  TempDir dir;
  // Simulates a crash after the merged file (seq 4 covering 2..4) was renamed into place
  // but before parts 2 and 3 were unlinked. Seq 1 is outside the merge.
  for (uint64_t seq : {1, 2, 3}) {
    ASSERT_OK(WriteSpoolBatch(dir.path(), MakeBatch(seq, 1, 80)).status());
  }
  BatchMerger merger;
  for (uint64_t seq : {2, 3, 4}) ASSERT_OK(merger.Add(MakeBatch(seq, 1, 80)));
  ASSERT_OK(WriteFileDurably(dir.path(), SpoolFileName(4), EncodeSpoolFile(merger.Result(), 2)));
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{1, 4}));
  EXPECT_EQ(spool->entries().at(4).merged_from, 3u);
  EXPECT_FALSE(fs::exists(dir.File(SpoolFileName(2))));
  EXPECT_FALSE(fs::exists(dir.File(SpoolFileName(3))));
}

TEST(SpoolTest, RemoveThroughDeletesCommittedFiles) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  for (uint64_t seq : {1, 2, 3}) {
    ASSERT_OK_AND_ASSIGN(SpoolEntry e, WriteSpoolBatch(dir.path(), MakeBatch(seq, 1, 80)));
    spool->Add(e);
  }
  EXPECT_EQ(spool->RemoveThrough(2), 2u);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{3}));
  EXPECT_EQ(FilesIn(dir.path()), (std::vector<std::string>{SpoolFileName(3)}));
  EXPECT_TRUE(spool->Remove(3));
  EXPECT_FALSE(spool->Remove(3));
  EXPECT_EQ(spool->bytes(), 0u);
}

TEST(SpoolTest, CapMergesUnsentBatchesFirst) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  // Five batches over the same 20 keys: merging them shrinks the spool to about one batch.
  uint64_t one_batch = 0;
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    ASSERT_OK_AND_ASSIGN(SpoolEntry e, WriteSpoolBatch(dir.path(), MakeBatch(seq, 20, 1000)));
    one_batch = e.bytes;
    spool->Add(e);
  }
  spool->EnforceCap(2 * one_batch);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{5}));
  EXPECT_EQ(spool->counters().batches_merged, 4u);
  EXPECT_EQ(spool->counters().batches_dropped, 0u);
  ASSERT_OK_AND_ASSIGN(v1::Batch merged, spool->Read(5));
  EXPECT_EQ(merged.merged_from(), 5u);
  ASSERT_EQ(merged.records_size(), 20);
  EXPECT_EQ(merged.records(0).packets(), 5u);
  EXPECT_EQ(merged.stats().packets_received(), 500u);
  EXPECT_EQ(merged.start_unix_ns(), 10);
  EXPECT_EQ(merged.end_unix_ns(), 60);
  EXPECT_EQ(FilesIn(dir.path()), (std::vector<std::string>{SpoolFileName(5)}));
  EXPECT_EQ(spool->bytes(), fs::file_size(dir.File(SpoolFileName(5))));
}

TEST(SpoolTest, CapDropsOldestWithExactCountersWhenMergingIsNotEnough) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  // 3..5 share their 20 keys (a merge shrinks them to about one batch); 1 and 2 are in
  // flight (may be committed), so they are never merged and must be dropped, oldest first.
  std::vector<uint64_t> sizes;
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    ASSERT_OK_AND_ASSIGN(SpoolEntry e, WriteSpoolBatch(dir.path(), MakeBatch(seq, 20, 1000)));
    sizes.push_back(e.bytes);
    spool->Add(e);
  }
  spool->MarkSent(1);
  spool->MarkSent(2);
  // Room for one and a half batches: after merging 3..5 (about one batch), 1 and 2 must go.
  spool->EnforceCap(sizes[0] + sizes[0] / 2);
  const auto& entries = spool->entries();
  ASSERT_EQ(Seqs(*spool), (std::vector<uint64_t>{5}));
  EXPECT_EQ(entries.at(5).merged_from, 3u);
  EXPECT_EQ(entries.at(5).covers_from_seq, 3u);
  EXPECT_EQ(entries.at(5).records, 20u);
  EXPECT_EQ(spool->counters().batches_merged, 2u);
  EXPECT_EQ(spool->counters().batches_dropped, 2u);
  EXPECT_EQ(spool->counters().records_dropped, 40u);
  EXPECT_EQ(FilesIn(dir.path()), (std::vector<std::string>{SpoolFileName(5)}));
}

TEST(SpoolTest, DisjointBatchesAreDroppedOldestFirstNotMerged) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  std::vector<uint64_t> sizes;
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    ASSERT_OK_AND_ASSIGN(SpoolEntry e,
                         WriteSpoolBatch(dir.path(), MakeBatch(seq, 10, 1000 + 100 * seq)));
    sizes.push_back(e.bytes);
    spool->Add(e);
  }
  // Merging disjoint keys saves almost nothing; keep the newest that fit in 3.5 batches.
  spool->EnforceCap(sizes[2] * 3 + sizes[2] / 2);
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(spool->counters().batches_merged, 0u);
  EXPECT_EQ(spool->counters().batches_dropped, 2u);
  EXPECT_EQ(spool->counters().records_dropped, 20u);
}

TEST(SpoolTest, SentBatchesAreNeverMerged) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  uint64_t total = 0;
  for (uint64_t seq = 1; seq <= 4; ++seq) {
    ASSERT_OK_AND_ASSIGN(SpoolEntry e, WriteSpoolBatch(dir.path(), MakeBatch(seq, 20, 1000)));
    total += e.bytes;
    spool->Add(e);
  }
  spool->MarkSent(1);
  spool->MarkSent(2);
  spool->EnforceCap(total - 1);
  // Only 3 and 4 merged; 1 and 2 stay as they were.
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_EQ(spool->entries().at(1).merged_from, 1u);
  EXPECT_EQ(spool->entries().at(2).merged_from, 1u);
  EXPECT_EQ(spool->entries().at(4).merged_from, 2u);
  EXPECT_EQ(spool->counters().batches_dropped, 0u);
  ASSERT_OK_AND_ASSIGN(v1::Batch one, spool->Read(1));
  EXPECT_EQ(one.SerializeAsString(), MakeBatch(1, 20, 1000).SerializeAsString());
}

TEST(SpoolTest, UnderCapNothingChanges) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    ASSERT_OK_AND_ASSIGN(SpoolEntry e, WriteSpoolBatch(dir.path(), MakeBatch(seq, 5, 1000)));
    spool->Add(e);
  }
  spool->EnforceCap(spool->bytes());
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(spool->counters(), SpoolCounters{});
}

std::vector<uint16_t> PortsOf(const v1::Batch& batch) {
  std::vector<uint16_t> ports;
  for (const auto& r : batch.records()) ports.push_back(static_cast<uint16_t>(r.server_port()));
  return ports;
}

TEST(SpoolTest, RenumberAboveMovesEveryBatchInOrderAsUnsent) {
  TempDir dir;
  for (uint64_t seq : {2, 4}) {
    ASSERT_OK(
        WriteSpoolBatch(dir.path(), MakeBatch(seq, 1, static_cast<uint16_t>(80 + seq))).status());
  }
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  ASSERT_OK(spool->RenumberAbove(6));
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{7, 8}));
  EXPECT_EQ(spool->NextUnsent(), std::optional<uint64_t>(7));
  ASSERT_OK_AND_ASSIGN(v1::Batch seven, spool->Read(7));
  ASSERT_OK_AND_ASSIGN(v1::Batch eight, spool->Read(8));
  v1::Batch want_seven = MakeBatch(2, 1, 82);  // Same content, new seq.
  want_seven.set_seq(7);
  EXPECT_EQ(seven.SerializeAsString(), want_seven.SerializeAsString());
  EXPECT_EQ(PortsOf(eight), std::vector<uint16_t>{84});
  EXPECT_EQ(FilesIn(dir.path()), (std::vector<std::string>{SpoolFileName(7), SpoolFileName(8)}))
      << "old files and the journal are gone";
  uint64_t total = 0;
  for (const auto& name : FilesIn(dir.path())) total += fs::file_size(dir.File(name));
  EXPECT_EQ(spool->bytes(), total);
}

TEST(SpoolTest, RenumberingInterruptedByACrashIsFinishedAtOpenWithoutLossOrDuplicate) {
  TempDir dir;
  for (uint64_t seq : {1, 2, 3}) {
    ASSERT_OK(
        WriteSpoolBatch(dir.path(), MakeBatch(seq, 1, static_cast<uint16_t>(80 + seq))).status());
  }
  ASSERT_OK_AND_ASSIGN(const std::string one_bytes, ReadWholeFile(dir.File(SpoolFileName(1))));
  {
    ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
    // A directory where the temp file of new seq 8 goes makes that write fail: 1 -> 7 is
    // done, 2 -> 8 and 3 -> 9 are not.
    fs::create_directory(dir.File("." + SpoolFileName(8) + ".tmp"));
    EXPECT_FALSE(spool->RenumberAbove(6).ok());
  }
  ASSERT_TRUE(fs::exists(dir.File("renumber")));
  ASSERT_TRUE(fs::exists(dir.File(SpoolFileName(7))));
  // The crash: the blocker is gone, and seq 1 is back as if the process died between
  // writing 7 and unlinking 1 (both copies on disk).
  fs::remove(dir.File("." + SpoolFileName(8) + ".tmp"));
  ASSERT_OK(WriteFileDurably(dir.path(), SpoolFileName(1), one_bytes));

  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{7, 8, 9}));
  std::vector<uint16_t> ports;
  for (uint64_t seq : {7, 8, 9}) {
    ASSERT_OK_AND_ASSIGN(v1::Batch batch, spool->Read(seq));
    EXPECT_EQ(batch.seq(), seq);
    for (uint16_t p : PortsOf(batch)) ports.push_back(p);
  }
  EXPECT_EQ(ports, (std::vector<uint16_t>{81, 82, 83})) << "each batch once, in order";
  EXPECT_EQ(FilesIn(dir.path()),
            (std::vector<std::string>{SpoolFileName(7), SpoolFileName(8), SpoolFileName(9)}));
  EXPECT_EQ(spool->counters().batches_quarantined, 0u);
}

TEST(SpoolTest, RenumberMovesOneBatchUnderANewSeqUnsentAndMergeable) {
  TempDir dir;
  for (uint64_t seq : {1, 2}) {
    ASSERT_OK(WriteFileDurably(dir.path(), SpoolFileName(seq),
                               EncodeSpoolFile(MakeBatch(seq, 1, 80 + seq), seq)));
  }
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  spool->MarkAllUnsent(/*committed_through=*/2);
  ASSERT_OK(spool->Renumber(1, 1001));
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{2, 1001}));
  EXPECT_TRUE(spool->entries().at(2).maybe_committed);
  EXPECT_FALSE(spool->entries().at(1001).maybe_committed);
  EXPECT_FALSE(spool->entries().at(1001).sent);
  ASSERT_OK_AND_ASSIGN(v1::Batch moved, spool->Read(1001));
  EXPECT_EQ(moved.seq(), 1001u);
  EXPECT_EQ(moved.records(0).server_port(), 81u);
  EXPECT_THAT(spool->Renumber(7, 1002), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(fs::exists(dir.File("renumber"))) << "journal removed once done";
}

TEST(SpoolTest, BatchesAtOrBelowTheCommittedSeqAreNeverMerged) {
  TempDir dir;
  for (uint64_t seq : {1, 2, 3, 4}) {
    ASSERT_OK(WriteFileDurably(dir.path(), SpoolFileName(seq),
                               EncodeSpoolFile(MakeBatch(seq, 50, 2000), seq)));
  }
  ASSERT_OK_AND_ASSIGN(auto spool, Spool::Open(dir.path()));
  // A collector reports seq 2 committed: 1 and 2 may hold committed content; merging them
  // into 4 would count it twice.
  spool->MarkAllUnsent(/*committed_through=*/2);
  spool->EnforceCap(spool->bytes() - 1);
  EXPECT_EQ(spool->counters().batches_merged, 1u) << "only 3 and 4 merged";
  EXPECT_EQ(Seqs(*spool), (std::vector<uint64_t>{1, 2, 4}));
}

TEST(SeqCounterTest, NeverWrapsPastTwoToTheSixtyThreeMinusOne) {
  TempDir dir;
  std::ofstream(dir.File("seq")) << SeqCounter::kMaxSeq - 1 << "\n";
  ASSERT_OK_AND_ASSIGN(SeqCounter seq, SeqCounter::Open(dir.path(), 0));
  ASSERT_OK_AND_ASSIGN(uint64_t last, seq.Next());
  EXPECT_EQ(last, SeqCounter::kMaxSeq);
  EXPECT_THAT(seq.Next(), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(seq.last(), SeqCounter::kMaxSeq);
  TempDir other;
  ASSERT_OK_AND_ASSIGN(SeqCounter forged, SeqCounter::Open(other.path(), 5));
  EXPECT_THAT(forged.AdvancePast(~uint64_t{0}), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(forged.last(), 5u) << "a forged 2^64-1 leaves the counter where it was";
  ASSERT_OK_AND_ASSIGN(uint64_t next, forged.Next());
  EXPECT_EQ(next, 6u);
}

TEST(SeqCounterTest, FreshCounterStaysFreshAcrossReopenUntilConfirmed) {
  TempDir dir;
  {
    ASSERT_OK_AND_ASSIGN(SeqCounter seq, SeqCounter::Open(dir.path(), 0));
    EXPECT_TRUE(seq.fresh());
    ASSERT_OK(seq.Next().status());
  }
  {
    // The seq file now exists, but no collector history was reconciled yet.
    ASSERT_OK_AND_ASSIGN(SeqCounter seq, SeqCounter::Open(dir.path(), 0));
    EXPECT_TRUE(seq.fresh());
    ASSERT_OK(seq.ConfirmHistory());
    EXPECT_FALSE(seq.fresh());
  }
  ASSERT_OK_AND_ASSIGN(SeqCounter seq, SeqCounter::Open(dir.path(), 0));
  EXPECT_FALSE(seq.fresh());
  EXPECT_EQ(seq.last(), 1u);
}

TEST(SeqCounterTest, CounterRestoredFromSeqFileOrSpoolIsNotFresh) {
  TempDir with_seq_file;
  std::ofstream(with_seq_file.File("seq")) << "5\n";
  ASSERT_OK_AND_ASSIGN(SeqCounter a, SeqCounter::Open(with_seq_file.path(), 0));
  EXPECT_FALSE(a.fresh());
  TempDir with_spool;
  ASSERT_OK_AND_ASSIGN(SeqCounter b, SeqCounter::Open(with_spool.path(), 3));
  EXPECT_FALSE(b.fresh());
}

TEST(SeqCounterTest, SurvivesReopenAndNeverGoesBelowSpool) {
  TempDir dir;
  {
    ASSERT_OK_AND_ASSIGN(SeqCounter seq, SeqCounter::Open(dir.path(), 0));
    ASSERT_OK_AND_ASSIGN(uint64_t a, seq.Next());
    ASSERT_OK_AND_ASSIGN(uint64_t b, seq.Next());
    EXPECT_EQ(a, 1u);
    EXPECT_EQ(b, 2u);
  }
  {
    ASSERT_OK_AND_ASSIGN(SeqCounter seq, SeqCounter::Open(dir.path(), 0));
    ASSERT_OK_AND_ASSIGN(uint64_t c, seq.Next());
    EXPECT_EQ(c, 3u) << "the seq file persists the counter with an empty spool";
  }
  ASSERT_OK_AND_ASSIGN(SeqCounter seq, SeqCounter::Open(dir.path(), 10));
  ASSERT_OK_AND_ASSIGN(uint64_t d, seq.Next());
  EXPECT_EQ(d, 11u);
  ASSERT_OK(seq.AdvancePast(100));
  ASSERT_OK_AND_ASSIGN(SeqCounter reopened, SeqCounter::Open(dir.path(), 0));
  EXPECT_EQ(reopened.last(), 100u);
}

TEST(SeqCounterTest, GarbledFileFallsBackToSpool) {
  TempDir dir;
  std::ofstream(dir.File("seq")) << "not a number";
  ASSERT_OK_AND_ASSIGN(SeqCounter seq, SeqCounter::Open(dir.path(), 7));
  EXPECT_EQ(seq.last(), 7u);
}

}  // namespace
}  // namespace synmap::sensor::internal
