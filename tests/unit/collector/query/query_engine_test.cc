#include "collector/query/query_engine.h"

#include <gmock/gmock.h>

#include <algorithm>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/store/sqlite_store.h"
#include "common/naming/name_table.h"
#include "common/naming/service_table.h"
#include "common/time/clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/collector/store/batch_builder.h"

namespace synmap::collector {
namespace {

using synmap::testing::StatusIs;
using synmap::testing::TempDir;
using testing::AddRecord;
using testing::kHour;
using testing::kSecond;
using testing::kT0;
using testing::MakeBatch;
using testing::Plain;

constexpr char kNames[] = R"yaml(
local_networks: [10.0.0.0/24, "2001:db8:10::/48"]
hosts:
  dumbo: [10.0.0.1]
  www: [10.0.0.3, 10.0.0.4]
services:
  8443: https-alt
)yaml";

constexpr char kServices[] = "ssh 22/tcp\nsmtp 25/tcp\nhttp 80/tcp\nhttps 443/tcp\n";

std::shared_ptr<const common::NameTable> Names(const std::string& yaml) {
  auto table =
      common::NameTable::FromYaml(yaml, "names.yaml", common::ServiceTable::Parse(kServices));
  EXPECT_OK(table);
  return std::make_shared<const common::NameTable>(*table);
}

// A row as the CLI shows it: count client server service [sensor].
struct Line {
  uint64_t count;
  std::string client, server, service, sensor;
  friend bool operator==(const Line&, const Line&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Line& l) {
    return os << l.count << " " << l.client << " " << l.server << " " << l.service << " "
              << l.sensor;
  }
};

std::vector<Line> Lines(const synmap::v1::SummaryResponse& response) {
  std::vector<Line> lines;
  for (const auto& row : response.rows()) {
    lines.push_back({row.count(), row.client(), row.server(), row.service(), row.sensor()});
  }
  return lines;
}

class QueryEngineTest : public ::testing::Test {
 protected:
  // A fresh engine over the fixture's store (QueryEngine is not copyable: used in place).
  std::unique_ptr<QueryEngine> MakeEngine() {
    return std::make_unique<QueryEngine>(*store_, names_);
  }
  QueryEngine& Engine() {
    if (engine_ == nullptr) {
      engine_ = MakeEngine();
    }
    return *engine_;
  }

  void SetUp() override {
    SqliteStoreOptions options;
    options.path = dir_.File("store.db");
    options.clock = &clock_;
    ASSERT_OK_AND_ASSIGN(store_, OpenSqliteStore(options));
    // Hour 0, sensor s1 (records at kT0 + 1s):
    //   192.0.2.7    -> dumbo(10.0.0.1):22   5 connections, 7 packets
    //   10.0.0.9     -> www(10.0.0.3):80     3
    //   10.0.0.9     -> www(10.0.0.4):80     3
    //   dumbo        -> 203.0.113.5:8443     2
    //   10.0.0.9     -> dumbo:9999           1
    synmap::v1::Batch b1 = MakeBatch(1, kT0);
    const int64_t t = kT0 + kSecond;
    AddRecord(b1, "192.0.2.7", "10.0.0.1", 22, 5, t, 7);
    AddRecord(b1, "10.0.0.9", "10.0.0.3", 80, 3, t);
    AddRecord(b1, "10.0.0.9", "10.0.0.4", 80, 3, t);
    AddRecord(b1, "10.0.0.1", "203.0.113.5", 8443, 2, t);
    AddRecord(b1, "10.0.0.9", "10.0.0.1", 9999, 1, t);
    b1.mutable_stats()->set_kernel_drops(11);
    b1.mutable_stats()->set_malformed(2);
    ASSERT_OK(store_->Commit("s1", Plain(b1)));
    // Hour 0, sensor s2: 198.51.100.1 -> dumbo:22 1 connection.
    synmap::v1::Batch b2 = MakeBatch(1, kT0);
    AddRecord(b2, "198.51.100.1", "10.0.0.1", 22, 1, t);
    b2.mutable_health()->set_batches_dropped(3);
    ASSERT_OK(store_->Commit("s2", Plain(b2)));
  }

