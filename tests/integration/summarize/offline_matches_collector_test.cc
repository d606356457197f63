// The same capture answered offline (`synmap summarize --since/--until`, CaptureSummarizer) and
// by the collector (sensor flush windows -> store -> QueryEngine) gives the same counts per
// key for windows whose edges fall inside minutes: both widen to the same 1 min buckets.

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/time/time.h"
#include "cli/capture_summarizer.h"
#include "cli/summary_query.h"
#include "cli/summary_rows.h"
#include "collector/query/names_holder.h"
#include "collector/query/query_engine.h"
#include "collector/store/sqlite_store.h"
#include "common/aggregate/capture_window.h"
#include "common/aggregate/synack_table.h"
#include "common/batch/batch_codec.h"
#include "common/packet/decoder.h"
#include "common/time/clock.h"
#include "gtest/gtest.h"
#include "tests/testing/packet_builder.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap {
namespace {

using testing::PacketBuilder;
using testing::TempDir;
using testing::TimedFrame;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kT0 = 1'699'999'200 * kSecond;  // A minute (and hour) edge.
constexpr int kEthernet = 1;                      // DLT_EN10MB.

using Counts =
    std::map<std::tuple<std::string, std::string, uint32_t>, std::pair<uint64_t, uint64_t>>;

// Ten minutes of SYN/ACKs from a small key pool, with retransmissions 0.5-3 s after their
// first copy (some across minute edges), in capture order.
std::vector<TimedFrame> Generate() {
  std::mt19937 random(7);
  struct Packet {
    int64_t at;
    int client, server, port;
    uint32_t isn;
  };
  std::vector<Packet> packets;
  for (int i = 0; i < 3000; ++i) {
    Packet p{kT0 + static_cast<int64_t>(random() % (600'000)) * 1'000'000,
             static_cast<int>(random() % 5), static_cast<int>(random() % 3),
             443 + static_cast<int>(random() % 2), static_cast<uint32_t>(random())};
    packets.push_back(p);
    if (random() % 4 == 0) {
      p.at += 500'000'000 + static_cast<int64_t>(random() % 2500) * 1'000'000;
      packets.push_back(p);
    }
  }
  std::sort(packets.begin(), packets.end(),
            [](const Packet& a, const Packet& b) { return a.at < b.at; });
  std::vector<TimedFrame> frames;
  for (const Packet& p : packets) {
    frames.push_back(
        {p.at, PacketBuilder()
                   .Ethernet()
                   .Ipv4("198.51.100." + std::to_string(p.server + 1),
                         "192.0.2." + std::to_string(p.client + 1))
                   .Tcp(static_cast<uint16_t>(p.port), static_cast<uint16_t>(40000 + p.client),
                        testing::kTcpSynAck, p.isn)
                   .Build()});
  }
  return frames;
}

// What a sensor with a 10 s flush interval sends: one batch per aligned window.
std::vector<synmap::v1::Batch> SensorBatches(const std::vector<TimedFrame>& frames) {
  common::SynAckTable table{common::SynAckTableOptions()};
  common::CaptureWindower windower(absl::Seconds(10));
  std::vector<synmap::v1::Batch> batches;
  auto close = [&](const common::CaptureWindow& w) {
    synmap::v1::Batch batch;
    batch.set_seq(batches.size() + 1);
    batch.set_start_unix_ns(w.start_ns);
    batch.set_end_unix_ns(w.end_ns);
    for (const common::Record& r : table.TakeRecords()) {
      synmap::v1::Record* out = batch.add_records();
      out->set_client_ip(std::string(r.key.client.Raw()));
      out->set_server_ip(std::string(r.key.server.Raw()));
      out->set_server_port(r.key.server_port);
      out->set_packets(r.packets);
      out->set_connections(r.connections);
      out->set_first_seen_unix_ns(r.first_seen_ns);
      out->set_last_seen_unix_ns(r.last_seen_ns);
    }
    batches.push_back(std::move(batch));
  };
  for (const TimedFrame& f : frames) {
    common::SynAckEvent event;
    EXPECT_EQ(common::DecodePacket(kEthernet, f.bytes.data(), f.bytes.size(), &event),
              common::DecodeResult::kSynAck);
    event.timestamp_ns = f.timestamp_ns;
    if (auto closed = windower.Advance(f.timestamp_ns)) {
      close(*closed);
    }
    table.Add(event);
  }
  close(*windower.Close());
  return batches;
}

Counts Offline(const std::string& pcap, int64_t since, int64_t until) {
  cli::CaptureSummarizer summarizer(common::SynAckTableOptions(), common::PacketReaderOptions(),
                                    cli::SummaryWindow{since, until, kMinute});
  EXPECT_OK(summarizer.AddFile(pcap));
  Counts out;
  for (const common::Record& r : summarizer.TakeRecords()) {
    out[{r.key.client.ToString(), r.key.server.ToString(), r.key.server_port}] = {r.connections,
                                                                                  r.packets};
  }
  return out;
}

Counts Collector(collector::QueryEngine& engine, int64_t since, int64_t until,
                 synmap::v1::Coverage* coverage) {
  synmap::v1::SummaryRequest request;
  request.mutable_range()->set_since_unix_ns(since);
  request.mutable_range()->set_until_unix_ns(until);
  request.set_show_remote(true);
  absl::StatusOr<synmap::v1::SummaryResponse> response = engine.Summary(request);
  EXPECT_OK(response);
  Counts out;
  if (response.ok()) {
    for (const auto& row : response->rows()) {
      out[{row.client_ip(), row.server_ip(), row.server_port()}] = {row.connections(),
                                                                    row.packets()};
    }
    *coverage = response->coverage();
  }
  return out;
}

TEST(OfflineMatchesCollectorTest, SameCaptureSameWindowSameCountsPerKey) {
  TempDir dir;
  const std::vector<TimedFrame> frames = Generate();
  const std::string pcap = dir.File("capture.pcap");
  std::ofstream(pcap, std::ios::binary) << testing::PcapFileContents(kEthernet, frames);

  FakeClock clock{absl::FromUnixNanos(kT0 + 3600 * kSecond)};
  collector::SqliteStoreOptions options;
  options.path = dir.File("store.db");
  options.clock = &clock;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<collector::Store> store,
                       collector::OpenSqliteStore(options));
  for (synmap::v1::Batch& batch : SensorBatches(frames)) {
    ASSERT_OK(store->Commit("sensor-1", common::DecodeBatch(batch).value()));
  }
  collector::NamesHolder names(std::make_shared<const common::NameTable>());
  collector::QueryEngine engine(*store, names);

  const std::pair<int64_t, int64_t> windows[] = {
      {kT0 + 90 * kSecond, kT0 + 210 * kSecond},  // Both edges inside minutes.
      {kT0 + 4 * kMinute, kT0 + 5 * kMinute},     // On edges.
      {kT0 + 7 * kMinute + 1, 0},                 // Open end.
  };
  for (const auto& [since, until] : windows) {
    SCOPED_TRACE(since);
    synmap::v1::Coverage coverage;
    const Counts online = Collector(engine, since, until, &coverage);
    EXPECT_FALSE(online.empty());
    EXPECT_EQ(Offline(pcap, since, until), online);
    const cli::SummaryWindow answered = cli::SummaryWindow{since, until, kMinute}.Answered();
    EXPECT_EQ(coverage.answered().since_unix_ns(), answered.since_ns);
    EXPECT_EQ(coverage.answered().until_unix_ns(), answered.until_ns);
  }
}

// The naming and grouping rule is one piece of code; this checks that both answers reach it
// the same way: the same capture and names file give the same rows, cell for cell (labels,
// counts, merged ports and addresses, first/last seen), in the same order, offline and from
// the collector, with and without --show-remote, counting connections and packets.
// Taking the records frees the counting table: the coverage keeps its counts, and a file added
// afterwards is refused instead of being counted without the earlier handshakes.
TEST(OfflineMatchesCollectorTest, TakingTheRecordsEndsTheCountingAndKeepsTheCoverage) {
  TempDir dir;
  const std::string pcap = dir.File("capture.pcap");
  std::ofstream(pcap, std::ios::binary) << testing::PcapFileContents(kEthernet, Generate());
  cli::CaptureSummarizer summarizer{common::SynAckTableOptions()};
  ASSERT_OK(summarizer.AddFile(pcap));
  const common::SynAckTableStats counted = summarizer.coverage().table;
  ASSERT_GT(counted.synacks, 0u);
  EXPECT_FALSE(summarizer.TakeRecords().empty());
  EXPECT_EQ(summarizer.coverage().table, counted);
  EXPECT_THAT(summarizer.AddFile(pcap),
              synmap::testing::StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(summarizer.coverage().table, counted);
}

TEST(OfflineMatchesCollectorTest, SameCaptureSameNamesSameRowsCellForCell) {
  TempDir dir;
  const std::vector<TimedFrame> frames = Generate();
  const std::string pcap = dir.File("capture.pcap");
  std::ofstream(pcap, std::ios::binary) << testing::PcapFileContents(kEthernet, frames);
  // Two servers share a name, the two ports share a service name, one client is local and
  // named, one local and unnamed; the rest are remote ("_", or their IP with --show-remote).
  ASSERT_OK_AND_ASSIGN(common::NameTable table,
                       common::NameTable::FromYaml("local_networks: [198.51.100.0/24, "
                                                   "192.0.2.1/32, 192.0.2.2/32]\n"
                                                   "hosts:\n  web: [198.51.100.1, 198.51.100.2]\n"
                                                   "  desk: [192.0.2.1]\n"
                                                   "services:\n  443: tls\n  444: tls\n",
                                                   "names.yaml"));
  const auto names_table = std::make_shared<const common::NameTable>(std::move(table));

  FakeClock clock{absl::FromUnixNanos(kT0 + 3600 * kSecond)};
  collector::SqliteStoreOptions options;
  options.path = dir.File("store.db");
  options.clock = &clock;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<collector::Store> store,
                       collector::OpenSqliteStore(options));
  for (synmap::v1::Batch& batch : SensorBatches(frames)) {
    ASSERT_OK(store->Commit("sensor-1", common::DecodeBatch(batch).value()));
  }
  collector::NamesHolder names(names_table);
  collector::QueryEngine engine(*store, names);

  cli::CaptureSummarizer summarizer{common::SynAckTableOptions()};
  ASSERT_OK(summarizer.AddFile(pcap));
  const std::vector<common::Record> records = summarizer.TakeRecords();

  for (const bool show_remote : {false, true}) {
    for (const common::CountKind count :
         {common::CountKind::kConnections, common::CountKind::kPackets}) {
      SCOPED_TRACE(::testing::Message() << "show_remote=" << show_remote
                                        << " packets=" << (count == common::CountKind::kPackets));
      const cli::Table offline = cli::SummarizeRecords(
          cli::RecordBlocks{records}, *names_table, show_remote, count, common::RowOrder::kCount,
          cli::OutputFormat::kJson, absl::UTCTimeZone());
      synmap::v1::SummaryRequest request;
      request.set_show_remote(show_remote);
      request.set_count(count == common::CountKind::kPackets ? synmap::v1::COUNT_KIND_PACKETS
                                                             : synmap::v1::COUNT_KIND_CONNECTIONS);
      ASSERT_OK_AND_ASSIGN(synmap::v1::SummaryResponse response, engine.Summary(request));
      const cli::Table online = cli::SummaryResponseTable(
          response, /*by_sensor=*/false, cli::OutputFormat::kJson, absl::UTCTimeZone());
      ASSERT_GT(offline.rows.size(), 3u);
      EXPECT_EQ(offline.rows, online.rows);
      // The names file did merge something: some row covers several ports or addresses.
      bool merged = false;
      for (const std::vector<std::string>& row : offline.rows) {
        merged = merged || row[4].empty() || row[5].empty() || row[6].empty();
      }
      EXPECT_TRUE(merged);
    }
  }
}

}  // namespace
}  // namespace synmap
