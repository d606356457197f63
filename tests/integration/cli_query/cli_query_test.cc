// The `synmap` query commands end to end: a real synmap-collector (mTLS, SQLite, names file)
// is fed KNOWN batches by two sensors "s1" and "s2"; the built `synmap` binary runs as a
// subprocess with the reader certificate, and its stdout is checked line by line against
// expectations computed here from the records sent (the model below), never from its output.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/integration/cli_query/query_data_set.h"
#include "tests/integration/collector/collector_process.h"
#include "tests/integration/collector/ingest_test_util.h"
#include "tests/testing/temp_dir.h"

namespace synmap::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// --- Running the binary -----------------------------------------------------------------------

struct Result {
  int exit_code = -1;
  std::string out, err;
  std::vector<std::string> OutLines(const std::string& eol = "\n") const { return Lines(out, eol); }
  std::vector<std::string> ErrLines() const { return Lines(err, "\n"); }
  static std::vector<std::string> Lines(const std::string& text, const std::string& eol) {
    std::vector<std::string> lines = absl::StrSplit(text, eol);
    if (!lines.empty() && lines.back().empty()) lines.pop_back();
    return lines;
  }
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `<build>/cli/synmap args...` with exactly `env` as its environment.
Result RunSynmap(const std::vector<std::string>& args, const std::vector<std::string>& env,
                 const TempDir& dir) {
  const std::string binary = BinaryDir() + "/cli/synmap";
  const std::string out_path = dir.File("stdout"), err_path = dir.File("stderr");
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    std::vector<char*> argv = {const_cast<char*>(binary.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  Result result;
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

// A loopback port nothing listens on (bound, read back, closed).
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// --- Fixture: one collector and one data set for the whole suite -----------------------------

class CliQueryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TestPki();
    dir_ = new TempDir();
    if (!pki_->ok()) return;
    collector_ = new FilledCollector(*pki_, *dir_);
    times_ = collector_->times();
    port_ = collector_->port();
    sent_ = collector_->filled();
  }
  static void TearDownTestSuite() {
    delete collector_;
    delete dir_;
    delete pki_;
  }
  void SetUp() override {
    ASSERT_TRUE(pki_->ok()) << "make-certs.sh failed";
    ASSERT_NE(port_, 0) << collector_->Log();
    ASSERT_TRUE(sent_) << "sending the batches failed\n" << collector_->Log();
  }

  // A clean environment: no SYNMAP_* and a HOME without a config file. The sanitizer
  // stages' options (leak suppressions for system libraries) pass through.
  static std::vector<std::string> BaseEnv() {
    std::vector<std::string> env = {"PATH=/usr/bin:/bin", "HOME=" + dir_->path()};
    for (const char* name : {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"}) {
      if (const char* value = getenv(name); value != nullptr) {
        env.push_back(absl::StrCat(name, "=", value));
      }
    }
    return env;
  }
  static std::vector<std::string> ConnFlags(const std::string& as = "r1") {
    const common::TlsFiles f = pki_->Files(as);
    return {"--collector", absl::StrCat("127.0.0.1:", port_),
            "--ca",        f.ca_path,
            "--cert",      f.cert_path,
            "--key",       f.key_path};
  }
  // `synmap command args... <reader connection flags>`.
  Result Synmap(const std::string& command, std::vector<std::string> args,
                const std::string& as = "r1") const {
    args.insert(args.begin(), command);
    for (const std::string& f : ConnFlags(as)) args.push_back(f);
    return RunSynmap(args, BaseEnv(), run_dir_);
  }

  static TestPki* pki_;
  static TempDir* dir_;
  static FilledCollector* collector_;
  static int port_;
  static bool sent_;
  static Times times_;
  TempDir run_dir_;
};

TestPki* CliQueryTest::pki_ = nullptr;
TempDir* CliQueryTest::dir_ = nullptr;
FilledCollector* CliQueryTest::collector_ = nullptr;
int CliQueryTest::port_ = 0;
bool CliQueryTest::sent_ = false;
Times CliQueryTest::times_;

// --- summary ---------------------------------------------------------------------------------

TEST_F(CliQueryTest, SummaryTextIsTheRecipesAlignedColumns) {
  const Result r = Synmap("summary", {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<Row> rows = ExpectedSummary(Query{});
  size_t service_width = 0;
  for (const Row& row : rows) service_width = std::max(service_width, row.service.size());
  std::vector<std::string> expected;
  for (const Row& row : rows) {
    // DESIGN.md's sample: count in 7, client in 15, server in 21, service right-aligned.
    expected.push_back(absl::StrFormat("%7d %-15s %-21s %*s", row.count, row.client, row.server,
                                       static_cast<int>(service_width), row.service));
  }
  EXPECT_THAT(r.OutLines(), ElementsAreArray(expected));
}

TEST_F(CliQueryTest, SummaryTsvCountsConnections) {
  const Result r = Synmap("summary", {"--format", "tsv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(Tsv(ExpectedSummary(Query{}), false)));
  // The coverage goes to stderr in every format but json (which carries it).
  EXPECT_THAT(r.err, StartsWith("coverage: 2 sensor(s), 4 batch(es), "));
}

TEST_F(CliQueryTest, SummaryCsvHasCrlfLines) {
  const Result r = Synmap("summary", {"--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> expected = {"count,client,server,service"};
  for (const Row& row : ExpectedSummary(Query{})) {
    expected.push_back(absl::StrCat(row.count, ",", row.client, ",", row.server, ",", row.service));
  }
  EXPECT_THAT(r.OutLines("\r\n"), ElementsAreArray(expected));
}

TEST_F(CliQueryTest, SummaryJsonHasRowsAndCoverage) {
  const Result r = Synmap("summary", {"--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<Row> rows = ExpectedSummary(Query{});
  const std::vector<std::string> lines = r.OutLines();
  // {, "rows": [, rows..., ], total_rows, coverage, }
  ASSERT_EQ(lines.size(), rows.size() + 6) << r.out;
  EXPECT_EQ(lines[0], "{");
  EXPECT_EQ(lines[1], "  \"rows\": [");
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string& line = lines[2 + i];
    EXPECT_THAT(line, StartsWith(absl::StrCat("  {\"count\": ", rows[i].count, ", \"client\": \"",
                                              rows[i].client, "\", \"server\": \"", rows[i].server,
                                              "\", \"service\": \"", rows[i].service, "\"")));
    EXPECT_THAT(line, HasSubstr(absl::StrCat("\"packets\": ", rows[i].packets,
                                             ", \"connections\": ", rows[i].connections)));
  }
  EXPECT_EQ(lines[2 + rows.size()], "],");
  EXPECT_EQ(lines[3 + rows.size()],
            absl::StrCat("  \"total_rows\": ", rows.size(), ", \"truncated\": false,"));
  const std::string& coverage = lines[4 + rows.size()];
  EXPECT_THAT(coverage, StartsWith("  \"coverage\": {"));
  EXPECT_THAT(coverage, HasSubstr("\"batches\": 4, \"kernel_drops\": 17,"));
  EXPECT_THAT(coverage, HasSubstr("{\"sensor\": \"s1\", \"batches\": 2,"));
  EXPECT_THAT(coverage, HasSubstr("{\"sensor\": \"s2\", \"batches\": 2,"));
  EXPECT_EQ(lines.back(), "}");
}

// DESIGN.md: the sensor key is there only with --by-sensor (it was always emitted, empty).
TEST_F(CliQueryTest, SummaryJsonHasSensorKeyOnlyBySensor) {
  Result r = Synmap("summary", {"--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = r.OutLines();
  ASSERT_GT(lines.size(), 5u);
  for (size_t i = 2; i + 4 < lines.size(); ++i) {
    EXPECT_THAT(lines[i], ::testing::Not(HasSubstr("\"sensor\"")));
  }
  Query q;
  q.by_sensor = true;
  const std::vector<Row> rows = ExpectedSummary(q);
  r = Synmap("summary", {"--format", "json", "--by-sensor"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = r.OutLines();
  ASSERT_EQ(lines.size(), rows.size() + 6) << r.out;
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_THAT(
        lines[2 + i],
        StartsWith(absl::StrCat("  {\"count\": ", rows[i].count, ", \"client\": \"", rows[i].client,
                                "\", \"server\": \"", rows[i].server, "\", \"service\": \"",
                                rows[i].service, "\", \"sensor\": \"", rows[i].sensor, "\"")));
  }
}

TEST_F(CliQueryTest, SummaryJsonRowCarriesPortAndTimes) {
  const Result r = Synmap("summary", {"--format", "json", "--service", "pg"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Rec& pg = Records()[1];
  EXPECT_THAT(r.out,
              HasSubstr(absl::StrCat("\"server_port\": 5432, \"server_ip\": \"10.1.0.10\", "
                                     "\"client_ip\": \"10.1.0.20\", \"packets\": 3, "
                                     "\"connections\": 3, \"first_seen\": \"",
                                     Rfc3339Nanos(times_.FirstNs(pg)), "\", \"last_seen\": \"",
                                     Rfc3339Nanos(times_.LastNs(pg)), "\"}")));
}

TEST_F(CliQueryTest, SummaryCountPackets) {
  Query q;
  q.packets = true;
  const Result r = Synmap("summary", {"--format", "tsv", "--count", "packets"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(Tsv(ExpectedSummary(q), false)));
}

TEST_F(CliQueryTest, SummaryShowRemote) {
  Query q;
  q.show_remote = true;
  const Result r = Synmap("summary", {"--format", "tsv", "--show-remote"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(Tsv(ExpectedSummary(q), false)));
}

TEST_F(CliQueryTest, SummaryBySensor) {
  Query q;
  q.by_sensor = true;
  const Result r = Synmap("summary", {"--format", "tsv", "--by-sensor"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(Tsv(ExpectedSummary(q), true)));
}

TEST_F(CliQueryTest, SummaryEachFilter) {
  struct Case {
    std::string flag, value;
    Query q;
  };
  std::vector<Case> cases(4);
  cases[0] = {"--sensor", "s1", {}};
  cases[0].q.sensor = "s1";
  cases[1] = {"--server", "alpha", {}};
  cases[1].q.server = "alpha";
  cases[2] = {"--client", "beta", {}};
  cases[2].q.client = "beta";
  cases[3] = {"--service", "https", {}};
  cases[3].q.service = "https";
  for (const Case& c : cases) {
    const std::vector<Row> rows = ExpectedSummary(c.q);
    ASSERT_FALSE(rows.empty());
    const Result r = Synmap("summary", {"--format", "tsv", c.flag, c.value});
    ASSERT_EQ(r.exit_code, 0) << c.flag << " " << r.err;
    EXPECT_THAT(r.OutLines(), ElementsAreArray(Tsv(rows, false))) << c.flag;
  }
  // A port number selects the same rows as its service name; an IP the same as its name.
  Query https;
  https.service = "https";
  EXPECT_THAT(Synmap("summary", {"--format", "tsv", "--service", "443"}).OutLines(),
              ElementsAreArray(Tsv(ExpectedSummary(https), false)));
  Query alpha;
  alpha.server = "alpha";
  EXPECT_THAT(Synmap("summary", {"--format", "tsv", "--server", "10.1.0.10"}).OutLines(),
              ElementsAreArray(Tsv(ExpectedSummary(alpha), false)));
}

TEST_F(CliQueryTest, SummarySinceUntilRfc3339) {
  // [H-10h, H) holds slots C and D; [.., H-24h) holds A and B. Slots are hours from the edges,
  // so hour buckets cannot blur them.
  Query recent;
  recent.slots = {kC, kD};
  Result r =
      Synmap("summary", {"--format", "tsv", "--since", Rfc3339(times_.hour - absl::Hours(10)),
                         "--until", Rfc3339(times_.hour)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(Tsv(ExpectedSummary(recent), false)));
  Query old;
  old.slots = {kA, kB};
  r = Synmap("summary", {"--format", "tsv", "--until", Rfc3339(times_.hour - absl::Hours(24))});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(Tsv(ExpectedSummary(old), false)));
  Query b_only;
  b_only.slots = {kB};
  r = Synmap("summary", {"--format", "tsv", "--since", Rfc3339(times_.hour - absl::Hours(60)),
                         "--until", Rfc3339(times_.hour - absl::Hours(40))});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(Tsv(ExpectedSummary(b_only), false)));
}

TEST_F(CliQueryTest, SummarySinceDuration) {
  Query recent;
  recent.slots = {kC, kD};
  const Result r = Synmap("summary", {"--format", "tsv", "--since", "24h"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(Tsv(ExpectedSummary(recent), false)));
  Query all;
  EXPECT_THAT(Synmap("summary", {"--format", "tsv", "--since", "7d"}).OutLines(),
              ElementsAreArray(Tsv(ExpectedSummary(all), false)));
}

TEST_F(CliQueryTest, SummaryTop) {
  const std::vector<Row> all = ExpectedSummary(Query{});
  const std::vector<Row> top(all.begin(), all.begin() + 2);
  Result r = Synmap("summary", {"--format", "tsv", "--top", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(Tsv(top, false)));
  r = Synmap("summary", {"--top", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.OutLines().size(), 2u);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("showing 2 of ", all.size(), " rows")));
}

// --- the map as a graph ---------------------------------------------------------------------

// Runs Graphviz's `dot` on `dot_file`, writing SVG to `svg_file`; true when it accepted it.
bool GraphvizAccepts(const std::string& dot_file, const std::string& svg_file) {
  const std::string command =
      absl::StrCat("dot -Tsvg '", dot_file, "' -o '", svg_file, "' 2>/dev/null");
  return std::system(command.c_str()) == 0;
}

TEST_F(CliQueryTest, SummaryDotIsAGraphOfTheSameRowsThatGraphvizReads) {
  const Result r = Synmap("summary", {"--format", "dot"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("digraph synmap {"));
  EXPECT_THAT(r.err, StartsWith("coverage: 2 sensor(s)"));
  const std::vector<Row> rows = ExpectedSummary(Query{});
  for (const Row& row : rows) {
    // Each server is a cluster, each service a node in it, each row an edge with its count.
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat("label=\"", row.server, "\"; style=rounded")));
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat("label=\"", row.service, "\"];")));
  }
  size_t edges = 0;
  for (const std::string& line : r.OutLines()) {
    edges += absl::StrContains(line, " -> ") ? 1 : 0;
  }
  EXPECT_EQ(edges, rows.size());
  const std::string dot_file = run_dir_.File("map.dot");
  std::ofstream(dot_file) << r.out;
  EXPECT_TRUE(GraphvizAccepts(dot_file, run_dir_.File("map.svg")));
}

TEST_F(CliQueryTest, GraphWritesAnSvgAndCountsWhatItLeftOut) {
  const std::string svg = run_dir_.File("map.svg");
  Result r = Synmap("graph", {"--output", svg, "--max-edges", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = ReadFile(svg);
  EXPECT_THAT(text, HasSubstr("<svg"));
  const std::vector<Row> rows = ExpectedSummary(Query{});
  ASSERT_GT(rows.size(), 2u);
  // The two largest rows are drawn; the note counts the others.
  EXPECT_THAT(text, HasSubstr(rows[0].server));
  EXPECT_THAT(text, HasSubstr(absl::StrCat(rows.size() - 2, " more rows not drawn")));
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("graph: 2 of ", rows.size(), " rows drawn")));
  r = Synmap("graph", {"--output", run_dir_.File("map.txt")});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_THAT(r.err, HasSubstr("does not end in .svg, .png, .pdf or .dot"));
}

// --- diff and check --------------------------------------------------------------------------

// (client, server, service) -> count of the model's summary for `slots`.
std::map<std::tuple<std::string, std::string, std::string>, uint64_t> ModelCounts(
    std::set<int> slots) {
  Query q;
  q.slots = std::move(slots);
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> out;
  for (const Row& r : ExpectedSummary(q)) out[{r.client, r.server, r.service}] = r.count;
  return out;
}

TEST_F(CliQueryTest, DiffListsWhatAppearedDisappearedAndChanged) {
  const std::string h = Rfc3339(times_.hour);
  const std::string old_end = Rfc3339(times_.hour - absl::Hours(24));
  const std::string recent_start = Rfc3339(times_.hour - absl::Hours(10));
  const Result r = Synmap("diff", {"--a", absl::StrCat("..", old_end), "--b",
                                   absl::StrCat(recent_start, "..", h), "--format", "tsv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The model: slots A, B against C, D.
  const auto a = ModelCounts({kA, kB});
  const auto b = ModelCounts({kC, kD});
  std::set<std::string> expected;
  for (const auto& [key, count] : b) {
    const auto& [client, server, service] = key;
    auto it = a.find(key);
    if (it == a.end()) {
      expected.insert(
          absl::StrCat("appeared\t", client, "\t", server, "\t", service, "\t0\t", count, "\t"));
    } else if (std::max(it->second, count) >= 2 * std::min(it->second, count)) {
      expected.insert(absl::StrCat(
          "changed\t", client, "\t", server, "\t", service, "\t", it->second, "\t", count, "\t",
          absl::StrFormat("%.2f", static_cast<double>(count) / static_cast<double>(it->second))));
    }
  }
  for (const auto& [key, count] : a) {
    const auto& [client, server, service] = key;
    if (!b.contains(key)) {
      expected.insert(
          absl::StrCat("disappeared\t", client, "\t", server, "\t", service, "\t", count, "\t0\t"));
    }
  }
  std::vector<std::string> lines = r.OutLines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "change\tclient\tserver\tservice\tcount_a\tcount_b\tfactor");
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(std::set<std::string>(lines.begin() + 1, lines.end()), expected);
  EXPECT_THAT(r.err, HasSubstr("window a: coverage: 2 sensor(s)"));
  EXPECT_THAT(r.err, HasSubstr("window b: coverage: 2 sensor(s)"));
}

TEST_F(CliQueryTest, DiffRefusesAWindowNoSensorCoveredAndBadWindows) {
  Result r = Synmap("diff", {"--a", "2001-01-01..2001-01-02", "--b", "24h.."});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no sensor reported in window a"));
  r = Synmap("diff", {"--a", "24h", "--b", "12h.."});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_THAT(r.err, HasSubstr("--a: '24h' is not SINCE..UNTIL"));
  r = Synmap("diff", {"--a", "48h..24h", "--b", "24h..", "--factor", "1"});
  EXPECT_EQ(r.exit_code, 64);
}

// The local servers' (server, service) pairs of the model in `slots`.
std::set<std::pair<std::string, std::string>> ModelServices(const std::set<int>& slots) {
  std::set<std::pair<std::string, std::string>> out;
  for (const Rec& r : Records()) {
    if (slots.count(r.slot) && !r.server_remote) out.emplace(r.server, r.service);
  }
  return out;
}

TEST_F(CliQueryTest, ExportExpectThenCheckFindsExactlyTheDifferences) {
  const std::string h = Rfc3339(times_.hour);
  const std::string recent_start = Rfc3339(times_.hour - absl::Hours(10));
  const std::string old_end = Rfc3339(times_.hour - absl::Hours(24));
  Result r = Synmap("export", {"--format", "expect", "--since", recent_start, "--until", h});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string expect = run_dir_.File("expect.yaml");
  std::ofstream(expect) << r.out;
  for (const auto& [server, service] : ModelServices({kC, kD})) {
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat("- server: \"", server, "\"\n    service: \"",
                                              service, "\"\n")));
  }
  // The same window: as expected.
  r = Synmap("check", {"--expect", expect, "--since", recent_start, "--until", h});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, StartsWith("as expected: "));
  // The old window against it: what A and B had and C, D did not is unexpected, and the
  // reverse is silent.
  const std::string old_start = Rfc3339(times_.hour - absl::Hours(100));
  r = Synmap("check",
             {"--expect", expect, "--since", old_start, "--until", old_end, "--format", "tsv"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto old_services = ModelServices({kA, kB});
  const auto new_services = ModelServices({kC, kD});
  std::set<std::string> findings;
  for (const auto& [server, service] : old_services) {
    if (!new_services.count({server, service}))
      findings.insert("unexpected\t" + server + "\t" + service);
  }
  for (const auto& [server, service] : new_services) {
    if (!old_services.count({server, service}))
      findings.insert("silent\t" + server + "\t" + service);
  }
  std::set<std::string> got;
  for (const std::string& line : r.OutLines()) {
    const std::vector<std::string> cells = absl::StrSplit(line, '\t');
    if (cells.size() == 5 && cells[0] != "finding")
      got.insert(cells[0] + "\t" + cells[1] + "\t" + cells[2]);
  }
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(got, findings);
  r = Synmap("check", {"--expect", expect, "--since", old_start, "--until", old_end, "--brief"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, StartsWith("SYNMAP CHECK CRITICAL - "));
  EXPECT_EQ(r.OutLines().size(), 1u);
}

TEST_F(CliQueryTest, CheckReportsClientsNotOnAServicesList) {
  const std::string expect = run_dir_.File("clients.yaml");
  // In slot D beta uses alpha's https-alt; only "_" is allowed there.
  std::ofstream(expect) << "services:\n"
                           "  - server: alpha\n    service: https-alt\n    clients: [\"_\"]\n"
                           "  - server: alpha\n    service: ssh\n"
                           "  - server: www\n    service: https\n";
  const Result r = Synmap("check", {"--expect", expect, "--since",
                                    Rfc3339(times_.hour - absl::Hours(3)), "--format", "tsv"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("unexpected_client\talpha\thttps-alt\tbeta\t9"));
  Result bad = Synmap("check", {"--expect", run_dir_.File("missing.yaml")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("cannot read"));
}

// --- coverage footer -------------------------------------------------------------------------

TEST_F(CliQueryTest, FooterNamesSensorsAndListsKernelDrops) {
  const Result r = Synmap("summary", {"--utc"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = r.ErrLines();
  ASSERT_EQ(lines.size(), 3u) << r.err;
  EXPECT_THAT(lines[0], StartsWith("coverage: 2 sensor(s), 4 batch(es), "));
  EXPECT_TRUE(absl::EndsWith(lines[0], " (times in UTC)")) << lines[0];
  const int64_t s1_end = absl::ToUnixNanos(times_.SlotStart(kC) + absl::Minutes(20));
  const int64_t s2_end = absl::ToUnixNanos(times_.SlotStart(kD) + absl::Minutes(20));
  EXPECT_THAT(lines[1], StartsWith(absl::StrCat("  s1: 2 batch(es), last seq 2 ending ",
                                                TextTime(s1_end), " (committed ")));
  EXPECT_TRUE(absl::EndsWith(lines[1], "; nothing lost")) << lines[1];
  EXPECT_THAT(lines[2], StartsWith(absl::StrCat("  s2: 2 batch(es), last seq 2 ending ",
                                                TextTime(s2_end), " (committed ")));
  EXPECT_TRUE(absl::EndsWith(lines[2], "; INCOMPLETE: 17 kernel drops")) << lines[2];
}

TEST_F(CliQueryTest, FooterSaysNothingLostWhenWindowHasNoDrops) {
  const Result r = Synmap("summary", {"--until", Rfc3339(times_.hour - absl::Hours(24))});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = r.ErrLines();
  ASSERT_EQ(lines.size(), 3u) << r.err;
  EXPECT_THAT(lines[0], StartsWith("coverage: 2 sensor(s), 2 batch(es), "));
  EXPECT_THAT(lines[1], StartsWith("  s1: 1 batch(es), last seq 1 "));
  EXPECT_THAT(lines[2], StartsWith("  s2: 1 batch(es), last seq 1 "));
  EXPECT_TRUE(absl::EndsWith(lines[1], "; nothing lost")) << lines[1];
  EXPECT_TRUE(absl::EndsWith(lines[2], "; nothing lost")) << lines[2];
}

// --- new / gone ------------------------------------------------------------------------------

struct Sighting {
  std::string server, service;
  int64_t first = 0, last = 0;
  uint64_t connections = 0;
  std::set<std::string> clients;
};

// (server, service) history over every record, plus counts inside / before `since`.
std::vector<std::string> ExpectedSightings(const Times& t, absl::Time since, bool gone) {
  std::map<std::pair<std::string, std::string>, Sighting> all;
  for (const Rec& r : Records()) {
    Sighting& s = all[{r.server, r.service}];
    s.server = r.server;
    s.service = r.service;
    s.first = s.first == 0 ? t.FirstNs(r) : std::min(s.first, t.FirstNs(r));
    s.last = std::max(s.last, t.LastNs(r));
    const bool inside = t.FirstNs(r) >= absl::ToUnixNanos(since);
    if (inside != gone) {
      s.connections += r.connections;
      s.clients.insert(r.client_ip);
    }
  }
  std::vector<Sighting> rows;
  const int64_t since_ns = absl::ToUnixNanos(since);
  for (auto& [key, s] : all) {
    if (gone ? s.last < since_ns : s.first >= since_ns) rows.push_back(s);
  }
  std::sort(rows.begin(), rows.end(), [gone](const Sighting& a, const Sighting& b) {
    const int64_t ta = gone ? a.last : a.first, tb = gone ? b.last : b.first;
    return std::tie(tb, a.server, a.service) < std::tie(ta, b.server, b.service);
  });
  std::vector<std::string> lines = {
      absl::StrCat(gone ? "last_seen" : "first_seen", "\tserver\tservice\tconnections\tclients")};
  for (const Sighting& s : rows) {
    lines.push_back(absl::StrCat(Rfc3339Nanos(gone ? s.last : s.first), "\t", s.server, "\t",
                                 s.service, "\t", s.connections, "\t", s.clients.size()));
  }
  return lines;
}

TEST_F(CliQueryTest, NewSinceListsExactlyTheNewServices) {
  const absl::Time since = times_.hour - absl::Hours(10);
  const std::vector<std::string> expected = ExpectedSightings(times_, since, /*gone=*/false);
  ASSERT_EQ(expected.size(), 4u);  // https-alt on alpha, https on the v6 host and on "_".
  const Result r = Synmap("new", {"--format", "tsv", "--since", Rfc3339(since)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(expected));
}

TEST_F(CliQueryTest, GoneSinceListsExactlyTheSilentServices) {
  const absl::Time since = times_.hour - absl::Hours(10);
  const std::vector<std::string> expected = ExpectedSightings(times_, since, /*gone=*/true);
  ASSERT_EQ(expected.size(), 3u);  // pg on alpha, up:50123 on 10.1.0.40.
  const Result r = Synmap("gone", {"--format", "tsv", "--since", Rfc3339(since)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(expected));
}

// --- export ----------------------------------------------------------------------------------

struct ExportRow {
  std::string ip, server, service;
  uint32_t port = 0;
  uint64_t connections = 0;
  std::set<std::string> clients;
  bool v6 = false;
};

std::vector<ExportRow> ExpectedExport(uint64_t min_connections) {
  std::map<std::pair<std::string, uint32_t>, ExportRow> rows;  // key: address bytes, port
  for (const Rec& r : Records()) {
    if (r.server_remote) continue;  // Only local servers are exported.
    ExportRow& row = rows[{IpBytes(r.server_ip), r.port}];
    row.ip = r.server_ip;
    row.server = r.server;
    row.service = r.service;
    row.port = r.port;
    row.connections += r.connections;
    row.clients.insert(r.client_ip);
    row.v6 = r.server_ip.find(':') != std::string::npos;
  }
  std::vector<ExportRow> out;
  for (auto& [key, row] : rows) {
    if (row.connections >= min_connections) out.push_back(row);
  }
  return out;
}

std::string Comment(const ExportRow& r) {
  return absl::StrCat("\"", r.server, " ", r.service, ": ", r.connections, " connections from ",
                      r.clients.size(), " clients\"");
}

// The rule lines of `out` (not comments, not structure).
std::vector<std::string> RuleLines(const std::string& out, absl::string_view marker) {
  std::vector<std::string> rules;
  for (const std::string& line : Result::Lines(out, "\n")) {
    if (absl::StrContains(line, marker)) rules.push_back(line);
  }
  return rules;
}

TEST_F(CliQueryTest, ExportNftables) {
  for (uint64_t min : {1, 6}) {
    std::vector<std::string> expected;
    for (bool v6 : {false, true}) {
      for (const ExportRow& row : ExpectedExport(min)) {
        if (row.v6 != v6) continue;
        expected.push_back(absl::StrCat("  ", row.ip, " . ", row.port, " comment ", Comment(row)));
      }
    }
    // Elements are separated by ",": drop it to compare the element lines.
    const Result r =
        Synmap("export", {"--format", "nftables", "--min-connections", absl::StrCat(min)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> elements = RuleLines(r.out, " comment \"");
    for (std::string& e : elements) {
      if (absl::EndsWith(e, ",")) e.pop_back();
    }
    EXPECT_THAT(elements, ElementsAreArray(expected)) << "min " << min;
    EXPECT_THAT(r.out, HasSubstr("table inet filter {\n  set synmap_allow_v4 {\n"));
    EXPECT_THAT(r.out, HasSubstr("add rule inet filter synmap_allow ip6 daddr . tcp dport "
                                 "@synmap_allow_v6 accept\n"));
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat("each seen with at least ", min, " connection(s)")));
    EXPECT_THAT(r.out, HasSubstr("# 2 sensor(s) reported in it:\n#   s1: 2 batch(es)"));
  }
}

// --nft-table FAMILY NAME puts the chain and sets in the user's table; an ip table holds only
// the IPv4 services and says how many IPv6 ones it left out.
TEST_F(CliQueryTest, ExportNftablesIntoTheUsersTable) {
  const Result r = Synmap("export", {"--nft-table", "ip", "fw"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("table ip fw {\n  set synmap_allow_v4 {\n"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("synmap_allow_v6")));
  EXPECT_THAT(r.err, HasSubstr("export: 1 IPv6 service(s) not in this format"));
  EXPECT_EQ(Synmap("export", {"--nft-table", "bridge", "fw"}).exit_code, 64);
}

// An empty allow-list loaded into a default-drop firewall blocks everything: refused, one
// line, exit 2, unless --allow-empty.
TEST_F(CliQueryTest, ExportRefusesAnEmptyAllowList) {
  Result r = Synmap("export", {"--since", "1h"});  // No sensor reported in the last hour.
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  ASSERT_EQ(r.ErrLines().size(), 1u) << r.err;
  EXPECT_THAT(r.err, HasSubstr("synmap export: no sensor reported in this window"));
  r = Synmap("export", {"--format", "iptables", "--min-connections", "1000"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  ASSERT_EQ(r.ErrLines().size(), 1u) << r.err;
  EXPECT_THAT(r.err, HasSubstr("synmap export: no service qualifies"));
  r = Synmap("export", {"--since", "1h", "--allow-empty"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("# 0 sensor(s) reported in it:"));
  EXPECT_THAT(r.out, HasSubstr("# 0 rule(s)"));
}

TEST_F(CliQueryTest, ExportIptablesAndIp6tables) {
  for (bool v6 : {false, true}) {
    for (uint64_t min : {1, 6}) {
      std::vector<std::string> expected;
      for (const ExportRow& row : ExpectedExport(min)) {
        if (row.v6 != v6) continue;
        expected.push_back(absl::StrCat("-A SYNMAP_ALLOW -d ", row.ip, v6 ? "/128" : "/32",
                                        " -p tcp -m tcp --dport ", row.port,
                                        " -m comment --comment ", Comment(row), " -j ACCEPT"));
      }
      const Result r = Synmap("export", {"--format", v6 ? "ip6tables" : "iptables",
                                         "--min-connections", absl::StrCat(min)});
      if (expected.empty()) {  // The one IPv6 service has 5 connections: an empty list.
        EXPECT_EQ(r.exit_code, 2) << r.out;
        EXPECT_THAT(r.err, HasSubstr("no service qualifies"));
        continue;
      }
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_THAT(RuleLines(r.out, "-A SYNMAP_ALLOW"), ElementsAreArray(expected))
          << (v6 ? "ip6tables" : "iptables") << " min " << min;
      EXPECT_THAT(r.out, HasSubstr("*filter\n:SYNMAP_ALLOW - [0:0]\n"));
      EXPECT_THAT(r.out, HasSubstr("# 2 sensor(s) reported in it:"));
      EXPECT_TRUE(absl::EndsWith(r.out, "COMMIT\n"));
    }
  }
  // The IPv4 format says how many IPv6 services it left out (one: 2001:db8:10::5 port 443).
  const Result r = Synmap("export", {"--format", "iptables"});
  EXPECT_THAT(r.err, HasSubstr("export: 1 IPv6 service(s) not in this format"));
}

TEST_F(CliQueryTest, ExportCsv) {
  for (uint64_t min : {1, 6}) {
    std::vector<std::string> expected = {
        "server_ip,server_port,protocol,connections,clients,server,service"};
    for (const ExportRow& row : ExpectedExport(min)) {
      expected.push_back(absl::StrCat(row.ip, ",", row.port, ",tcp,", row.connections, ",",
                                      row.clients.size(), ",", row.server, ",", row.service));
    }
    const Result r = Synmap("export", {"--format", "csv", "--min-connections", absl::StrCat(min)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.OutLines("\r\n"), ElementsAreArray(expected)) << "min " << min;
  }
}

// --- inventories -----------------------------------------------------------------------------

TEST_F(CliQueryTest, HostsTsv) {
  struct Host {
    std::string ip, name;
    uint64_t served = 0, made = 0;
    std::set<std::string> services;
  };
  std::map<std::string, Host> hosts;
  for (const Rec& r : Records()) {
    if (!r.server_remote) {
      Host& h = hosts[r.server_ip];
      h.ip = r.server_ip;
      h.name = r.server;
      h.served += r.connections;
      h.services.insert(r.service);
    }
    if (!r.client_remote) {
      Host& h = hosts[r.client_ip];
      h.ip = r.client_ip;
      h.name = r.client;
      h.made += r.connections;
    }
  }
  std::vector<Host> rows;
  for (auto& [ip, h] : hosts) rows.push_back(h);
  std::sort(rows.begin(), rows.end(), [](const Host& a, const Host& b) {
    return std::make_tuple(b.served + b.made, a.name, a.ip) <
           std::make_tuple(a.served + a.made, b.name, b.ip);
  });
  std::vector<std::string> expected = {
      "host\thost_ip\tconnections_served\tconnections_made\tservices"};
  for (const Host& h : rows) {
    expected.push_back(absl::StrCat(h.name, "\t", h.ip, "\t", h.served, "\t", h.made, "\t",
                                    absl::StrJoin(h.services, ",")));
  }
  const Result r = Synmap("hosts", {"--format", "tsv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(expected));
}

TEST_F(CliQueryTest, ServicesTsv) {
  struct Service {
    std::string name;
    uint32_t port = 0;
    std::set<std::string> servers, clients;
    uint64_t connections = 0;
  };
  std::map<std::string, Service> services;
  for (const Rec& r : Records()) {
    Service& s = services[r.service];
    s.name = r.service;
    s.port = r.port;
    s.servers.insert(r.server_ip);
    s.clients.insert(r.client_ip);
    s.connections += r.connections;
  }
  std::vector<Service> rows;
  for (auto& [name, s] : services) rows.push_back(s);
  std::sort(rows.begin(), rows.end(), [](const Service& a, const Service& b) {
    return std::tie(b.connections, a.name) < std::tie(a.connections, b.name);
  });
  std::vector<std::string> expected = {"service\tport\tservers\tclients\tconnections"};
  for (const Service& s : rows) {
    expected.push_back(absl::StrCat(s.name, "\t", s.port, "\t", s.servers.size(), "\t",
                                    s.clients.size(), "\t", s.connections));
  }
  const Result r = Synmap("services", {"--format", "tsv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(expected));
}

TEST_F(CliQueryTest, SensorsTsv) {
  const Result r = Synmap("sensors", {"--format", "tsv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = r.OutLines();
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0],
            "sensor\tstate\tlast_batch\tlast_seq\tbatches\tpackets\tsynacks\tkernel_drops\t"
            "interface_drops\tmalformed\tspool_backlog\tspool_dropped\tstatus\toverlap\t"
            "cert_expires");
  for (const std::string& sensor : {std::string("s1"), std::string("s2")}) {
    uint64_t synacks = 0, batches = 0, drops = 0;
    for (int slot = 0; slot < 4; ++slot) {
      if (kSlots[slot].sensor != sensor) continue;
      ++batches;
      drops += kSlots[slot].kernel_drops;
      for (const Rec& rec : Records()) synacks += rec.slot == slot ? rec.packets : 0;
    }
    const std::vector<std::string> f = absl::StrSplit(lines[sensor == "s1" ? 1 : 2], '\t');
    ASSERT_EQ(f.size(), 15u) << lines[1];
    EXPECT_EQ(f[13], "") << "no handshake fingerprints in the fixture, so no overlap";
    // The end of the sensor's certificate (make-certs.sh: 825 days), from its verified Hello.
    EXPECT_TRUE(absl::EndsWith(f[14], "Z") && f[14].size() == 20 && f[14] > f[2]) << f[14];
    EXPECT_EQ(f[0], sensor);
    EXPECT_EQ(f[1], "disconnected");  // The streams were closed after sending.
    // Machine formats carry absolute times (RFC 3339), never "6m ago".
    EXPECT_TRUE(absl::EndsWith(f[2], "Z") && f[2].size() >= 20 && f[2][10] == 'T') << f[2];
    EXPECT_EQ(f[3], "2");
    EXPECT_EQ(f[4], absl::StrCat(batches));
    EXPECT_EQ(f[5], absl::StrCat(synacks + batches * kExtraPacketsPerBatch));
    EXPECT_EQ(f[6], absl::StrCat(synacks));
    EXPECT_EQ(f[7], absl::StrCat(drops));
    EXPECT_EQ(f[8], "0");
    EXPECT_EQ(f[9], "0");
    EXPECT_EQ(f[10], "0");
    EXPECT_EQ(f[11], "0");
    EXPECT_EQ(f[12], drops > 0 ? "dropping packets,not connected" : "not connected");
  }
}

// --- honest answers: unknown names, uncovered windows, times, nulls ---------------------------

TEST_F(CliQueryTest, UnknownFilterNamesFailWithTheKnownChoices) {
  struct Case {
    std::string command, flag, value, message;
  };
  const std::vector<Case> cases = {
      {"summary", "--sensor", "nosuch", "unknown sensor 'nosuch'; known: s1, s2"},
      {"summary", "--server", "nosuchhost", "unknown host 'nosuchhost'; known: alpha, beta, www"},
      {"summary", "--client", "nosuchhost", "unknown host 'nosuchhost'; known: alpha, beta, www"},
      {"summary", "--service", "nosuchservice",
       "unknown service 'nosuchservice'; known: https, https-alt, pg, ssh, up:50123"},
      {"new", "--sensor", "nosuch", "unknown sensor 'nosuch'; known: s1, s2"},
      {"gone", "--server", "nosuchhost", "unknown host 'nosuchhost'"},
      {"hosts", "--sensor", "nosuch", "unknown sensor 'nosuch'"},
      {"services", "--service", "nosuchservice", "unknown service 'nosuchservice'"},
      {"export", "--sensor", "nosuch", "unknown sensor 'nosuch'"},
  };
  for (const Case& c : cases) {
    const Result r = Synmap(c.command, {c.flag, c.value, "--since", "7d"});
    EXPECT_EQ(r.exit_code, 2) << c.command << " " << c.flag;
    EXPECT_EQ(r.out, "") << c.command << " " << c.flag;
    const std::vector<std::string> lines = r.ErrLines();
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_THAT(lines[0], StartsWith(absl::StrCat("synmap ", c.command, ": ", c.message)));
  }
  // Addresses, networks, "_" and port numbers are not names: they just select.
  EXPECT_EQ(Synmap("summary", {"--server", "192.0.2.1"}).exit_code, 0);
  EXPECT_EQ(Synmap("summary", {"--client", "_", "--service", "9"}).exit_code, 0);
}

// `gone --since 1h` with no sensor reporting used to list every service as gone.
TEST_F(CliQueryTest, NewAndGoneRefuseAWindowNoSensorCovered) {
  for (const std::string command : {"new", "gone"}) {
    const Result r = Synmap(command, {"--since", "1h"});
    EXPECT_EQ(r.exit_code, 2) << command;
    EXPECT_EQ(r.out, "") << command;
    const std::vector<std::string> lines = r.ErrLines();
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_THAT(lines[0], StartsWith(absl::StrCat("synmap ", command, ": no sensor reported")));
  }
  // A sensor filter narrows the coverage too: s1 last reported six hours ago.
  const Result r = Synmap("gone", {"--since", "4h", "--sensor", "s1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no sensor named 's1' reported"));
}

TEST_F(CliQueryTest, TopCutIsStatedInEveryFormat) {
  const size_t all = ExpectedSummary(Query{}).size();
  Result r = Synmap("summary", {"--format", "json", "--top", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("\"total_rows\": ", all, ", \"truncated\": true")));
  r = Synmap("summary", {"--format", "csv", "--top", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.OutLines("\r\n").size(), 3u);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("showing 2 of ", all, " rows")));
  r = Synmap("hosts", {"--format", "tsv", "--top", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.OutLines().size(), 2u);
  EXPECT_THAT(r.err, HasSubstr("showing 1 of "));
}

// Every time form `synmap --help` shows is accepted by the query commands.
TEST_F(CliQueryTest, EveryTimeExampleInHelpIsAccepted) {
  const Result help = RunSynmap({"--help"}, BaseEnv(), run_dir_);
  ASSERT_EQ(help.exit_code, 0);
  const size_t at = help.out.find("e.g. ");
  ASSERT_NE(at, std::string::npos) << help.out;
  std::vector<std::string> examples;
  for (const absl::string_view part : absl::StrSplit(help.out.substr(at), '\'')) {
    examples.emplace_back(part);
  }
  std::vector<std::string> quoted;
  for (size_t i = 1; i < examples.size(); i += 2) quoted.push_back(examples[i]);
  ASSERT_GE(quoted.size(), 6u) << help.out;
  for (const std::string& example : quoted) {
    const Result r = Synmap("summary", {"--format", "tsv", "--since", example});
    EXPECT_EQ(r.exit_code, 0) << example << ": " << r.err;
    const Result u = Synmap("summary", {"--format", "tsv", "--utc", "--until", example});
    EXPECT_EQ(u.exit_code, 0) << example << ": " << u.err;
  }
  EXPECT_THAT(help.out, HasSubstr("Exit status: 0 "));
}

TEST_F(CliQueryTest, JsonNullsAreNullAndTimesAbsolute) {
  const Result r = Synmap("sensors", {"--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"last_heartbeat\": null"));  // The test sensors sent none.
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("\"null\"")));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr(" ago\"")));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr(".000000000Z")));
}

// A map of more than 100,000 rows comes out complete in tsv, csv and json (it used to stop
// silently at 1,000), from a collector of its own so the other tests' data stays small.
TEST_F(CliQueryTest, MachineFormatsAreCompleteBeyondAHundredThousandRows) {
  constexpr int kClients = 50'001, kPorts = 2;  // 100,002 (client, server, service) rows.
  TempDir dir;
  std::ofstream(dir.File("names.yaml")) << "local_networks: [10.0.0.0/8]\n";
  const common::TlsFiles col = pki_->Files("col");
  CollectorProcess big(CollectorBinary(), {"--listen", "127.0.0.1:0", "--db", dir.File("big.db"),
                                           "--names", dir.File("names.yaml"), "--ca", col.ca_path,
                                           "--cert", col.cert_path, "--key", col.key_path});
  const int port = big.WaitForPort();
  ASSERT_NE(port, 0) << big.Log();
  const absl::Time start = times_.hour - absl::Hours(3);
  {
    SensorStream stream(pki_->Channel(port, "s1"));
    ASSERT_TRUE(stream.SendHello());
    ASSERT_TRUE(stream.Receive().has_value());
    constexpr int kBatches = 4;
    for (int b = 0; b < kBatches; ++b) {
      synmap::v1::Batch batch;
      batch.set_seq(b + 1);
      batch.set_start_unix_ns(absl::ToUnixNanos(start + absl::Minutes(10 * b)));
      batch.set_end_unix_ns(absl::ToUnixNanos(start + absl::Minutes(10 * b + 10)));
      for (int c = b; c < kClients; c += kBatches) {
        for (int p = 0; p < kPorts; ++p) {
          synmap::v1::Record* rec = batch.add_records();
          const std::string client = absl::StrCat("10.2.", c / 256, ".", c % 256);
          rec->set_client_ip(IpBytes(client));
          rec->set_server_ip(IpBytes("10.3.0.1"));
          rec->set_server_port(50000 + p);
          rec->set_packets(1);
          rec->set_connections(1);
          rec->set_first_seen_unix_ns(batch.start_unix_ns() + kSecondNs);
          rec->set_last_seen_unix_ns(batch.start_unix_ns() + kSecondNs);
        }
      }
      batch.mutable_stats()->set_synacks(batch.records_size());
      ASSERT_TRUE(stream.SendBatch(batch));
      std::optional<synmap::v1::CollectorMessage> ack = stream.Receive();
      ASSERT_TRUE(ack.has_value() && ack->has_ack()) << big.Log();
    }
    ASSERT_TRUE(stream.Close().ok());
  }
  const common::TlsFiles f = pki_->Files("r1");
  auto run = [&](const std::string& format) {
    return RunSynmap(
        {"summary", "--format", format, "--collector", absl::StrCat("127.0.0.1:", port), "--ca",
         f.ca_path, "--cert", f.cert_path, "--key", f.key_path},
        BaseEnv(), run_dir_);
  };
  const size_t rows = size_t{kClients} * kPorts;
  Result r = run("tsv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = r.OutLines();
  ASSERT_EQ(lines.size(), rows + 1);
  EXPECT_EQ(std::set<std::string>(lines.begin(), lines.end()).size(), rows + 1) << "duplicates";
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("showing")));
  r = run("csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.OutLines("\r\n").size(), rows + 1);
  r = run("json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = r.OutLines();
  ASSERT_EQ(lines.size(), rows + 6);
  EXPECT_EQ(lines[rows + 3], absl::StrCat("  \"total_rows\": ", rows, ", \"truncated\": false,"));
  // Text keeps a readable default and says what it left out.
  r = run("text");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.OutLines().size(), 1000u);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("showing 1000 of ", rows, " rows")));
}

// --- errors and connection settings ----------------------------------------------------------

TEST_F(CliQueryTest, CollectorNotRunningIsOneLineAndExit2) {
  const int port = ClosedPort();
  const common::TlsFiles f = pki_->Files("r1");
  const Result r =
      RunSynmap({"summary", "--collector", absl::StrCat("127.0.0.1:", port), "--ca", f.ca_path,
                 "--cert", f.cert_path, "--key", f.key_path, "--timeout", "10s"},
                BaseEnv(), run_dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  const std::vector<std::string> lines = r.ErrLines();
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_THAT(lines[0],
              HasSubstr(absl::StrCat("cannot reach collector at 127.0.0.1:", port, ": ")));
}

TEST_F(CliQueryTest, SensorCertificateIsRejected) {
  const Result r = Synmap("summary", {}, /*as=*/"s1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  const std::vector<std::string> lines = r.ErrLines();
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_THAT(lines[0], HasSubstr("certificate rejected: "));
}

// A collector certificate from another CA: one line naming the TLS handshake, exit 2 (gRPC's
// own "Handshake failed" log line used to precede it on stderr).
TEST_F(CliQueryTest, WrongCaIsOneLineAndExit2) {
  const common::TlsFiles f = pki_->Files("r1");
  const common::TlsFiles other = pki_->Files("s1", /*other_ca=*/true);
  const Result r = RunSynmap({"summary", "--collector", absl::StrCat("127.0.0.1:", port_), "--ca",
                              other.ca_path, "--cert", f.cert_path, "--key", f.key_path},
                             BaseEnv(), run_dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  const std::vector<std::string> lines = r.ErrLines();
  ASSERT_EQ(lines.size(), 1u) << r.err;
  // The CLI makes its own handshake to say which side's certificate is the problem.
  EXPECT_THAT(lines[0], HasSubstr(absl::StrCat("collector at 127.0.0.1:", port_, ": ")));
  EXPECT_THAT(lines[0], HasSubstr("the collector's certificate does not verify against this CA"));
}

TEST_F(CliQueryTest, MissingCollectorSaysSo) {
  const common::TlsFiles f = pki_->Files("r1");
  const Result r =
      RunSynmap({"summary", "--ca", f.ca_path, "--cert", f.cert_path, "--key", f.key_path},
                BaseEnv(), run_dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--collector"));
  EXPECT_THAT(r.err, HasSubstr("SYNMAP_COLLECTOR"));
}

TEST_F(CliQueryTest, BadSinceIsUsageError) {
  const Result r = Synmap("summary", {"--since", "yesterday-ish"});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_THAT(r.err, HasSubstr("--since"));
  EXPECT_EQ(r.out, "");
}

TEST_F(CliQueryTest, ConfigFileAndEnvironmentArePickedUpFlagsWin) {
  const common::TlsFiles f = pki_->Files("r1");
  const std::string good = absl::StrCat("127.0.0.1:", port_);
  const std::string dead = absl::StrCat("127.0.0.1:", ClosedPort());
  const std::vector<std::string> expected = Tsv(ExpectedSummary(Query{}), false);
  auto write_config = [&](const std::string& collector) {
    std::ofstream(run_dir_.File("cli.yaml"))
        << "collector: \"" << collector << "\"\nca: " << f.ca_path << "\ncert: " << f.cert_path
        << "\nkey: " << f.key_path << "\ntimeout: 10s\n";
  };
  // Config file only.
  write_config(good);
  Result r = RunSynmap({"summary", "--format", "tsv", "--config", run_dir_.File("cli.yaml")},
                       BaseEnv(), run_dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(expected));
  // Environment only.
  std::vector<std::string> env = BaseEnv();
  env.push_back("SYNMAP_COLLECTOR=" + good);
  env.push_back("SYNMAP_CA=" + f.ca_path);
  env.push_back("SYNMAP_CERT=" + f.cert_path);
  env.push_back("SYNMAP_KEY=" + f.key_path);
  r = RunSynmap({"summary", "--format", "tsv"}, env, run_dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(expected));
  // Environment beats the config file ($SYNMAP_CONFIG names it).
  write_config(dead);
  std::vector<std::string> env_and_file = env;
  env_and_file.push_back("SYNMAP_CONFIG=" + run_dir_.File("cli.yaml"));
  r = RunSynmap({"summary", "--format", "tsv"}, env_and_file, run_dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(expected));
  // The flag beats the environment, in both directions.
  std::vector<std::string> dead_env = BaseEnv();
  dead_env.push_back("SYNMAP_COLLECTOR=" + dead);
  dead_env.push_back("SYNMAP_CA=" + f.ca_path);
  dead_env.push_back("SYNMAP_CERT=" + f.cert_path);
  dead_env.push_back("SYNMAP_KEY=" + f.key_path);
  r = RunSynmap({"summary", "--format", "tsv", "--collector", good}, dead_env, run_dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.OutLines(), ElementsAreArray(expected));
  r = RunSynmap({"summary", "--format", "tsv", "--collector", dead, "--timeout", "10s"}, env,
                run_dir_);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("cannot reach collector at ", dead)));
}

}  // namespace
}  // namespace synmap::testing