  // Hour 5, sensor s1: a new service (www 10.0.0.3:443) and dumbo:9999 again.
  void AddLaterBatch() {
    synmap::v1::Batch b = MakeBatch(2, kT0 + 5 * kHour);
    const int64_t t = kT0 + 5 * kHour + kSecond;
    AddRecord(b, "192.0.2.7", "10.0.0.3", 443, 4, t);
    AddRecord(b, "10.0.0.9", "10.0.0.1", 9999, 1, t);
    ASSERT_OK(store_->Commit("s1", Plain(b)));
  }

  TempDir dir_;
  FakeClock clock_{absl::FromUnixNanos(kT0 + 24 * kHour)};
  std::unique_ptr<Store> store_;
  std::unique_ptr<QueryEngine> engine_;
  NamesHolder names_{Names(kNames)};
};

using QueryTest = QueryEngineTest;

TEST_F(QueryTest, SummaryNamesMergesAndSortsByCountThenName) {
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Summary({}));
  EXPECT_EQ(Lines(response), (std::vector<Line>{{6, "10.0.0.9", "www", "http", ""},
                                                {6, "_", "dumbo", "ssh", ""},
                                                {2, "dumbo", "_", "https-alt", ""},
                                                {1, "10.0.0.9", "dumbo", "up:9999", ""}}));
  EXPECT_EQ(response.total_rows(), 4u);
}

TEST_F(QueryTest, SummaryRowsCarryRawFactsOnlyWhenSingle) {
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Summary({}));
  const auto& www = response.rows(0);  // Two server addresses merged under "www".
  EXPECT_EQ(www.server_ip(), "");
  EXPECT_EQ(www.client_ip(), "10.0.0.9");
  EXPECT_EQ(www.server_port(), 80u);
  const auto& ssh = response.rows(1);  // Two remote clients merged under "_".
  EXPECT_EQ(ssh.client_ip(), "");
  EXPECT_EQ(ssh.server_ip(), "10.0.0.1");
  EXPECT_EQ(ssh.packets(), 8u);
  EXPECT_EQ(ssh.connections(), 6u);
  EXPECT_EQ(ssh.first_seen_unix_ns(), kT0 + kSecond);
  EXPECT_EQ(ssh.last_seen_unix_ns(), kT0 + kSecond);
}

TEST_F(QueryTest, SummaryCountsPacketsWhenAsked) {
  synmap::v1::SummaryRequest request;
  request.set_count(synmap::v1::COUNT_KIND_PACKETS);
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Summary(request));
  EXPECT_EQ(Lines(response)[0], (Line{8, "_", "dumbo", "ssh", ""}));
}

TEST_F(QueryTest, SummaryShowRemoteKeepsRemoteAddressesApart) {
  synmap::v1::SummaryRequest request;
  request.set_show_remote(true);
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Summary(request));
  EXPECT_EQ(Lines(response), (std::vector<Line>{{6, "10.0.0.9", "www", "http", ""},
                                                {5, "192.0.2.7", "dumbo", "ssh", ""},
                                                {2, "dumbo", "203.0.113.5", "https-alt", ""},
                                                {1, "10.0.0.9", "dumbo", "up:9999", ""},
                                                {1, "198.51.100.1", "dumbo", "ssh", ""}}));
}

TEST_F(QueryTest, SummaryBySensorKeepsSensorsApart) {
  synmap::v1::SummaryRequest request;
  request.set_by_sensor(true);
  request.mutable_filters()->set_service("ssh");
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Summary(request));
  EXPECT_EQ(Lines(response),
            (std::vector<Line>{{5, "_", "dumbo", "ssh", "s1"}, {1, "_", "dumbo", "ssh", "s2"}}));
}

TEST_F(QueryTest, SummaryTopNCutsAfterSorting) {
  synmap::v1::SummaryRequest request;
  request.set_top_n(1);
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Summary(request));
  EXPECT_EQ(Lines(response), (std::vector<Line>{{6, "10.0.0.9", "www", "http", ""}}));
  EXPECT_EQ(response.total_rows(), 4u);
}

struct FilterCase {
  std::string sensor, server, client, service;
  std::vector<Line> expected;
};

TEST_F(QueryTest, SummaryFiltersMatchLabelsAddressesNetworksAndPorts) {
  const std::vector<FilterCase> cases = {
      {"s2", "", "", "", {{1, "_", "dumbo", "ssh", ""}}},
      {"",
       "dumbo",
       "",
       "",
       {{6, "_", "dumbo", "ssh", ""}, {1, "10.0.0.9", "dumbo", "up:9999", ""}}},
      {"", "10.0.0.3", "", "", {{3, "10.0.0.9", "www", "http", ""}}},
      {"", "10.0.0.0/30", "", "http", {{3, "10.0.0.9", "www", "http", ""}}},
      {"", "_", "", "", {{2, "dumbo", "_", "https-alt", ""}}},
      {"", "", "_", "", {{6, "_", "dumbo", "ssh", ""}}},
      {"", "", "192.0.2.7", "", {{5, "_", "dumbo", "ssh", ""}}},
      {"", "", "", "22", {{6, "_", "dumbo", "ssh", ""}}},
      {"", "", "", "up:9999", {{1, "10.0.0.9", "dumbo", "up:9999", ""}}},
      {"", "www", "10.0.0.9", "", {{6, "10.0.0.9", "www", "http", ""}}},
  };
  for (const FilterCase& c : cases) {
    synmap::v1::SummaryRequest request;
    request.mutable_filters()->set_sensor(c.sensor);
    request.mutable_filters()->set_server(c.server);
    request.mutable_filters()->set_client(c.client);
    request.mutable_filters()->set_service(c.service);
    ASSERT_OK_AND_ASSIGN(auto response, Engine().Summary(request));
    EXPECT_EQ(Lines(response), c.expected) << "sensor=" << c.sensor << " server=" << c.server
                                           << " client=" << c.client << " service=" << c.service;
  }
}

TEST_F(QueryTest, SummaryTimeRangeSelectsRowsAndReportsCoveredWindow) {
  AddLaterBatch();
  synmap::v1::SummaryRequest request;
  request.mutable_range()->set_since_unix_ns(kT0 + 4 * kHour);
  ASSERT_OK_AND_ASSIGN(auto later, Engine().Summary(request));
  EXPECT_EQ(Lines(later), (std::vector<Line>{{4, "_", "www", "https", ""},
                                             {1, "10.0.0.9", "dumbo", "up:9999", ""}}));
  EXPECT_EQ(later.coverage().covered_since_unix_ns(), kT0 + 5 * kHour);
  EXPECT_EQ(later.coverage().covered_until_unix_ns(), kT0 + 5 * kHour + 60 * kSecond);
  ASSERT_EQ(later.coverage().sensors_size(), 1);
  EXPECT_EQ(later.coverage().sensors(0).sensor(), "s1");
  EXPECT_EQ(later.coverage().sensors(0).last_batch_seq(), 2u);

  request.mutable_range()->set_since_unix_ns(kT0);
  request.mutable_range()->set_until_unix_ns(kT0 + kHour);
  ASSERT_OK_AND_ASSIGN(auto early, Engine().Summary(request));
  EXPECT_EQ(early.total_rows(), 4u);
  EXPECT_EQ(Lines(early)[3], (Line{1, "10.0.0.9", "dumbo", "up:9999", ""}));
  EXPECT_EQ(early.coverage().sensors_size(), 2);
}

TEST_F(QueryTest, CoverageSumsDropsAndSpoolLossesOfSensorsInWindow) {
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Summary({}));
  const auto& coverage = response.coverage();
  ASSERT_EQ(coverage.sensors_size(), 2);
  EXPECT_EQ(coverage.sensors(0).sensor(), "s1");
  EXPECT_EQ(coverage.sensors(0).kernel_drops(), 11u);
  EXPECT_EQ(coverage.sensors(0).malformed(), 2u);
  EXPECT_EQ(coverage.sensors(1).sensor(), "s2");
  EXPECT_EQ(coverage.sensors(1).spool_batches_dropped(), 3u);
  EXPECT_EQ(coverage.sensors(1).last_batch_end_unix_ns(), kT0 + 10 * kSecond);
  EXPECT_EQ(coverage.batches(), 2u);
  EXPECT_EQ(coverage.kernel_drops(), 11u);
  EXPECT_EQ(coverage.spool_batches_dropped(), 3u);
  EXPECT_EQ(coverage.bucket_ns(), 60 * kSecond);  // 1 min buckets: the data is recent.
  EXPECT_EQ(coverage.resolution_seconds(), 60);
}

TEST_F(QueryTest, RenamingIsRetroactiveAndMergesRows) {
  names_.Set(Names(R"yaml(
local_networks: [10.0.0.0/24]
hosts:
  dumbo: [10.0.0.1]
  www: [10.0.0.3, 10.0.0.4]
  pluto: [10.0.0.9]
)yaml"));
  synmap::v1::SummaryRequest request;
  request.mutable_filters()->set_client("pluto");
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Summary(request));
  EXPECT_EQ(Lines(response), (std::vector<Line>{{6, "pluto", "www", "http", ""},
                                                {1, "pluto", "dumbo", "up:9999", ""}}));
}

TEST_F(QueryTest, NewServicesListsPairsFirstSeenInWindow) {
  AddLaterBatch();
  synmap::v1::NewServicesRequest request;
  request.mutable_range()->set_since_unix_ns(kT0 + 4 * kHour);
  ASSERT_OK_AND_ASSIGN(auto response, Engine().NewServices(request));
  ASSERT_EQ(response.rows_size(), 1);
  EXPECT_EQ(response.rows(0).server(), "www");
  EXPECT_EQ(response.rows(0).service(), "https");
  EXPECT_EQ(response.rows(0).server_ip(), "10.0.0.3");
  EXPECT_EQ(response.rows(0).server_port(), 443u);
  EXPECT_EQ(response.rows(0).connections(), 4u);
  EXPECT_EQ(response.rows(0).clients(), 1u);
  EXPECT_EQ(response.rows(0).first_seen_unix_ns(), kT0 + 5 * kHour + kSecond);
}

TEST_F(QueryTest, GoneServicesListsPairsSilentInWindow) {
  AddLaterBatch();
  synmap::v1::GoneServicesRequest request;
  request.mutable_range()->set_since_unix_ns(kT0 + 4 * kHour);
  ASSERT_OK_AND_ASSIGN(auto response, Engine().GoneServices(request));
  std::vector<std::string> gone;
  for (const auto& row : response.rows()) {
    gone.push_back(row.server() + " " + row.service());
  }
  std::sort(gone.begin(), gone.end());
  // dumbo up:9999 was seen again in the window, so it is not gone.
  EXPECT_EQ(gone, (std::vector<std::string>{"_ https-alt", "dumbo ssh", "www http"}));
  EXPECT_THAT(Engine().GoneServices({}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(QueryTest, HostsListsLocalHostsWithServicesAndBothRoles) {
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Hosts({}));
  ASSERT_EQ(response.rows_size(), 4);
  // dumbo: 6 ssh + 1 up:9999 as server, 2 as client = 9; 10.0.0.9: 7 as client.
  EXPECT_EQ(response.rows(0).name(), "dumbo");
  EXPECT_EQ(response.rows(0).ip(), "10.0.0.1");
  EXPECT_EQ(response.rows(0).connections_as_server(), 7u);
  EXPECT_EQ(response.rows(0).connections_as_client(), 2u);
  EXPECT_EQ(std::vector<std::string>(response.rows(0).services().begin(),
                                     response.rows(0).services().end()),
            (std::vector<std::string>{"ssh", "up:9999"}));
  EXPECT_EQ(response.rows(1).name(), "10.0.0.9");
  EXPECT_EQ(response.rows(1).connections_as_client(), 7u);
  EXPECT_EQ(response.rows(1).services_size(), 0);
  EXPECT_EQ(response.rows(2).ip(), "10.0.0.3");
  EXPECT_EQ(response.rows(3).ip(), "10.0.0.4");
}

TEST_F(QueryTest, ServicesCountsDistinctServersAndClients) {
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Services({}));
  ASSERT_EQ(response.rows_size(), 4);
  EXPECT_EQ(response.rows(0).service(), "http");  // 6 connections, tie with ssh: by name.
  EXPECT_EQ(response.rows(0).servers(), 2u);
  EXPECT_EQ(response.rows(0).clients(), 1u);
  EXPECT_EQ(response.rows(1).service(), "ssh");
  EXPECT_EQ(response.rows(1).servers(), 1u);
  EXPECT_EQ(response.rows(1).clients(), 2u);
  EXPECT_EQ(response.rows(1).port(), 22u);
  synmap::v1::ServicesRequest local;
  local.set_local_servers_only(true);
  ASSERT_OK_AND_ASSIGN(auto local_response, Engine().Services(local));
  EXPECT_EQ(local_response.rows_size(), 3);  // https-alt is offered by a remote server.
}

TEST_F(QueryTest, ExportKeepsLocalServicesAtOrAboveThreshold) {
  synmap::v1::ExportRequest request;
  request.set_min_connections(3);
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Export(request));
  std::vector<std::string> rows;
  for (const auto& row : response.rows()) {
    rows.push_back(absl::StrCat(row.server_ip(), " ", row.port(), " ", row.protocol(), " ",
                                row.connections(), " ", row.clients()));
  }
  EXPECT_EQ(rows, (std::vector<std::string>{"10.0.0.1 22 tcp 6 2", "10.0.0.3 80 tcp 3 1",
                                            "10.0.0.4 80 tcp 3 1"}));
  request.set_min_connections(0);
  ASSERT_OK_AND_ASSIGN(auto all, Engine().Export(request));
  EXPECT_EQ(all.rows_size(), 4);  // Adds dumbo:9999; the remote 8443 server never shows.
}

TEST_F(QueryTest, SensorsReportsHealthAndTotals) {
  synmap::v1::Hello hello;
  hello.set_software_version("0.1.0");
  hello.mutable_health()->set_spool_batches(4);
  ASSERT_OK(store_->RecordHello("s2", "ipv4:10.0.0.50:1234", common::SensorInfoFromProto(hello)));
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Sensors({}));
  ASSERT_EQ(response.sensors_size(), 2);
  EXPECT_EQ(response.sensors(0).name(), "s1");
  EXPECT_FALSE(response.sensors(0).connected());
  EXPECT_EQ(response.sensors(0).kernel_drops(), 11u);
  EXPECT_EQ(response.sensors(0).records(), 5u);
  EXPECT_EQ(response.sensors(1).name(), "s2");
  EXPECT_TRUE(response.sensors(1).connected());
  EXPECT_EQ(response.sensors(1).hello().software_version(), "0.1.0");
  EXPECT_EQ(response.sensors(1).peer_address(), "ipv4:10.0.0.50:1234");
  EXPECT_EQ(response.sensors(1).health().spool_batches(), 4u);  // The latest: the Hello's.
  EXPECT_EQ(response.sensors(1).last_seq(), 1u);
}

// A batch's health counts the batch itself as unacked backlog; once committed (acked) it is
// not, so a sensor that drained its spool and exited shows a backlog of 0, not 1.
TEST_F(QueryTest, SensorsBacklogExcludesTheCommittedBatchItself) {
  synmap::v1::Hello hello;
  hello.mutable_health()->set_spool_batches(3);
  ASSERT_OK(store_->RecordHello("s1", "ipv4:10.0.0.51:1234", common::SensorInfoFromProto(hello)));
  clock_.Advance(absl::Seconds(1));
  synmap::v1::Batch last = MakeBatch(2, kT0 + 3 * kHour);
  last.mutable_health()->set_spool_batches(1);  // Itself, when it was sent.
  ASSERT_OK(store_->Commit("s1", Plain(last)));
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Sensors({}));
  ASSERT_EQ(response.sensors(0).name(), "s1");
  EXPECT_EQ(response.sensors(0).health().spool_batches(), 0u);
}

TEST_F(QueryTest, BadRequestsAreInvalidArgument) {
  synmap::v1::SummaryRequest backwards;
  backwards.mutable_range()->set_since_unix_ns(kT0 + kHour);
  backwards.mutable_range()->set_until_unix_ns(kT0);
  synmap::v1::SummaryRequest bad_cidr;
  bad_cidr.mutable_filters()->set_server("10.0.0.0/33");
  for (const auto& request : {backwards, bad_cidr}) {
    EXPECT_THAT(Engine().Summary(request), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(Engine().NewServices({}), StatusIs(absl::StatusCode::kInvalidArgument));
}

// A typo is an error that lists the known names, not an empty answer.
TEST_F(QueryTest, UnknownFilterNamesAreInvalidArgumentWithTheKnownChoices) {
  struct Case {
    std::string sensor, server, client, service, message;
  };
  const std::vector<Case> cases = {
      {"nosuch", "", "", "", "unknown sensor 'nosuch'; known: s1, s2"},
      {"", "nosuchhost", "", "", "unknown host 'nosuchhost'; known: dumbo, www"},
      {"", "", "nosuchhost", "", "unknown host 'nosuchhost'; known: dumbo, www"},
      {"", "", "", "nosuchservice", "unknown service 'nosuchservice'; known: "},
  };
  for (const Case& c : cases) {
    synmap::v1::SummaryRequest request;
    request.mutable_filters()->set_sensor(c.sensor);
    request.mutable_filters()->set_server(c.server);
    request.mutable_filters()->set_client(c.client);
    request.mutable_filters()->set_service(c.service);
    absl::StatusOr<synmap::v1::SummaryResponse> response = Engine().Summary(request);
    EXPECT_THAT(response, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(response.status().message()), ::testing::StartsWith(c.message));
    synmap::v1::HostsRequest hosts;
    *hosts.mutable_filters() = request.filters();
    EXPECT_THAT(Engine().Hosts(hosts), StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

TEST_F(QueryTest, TopNZeroIsEveryRowAndLargeTopNIsAccepted) {
  synmap::v1::SummaryRequest request;
  ASSERT_OK_AND_ASSIGN(auto all, Engine().Summary(request));
  EXPECT_EQ(all.rows_size(), 4);
  EXPECT_EQ(all.total_rows(), 4u);
  request.set_top_n(1'000'000);
  ASSERT_OK_AND_ASSIGN(auto big, Engine().Summary(request));
  EXPECT_EQ(big.rows_size(), 4);
  synmap::v1::ServicesRequest services;
  services.set_top_n(1);
  ASSERT_OK_AND_ASSIGN(auto one, Engine().Services(services));
  EXPECT_EQ(one.rows_size(), 1);
  EXPECT_GT(one.total_rows(), 1u);
}

// Without a sensor reporting in the window, "new" and "gone" mean nothing: refused.
TEST_F(QueryTest, NewAndGoneRefuseAWindowNoSensorCovered) {
  synmap::v1::GoneServicesRequest gone;
  gone.mutable_range()->set_since_unix_ns(kT0 + 50 * kHour);
  EXPECT_THAT(Engine().GoneServices(gone), StatusIs(absl::StatusCode::kFailedPrecondition));
  synmap::v1::NewServicesRequest fresh;
  fresh.mutable_range()->set_since_unix_ns(kT0 + 50 * kHour);
  EXPECT_THAT(Engine().NewServices(fresh), StatusIs(absl::StatusCode::kFailedPrecondition));
}

// Regression: labels made on demand while sorting (IP texts) once lived in a flat hash map
// whose rehash invalidated references the sort comparator still held (use-after-free, caught
// by ASan/TSan). Many distinct addresses with equal counts make the comparator compare them.
TEST_F(QueryTest, SortingManyAddressLabelsKeepsThemValid) {
  synmap::v1::Batch b = MakeBatch(2, kT0 + 2 * kHour);
  const int64_t t = kT0 + 2 * kHour + kSecond;
  constexpr int kClients = 3000;
  for (int i = 0; i < kClients; ++i) {
    const std::string client = absl::StrCat("10.1.", i / 250, ".", i % 250 + 1);
    AddRecord(b, client, "10.0.0.1", 22, 1, t);
  }
  ASSERT_OK(store_->Commit("s1", Plain(b)));
  synmap::v1::SummaryRequest request;
  request.set_top_n(100000);
  request.set_show_remote(true);  // 10.1.x.x is not local: show each address.
  request.mutable_range()->set_since_unix_ns(kT0 + 2 * kHour);
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Summary(request));
  ASSERT_EQ(response.rows_size(), kClients);
  // Equal counts: rows are ordered by client label text, and every label is intact.
  for (int i = 1; i < response.rows_size(); ++i) {
    EXPECT_LT(response.rows(i - 1).client(), response.rows(i).client());
    EXPECT_EQ(response.rows(i).client().rfind("10.1.", 0), 0u) << response.rows(i).client();
  }
}

// Connections and packets per "client server service sensor", from a Summary.
using KeyCounts = std::map<std::string, std::pair<uint64_t, uint64_t>>;

KeyCounts SummaryCounts(QueryEngine& engine, int64_t since, int64_t until,
                        synmap::v1::Coverage* coverage = nullptr) {
  synmap::v1::SummaryRequest request;
  request.mutable_range()->set_since_unix_ns(since);
  request.mutable_range()->set_until_unix_ns(until);
  request.set_show_remote(true);
  request.set_by_sensor(true);
  KeyCounts out;
  absl::StatusOr<synmap::v1::SummaryResponse> response = engine.Summary(request);
  EXPECT_OK(response);
  if (!response.ok()) {
    return out;
  }
  for (const auto& row : response->rows()) {
    auto& [connections, packets] =
        out[absl::StrCat(row.client(), " ", row.server(), " ", row.service(), " ", row.sensor())];
    connections += row.connections();
    packets += row.packets();
  }
  if (coverage != nullptr) {
    *coverage = response->coverage();
  }
  return out;
}

void AddTo(KeyCounts& into, const KeyCounts& from) {
  for (const auto& [key, counts] : from) {
    into[key].first += counts.first;
    into[key].second += counts.second;
  }
}

TEST_F(QueryTest, FourQuarterHoursSumExactlyToTheirHourPerKeyAndToTheTruth) {
  // Generated: 2 sensors, 10 s batches over one hour, random keys from a small pool (so keys
  // recur across quarters), random counts and times inside each batch's window.
  std::mt19937 random(20261202);
  const int64_t hour = kT0 + 2 * kHour;
  KeyCounts truth;
  for (const std::string sensor : {"gen-a", "gen-b"}) {
    uint64_t seq = 1;
    for (int64_t start = hour; start < hour + kHour; start += 10 * kSecond) {
      synmap::v1::Batch batch = MakeBatch(seq++, start);
      std::map<std::tuple<int, int, int>, bool> used;
      for (int i = 0; i < 5; ++i) {
        const int client = static_cast<int>(random() % 6);
        const int server = static_cast<int>(random() % 3);
        const int port = 1000 + static_cast<int>(random() % 2);
        if (used[{client, server, port}]) {
          continue;  // One record per key in a batch.
        }
        used[{client, server, port}] = true;
        const uint64_t connections = 1 + random() % 50;
        const uint64_t packets = connections + random() % 5;
        const int64_t at = start + static_cast<int64_t>(random() % 10) * kSecond;
        const std::string client_ip = absl::StrCat("192.0.2.", client + 1);
        const std::string server_ip = absl::StrCat("198.51.100.", server + 1);
        AddRecord(batch, client_ip, server_ip, static_cast<uint32_t>(port), connections, at,
                  packets);
        auto& [c, p] = truth[absl::StrCat(client_ip, " ", server_ip, " up:", port, " ", sensor)];
        c += connections;
        p += packets;
      }
      std::sort(batch.mutable_records()->begin(), batch.mutable_records()->end(),
                [](const synmap::v1::Record& a, const synmap::v1::Record& b) {
                  return std::make_tuple(a.client_ip(), a.server_ip(), a.server_port()) <
                         std::make_tuple(b.client_ip(), b.server_ip(), b.server_port());
                });
      ASSERT_OK(store_->Commit(sensor, Plain(batch)));
    }
  }
  KeyCounts quarters;
  for (int q = 0; q < 4; ++q) {
    const int64_t since = hour + q * 15 * 60 * kSecond;
    AddTo(quarters, SummaryCounts(Engine(), since, since + 15 * 60 * kSecond));
  }
  const KeyCounts whole = SummaryCounts(Engine(), hour, hour + kHour);
  EXPECT_EQ(quarters, whole);
  EXPECT_EQ(whole, truth);
  // Edges inside minutes: widened to the minutes' edges, and said so.
  synmap::v1::Coverage coverage;
  EXPECT_EQ(SummaryCounts(Engine(), hour + 30 * kSecond, hour + kHour - 30 * kSecond, &coverage),
            truth);
  EXPECT_EQ(coverage.requested().since_unix_ns(), hour + 30 * kSecond);
  EXPECT_EQ(coverage.answered().since_unix_ns(), hour);
  EXPECT_EQ(coverage.answered().until_unix_ns(), hour + kHour);
  EXPECT_EQ(coverage.resolution_seconds(), 60);
}

// Two more sensors at sites a and b, which reuse 10.0.0.0/24: the same key at each, and each
// site's own name for 10.0.0.1.
class QuerySitesTest : public QueryEngineTest {
 protected:
  void SetUp() override {
    QueryEngineTest::SetUp();
    names_.Set(Names(std::string(kNames) + "sites:\n  a:\n    hosts:\n      a-gw: [10.0.0.1]\n"
                                           "  b:\n    hosts:\n      b-gw: [10.0.0.1]\n"));
    for (const auto& [sensor, site, connections] :
         {std::tuple<const char*, const char*, uint64_t>{"east", "a", 4}, {"west", "b", 9}}) {
      common::SensorInfo hello;
      hello.site = site;
      ASSERT_OK(store_->RecordHello(sensor, "peer", hello).status());
      synmap::v1::Batch batch = MakeBatch(1, kT0);
      AddRecord(batch, "10.0.0.9", "10.0.0.1", 22, connections, kT0 + kSecond);
      ASSERT_OK(store_->Commit(sensor, Plain(batch)));
    }
  }
};

TEST_F(QuerySitesTest, SummaryKeepsSitesApartWithTheirNames) {
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Summary({}));
  std::vector<std::string> rows;
  for (const auto& row : response.rows()) {
    rows.push_back(absl::StrCat(row.count(), " ", row.site(), " ", row.client(), " ", row.server(),
                                " ", row.service()));
  }
  EXPECT_THAT(rows, ::testing::IsSupersetOf(
                        {"9 b 10.0.0.9 b-gw ssh", "4 a 10.0.0.9 a-gw ssh", "6  _ dumbo ssh"}));
  EXPECT_EQ(rows.size(), 6u) << "4 rows without a site, one per site";
}

TEST_F(QuerySitesTest, SiteFilterKeepsOneSiteAndAnUnknownOneIsRefused) {
  synmap::v1::SummaryRequest request;
  request.mutable_filters()->set_site("a");
  ASSERT_OK_AND_ASSIGN(auto response, Engine().Summary(request));
  ASSERT_EQ(response.rows_size(), 1);
  EXPECT_EQ(response.rows(0).server(), "a-gw");
  ASSERT_EQ(response.coverage().sensors_size(), 1);
  EXPECT_EQ(response.coverage().sensors(0).sensor(), "east");
  request.mutable_filters()->set_server("b-gw");  // Named only at b: nothing at a.
  ASSERT_OK_AND_ASSIGN(response, Engine().Summary(request));
  EXPECT_EQ(response.rows_size(), 0);
  request.mutable_filters()->set_server("");
  request.mutable_filters()->set_site("nosuch");
  const auto refused = Engine().Summary(request);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(refused.status().message(), "unknown site 'nosuch'; known: a, b");
}

TEST_F(QuerySitesTest, HostsHaveOneRowPerSiteAndAddressAndSensorsTheirSite) {
  ASSERT_OK_AND_ASSIGN(auto hosts, Engine().Hosts({}));
  std::vector<std::string> gateways;
  for (const auto& row : hosts.rows()) {
    if (row.ip() == "10.0.0.1") {
      gateways.push_back(absl::StrCat(row.site(), ":", row.name()));
    }
  }
  EXPECT_THAT(gateways, ::testing::UnorderedElementsAre(":dumbo", "a:a-gw", "b:b-gw"));
  ASSERT_OK_AND_ASSIGN(auto sensors, Engine().Sensors({}));
  std::map<std::string, std::string> sites;
  for (const auto& s : sensors.sensors()) {
    sites[s.name()] = s.site();
  }
  EXPECT_EQ(sites, (std::map<std::string, std::string>{
                       {"east", "a"}, {"s1", ""}, {"s2", ""}, {"west", "b"}}));
}

}  // namespace
}  // namespace synmap::collector
