// Runs the built `synmap summarize` binary on captures written here (libpcap's
// pcap_dump_open for pcap, a byte writer for pcapng) and on the shared corpus, and checks
// every output format against the truth the test built.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/testing/packet_builder.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/common/pcapfile/capture_bytes.h"

namespace synmap::cli {
namespace {

using ::synmap::testing::kTcpAck;
using ::synmap::testing::kTcpSyn;
using ::synmap::testing::kTcpSynAck;
using ::synmap::testing::PacketBuilder;
using ::synmap::testing::PcapngWriter;
using ::synmap::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kSecond = 1'000'000'000;
// 1700000000 s is 2023-11-14T22:13:20Z.
constexpr int64_t kT0 = 1'700'000'000 * kSecond;

// $SYNMAP_BINARY_DIR/cli/synmap, else found from this test's own path
// (<build>/tests/integration/summarize/summarize_test).
std::string SynmapBinary() {
  const char* dir = std::getenv("SYNMAP_BINARY_DIR");
  if (dir != nullptr) {
    return std::string(dir) + "/cli/synmap";
  }
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  return (self.parent_path().parent_path().parent_path().parent_path() / "cli" / "synmap").string();
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal.
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs synmap with `args`; stdin from `stdin_path` (or /dev/null).
RunResult RunSynmap(const std::vector<std::string>& args,
                    const std::string& stdin_path = "/dev/null") {
  TempDir dir;
  const std::string out_path = dir.File("out");
  const std::string err_path = dir.File("err");
  const std::string binary = SynmapBinary();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int in = open(stdin_path.c_str(), O_RDONLY);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  RunResult r;
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  r.out = ReadText(out_path);
  r.err = ReadText(err_path);
  return r;
}

struct Frame {
  int64_t timestamp_ns;
  std::vector<uint8_t> bytes;
};

// Writes an Ethernet pcap with libpcap's own writer.
void WritePcap(const std::string& path, const std::vector<Frame>& frames, bool nanos) {
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(
      DLT_EN10MB, 65535, nanos ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(dumper, nullptr) << pcap_geterr(dead);
  for (const Frame& f : frames) {
    struct pcap_pkthdr hdr = {};
    hdr.ts.tv_sec = f.timestamp_ns / kSecond;
    hdr.ts.tv_usec = (f.timestamp_ns % kSecond) / (nanos ? 1 : 1000);
    hdr.caplen = static_cast<uint32_t>(f.bytes.size());
    hdr.len = hdr.caplen;
    pcap_dump(reinterpret_cast<u_char*>(dumper), &hdr, f.bytes.data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
}

std::vector<uint8_t> SynAck4(const char* server, uint16_t server_port, const char* client,
                             uint16_t client_port, uint32_t isn) {
  return PacketBuilder()
      .Ethernet()
      .Ipv4(server, client)
      .Tcp(server_port, client_port, kTcpSynAck, isn)
      .Build();
}

// The scenario (server -> client SYN/ACKs) and its truth after naming with kNames:
//   web:80    -> 203.0.113.9 (retransmitted once), 203.0.113.10   => "_ web http" 2 conn, 3 pkt
//   web:22    -> dumbo                                               => "dumbo web ssh" 1, 1
//   10.0.0.2:8443 -> dumbo x3 (one retransmitted in the second file) => "dumbo 10.0.0.2
//                                                                        https-alt" 3, 4
//   198.51.100.7:25 -> dumbo                                         => "dumbo _ smtp" 1, 1
//   [2001:db8::1]:40123 -> 2001:db8::2                               => "_ _ up:40123" 1, 1
// plus a SYN, an ACK, a UDP datagram and a truncated frame (malformed), none counted.
// Totals: 14 packets, 10 SYN/ACKs, 2 retransmissions, 1 malformed.
constexpr char kNames[] =
    "local_networks: [10.0.0.0/24]\n"
    "hosts:\n"
    "  web: [10.0.0.1]\n"
    "  dumbo: [10.0.0.5]\n"
    "services:\n"
    "  80: http\n"
    "  22: ssh\n"
    "  25: smtp\n"
    "  8443: https-alt\n";

class SummarizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    names_ = dir_.File("names.yaml");
    std::ofstream(names_) << kNames;
    first_ = dir_.File("first.pcap");
    second_ = dir_.File("second.pcapng");
    std::vector<uint8_t> truncated = SynAck4("10.0.0.1", 80, "203.0.113.99", 1, 1);
    truncated.resize(30);  // Ends inside the IPv4 header.
    WritePcap(first_,
              {
                  {kT0 + 123'456'789, SynAck4("10.0.0.1", 80, "203.0.113.9", 50001, 100)},
                  {kT0 + 1 * kSecond, SynAck4("10.0.0.1", 80, "203.0.113.9", 50001, 100)},
                  {kT0 + 2 * kSecond, SynAck4("10.0.0.1", 80, "203.0.113.10", 50002, 200)},
                  {kT0 + 3 * kSecond, SynAck4("10.0.0.1", 22, "10.0.0.5", 50003, 300)},
                  {kT0 + 4 * kSecond, PacketBuilder()
                                          .Ethernet()
                                          .Ipv4("10.0.0.5", "10.0.0.1")
                                          .Tcp(50003, 22, kTcpSyn, 1)
                                          .Build()},
                  {kT0 + 5 * kSecond, PacketBuilder()
                                          .Ethernet()
                                          .Ipv4("10.0.0.5", "10.0.0.1")
                                          .Tcp(50003, 22, kTcpAck, 2)
                                          .Build()},
                  {kT0 + 6 * kSecond,
                   PacketBuilder().Ethernet().Ipv4("10.0.0.5", "10.0.0.1").Udp(53, 53).Build()},
                  {kT0 + 7 * kSecond, truncated},
                  {kT0 + 8 * kSecond, SynAck4("10.0.0.2", 8443, "10.0.0.5", 40001, 400)},
              },
              /*nanos=*/true);
    PcapngWriter w(/*big_endian=*/false);
    w.Section();
    w.Interface(1, 0, /*tsresol=*/9);
    auto epb = [&](int64_t t, const std::vector<uint8_t>& frame) {
      w.Enhanced(0, static_cast<uint64_t>(t), frame, static_cast<uint32_t>(frame.size()));
    };
    // Retransmission of the first file's last handshake: a packet, not a connection.
    epb(kT0 + 9 * kSecond, SynAck4("10.0.0.2", 8443, "10.0.0.5", 40001, 400));
    epb(kT0 + 10 * kSecond, SynAck4("10.0.0.2", 8443, "10.0.0.5", 40002, 401));
    epb(kT0 + 11 * kSecond, SynAck4("10.0.0.2", 8443, "10.0.0.5", 40003, 402));
    epb(kT0 + 12 * kSecond, SynAck4("198.51.100.7", 25, "10.0.0.5", 50010, 500));
    epb(kT0 + 13 * kSecond, PacketBuilder()
                                .Ethernet()
                                .Ipv6("2001:db8::1", "2001:db8::2")
                                .Tcp(40123, 50020, kTcpSynAck, 600)
                                .Build());
    w_bytes_ = w.bytes();
    ::synmap::testing::WriteFile(second_, w_bytes_);
  }

  TempDir dir_;
  std::string names_;
  std::string first_;
  std::string second_;
  std::vector<uint8_t> w_bytes_;
};

TEST_F(SummarizeTest, TextOutputIsTheRecipesAlignedColumnsWithFooter) {
  RunResult r = RunSynmap({"summarize", "--names", names_, first_, second_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "      3 dumbo           10.0.0.2              https-alt\n"
            "      2 _               web                        http\n"
            "      1 _               _                      up:40123\n"
            "      1 dumbo           _                          smtp\n"
            "      1 dumbo           web                         ssh\n");
  EXPECT_THAT(r.err, HasSubstr("2 of 2 file(s) read to the end, 14 packets, 10 SYN/ACKs "
                               "(2 retransmissions), 1 malformed"));
}

TEST_F(SummarizeTest, CountPacketsShowRemoteAndSortByName) {
  RunResult r = RunSynmap({"summarize", "--names=" + names_, "--count", "packets", "--show-remote",
                           "--sort", "name", "--format", "tsv", first_, second_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "count\tclient\tserver\tservice\n"
            "1\t2001:db8::2\t2001:db8::1\tup:40123\n"
            "1\t203.0.113.10\tweb\thttp\n"  // Names compare byte by byte.
            "2\t203.0.113.9\tweb\thttp\n"
            "4\tdumbo\t10.0.0.2\thttps-alt\n"
            "1\tdumbo\t198.51.100.7\tsmtp\n"
            "1\tdumbo\tweb\tssh\n");
  // The coverage footer goes to stderr for tsv and csv too (json carries it).
  EXPECT_THAT(r.err, ::testing::StartsWith("summarize: 2 of 2 file(s) read to the end"));
}

TEST_F(SummarizeTest, CsvQuotesPerRfc4180) {
  std::ofstream(names_) << "local_networks: [10.0.0.0/24]\n"
                           "hosts:\n"
                           "  'a,\"b\"': [10.0.0.1]\n";
  RunResult r = RunSynmap({"summarize", "--names", names_, "--format", "csv", first_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 10.0.0.2:8443 is local and unnamed: its IP; 8443 has no override here. Rows sorted by
  // count, then names ("\"" sorts before digits).
  EXPECT_THAT(r.out, ::testing::StartsWith("count,client,server,service\r\n"
                                           "2,_,\"a,\"\"b\"\"\",http\r\n"));
  EXPECT_THAT(r.out, HasSubstr("1,10.0.0.5,\"a,\"\"b\"\"\",ssh\r\n"));
}

TEST_F(SummarizeTest, JsonHasEveryFieldAndCoverage) {
  RunResult r = RunSynmap({"summarize", "--names", names_, "--format", "json", first_, second_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(
      r.out,
      HasSubstr("{\"count\": 2, \"client\": \"_\", \"server\": \"web\", \"service\": \"http\", "
                "\"server_port\": 80, \"server_ip\": \"10.0.0.1\", \"client_ip\": null, "
                "\"packets\": 3, \"connections\": 2, "
                "\"first_seen\": \"2023-11-14T22:13:20.123456789Z\", "
                "\"last_seen\": \"2023-11-14T22:13:22Z\"}"));
  EXPECT_THAT(
      r.out,
      HasSubstr("{\"count\": 1, \"client\": \"_\", \"server\": \"_\", \"service\": \"up:40123\", "
                "\"server_port\": 40123, \"server_ip\": \"2001:db8::1\", "
                "\"client_ip\": \"2001:db8::2\", \"packets\": 1, \"connections\": 1, "
                "\"first_seen\": \"2023-11-14T22:13:33Z\", "
                "\"last_seen\": \"2023-11-14T22:13:33Z\"}"));
  EXPECT_THAT(r.out, HasSubstr("\"complete\": true"));
  EXPECT_THAT(r.out, HasSubstr("\"files_read\": 2"));
  EXPECT_THAT(r.out, HasSubstr("\"packets\": 14,"));
  EXPECT_THAT(r.out, HasSubstr("\"synacks\": 10,"));
  EXPECT_THAT(r.out, HasSubstr("\"retransmissions\": 2,"));
  EXPECT_THAT(r.out, HasSubstr("\"malformed\": 1,"));
  EXPECT_THAT(r.out, HasSubstr("\"not_synack\": 2"));
  EXPECT_THAT(r.out, HasSubstr("\"not_tcp\": 1"));
}

TEST_F(SummarizeTest, StandardInputReadsLikeAFile) {
  RunResult from_file = RunSynmap({"summarize", "--format", "tsv", second_});
  RunResult from_stdin = RunSynmap({"summarize", "--format", "tsv", "-"}, second_);
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_EQ(from_stdin.out, from_file.out);
  // Without a names file every address is local and shows as its IP.
  EXPECT_THAT(from_stdin.out, HasSubstr("3\t10.0.0.5\t10.0.0.2\t"));
}

// A pipe named as a file (`synmap summarize <(ssh router cat x.pcap)`: /dev/fd/N) reads like the
// file: the check that every file is readable must not take its first bytes.
TEST_F(SummarizeTest, PipeNamedAsAFileReadsLikeTheFile) {
  const RunResult from_file = RunSynmap({"summarize", "--format", "tsv", second_});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  const std::string bytes = ReadText(second_);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_LT(bytes.size(), 60'000u);  // Fits in the pipe: written whole before synmap starts.
  ASSERT_EQ(write(fds[1], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fds[1]);
  const std::string named = absl::StrCat("/dev/fd/", fds[0]);  // Inherited by synmap.
  const RunResult from_pipe = RunSynmap({"summarize", "--format", "tsv", named});
  close(fds[0]);
  EXPECT_EQ(from_pipe.exit_code, 0) << from_pipe.err;
  EXPECT_EQ(from_pipe.out, from_file.out);
  EXPECT_THAT(from_pipe.err, HasSubstr("1 of 1 file(s) read to the end"));
}

TEST_F(SummarizeTest, TruncatedFilePrintsRowsSoFarAndNamesTheDamage) {
  // Cut the pcapng inside its fourth packet block: the first three packets still count.
  const std::string cut = dir_.File("cut.pcapng");
  std::vector<uint8_t> bytes = w_bytes_;
  ::synmap::testing::WriteFile(cut, bytes, bytes.size() - 150);
  RunResult r = RunSynmap(
      {"summarize", "--names", names_, "--count", "packets", "--format", "tsv", first_, cut});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out,
            "count\tclient\tserver\tservice\n"
            "4\tdumbo\t10.0.0.2\thttps-alt\n"
            "3\t_\tweb\thttp\n"
            "1\tdumbo\tweb\tssh\n");
  EXPECT_THAT(r.err, HasSubstr(cut));
  EXPECT_THAT(r.err, HasSubstr("packet 4 at byte offset"));
  EXPECT_THAT(r.err, HasSubstr("truncated"));
}

TEST_F(SummarizeTest, MissingOrNonCaptureFileFails) {
  RunResult r = RunSynmap({"summarize", dir_.File("nope.pcap")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("nope.pcap"));
  r = RunSynmap({"summarize", names_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("not a pcap or pcapng file"));
}

// Every file is checked before anything is printed: a missing second file is the only output,
// not a footer claiming "0 of 0 files" or the first file's table.
TEST_F(SummarizeTest, MissingSecondFileIsReportedBeforeAnyTable) {
  const std::string missing = dir_.File("missing.pcap");
  for (const char* format : {"text", "tsv", "json"}) {
    const RunResult r = RunSynmap({"summarize", "--format", format, first_, missing});
    EXPECT_EQ(r.exit_code, 2) << format;
    EXPECT_EQ(r.out, "") << format;
    EXPECT_EQ(r.err, absl::StrCat("synmap summarize: cannot read '", missing,
                                  "': No such file or directory\n"))
        << format;
  }
}

// The footer counts the files given, also when one of them turns out not to be a capture.
TEST_F(SummarizeTest, FooterCountsTheFilesGiven) {
  const RunResult r = RunSynmap({"summarize", "--names", names_, first_, names_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("summarize: 1 of 2 file(s) read to the end"));
}

// The files are merged by capture time: given in any order (a shell glob of rotated files),
// the answer is the same, and no connection is flagged as possibly counted twice.
TEST_F(SummarizeTest, FilesInAnyOrderGiveTheSameAnswer) {
  const std::string later = dir_.File("later.pcap");
  WritePcap(later, {{kT0 + 3600 * kSecond, SynAck4("10.0.0.1", 80, "203.0.113.11", 50005, 900)}},
            /*nanos=*/true);
  const RunResult in_order =
      RunSynmap({"summarize", "--names", names_, "--format", "json", first_, second_, later});
  ASSERT_EQ(in_order.exit_code, 0) << in_order.err;
  EXPECT_THAT(in_order.out, HasSubstr("\"late_connections\": 0"));
  EXPECT_THAT(in_order.out, HasSubstr("\"retransmissions\": 2,"));
  const RunResult reversed =
      RunSynmap({"summarize", "--names", names_, "--format", "json", later, second_, first_});
  ASSERT_EQ(reversed.exit_code, 0) << reversed.err;
  // The same rows and counts; only the order of the files as given differs in the coverage.
  auto rows = [](const std::string& json) { return json.substr(0, json.find("\"coverage\"")); };
  EXPECT_EQ(rows(reversed.out), rows(in_order.out));
  EXPECT_THAT(reversed.out, HasSubstr("\"late_connections\": 0"));
  EXPECT_THAT(reversed.out, HasSubstr("\"retransmissions\": 2,"));
}

// A file whose own clock goes back by more than the retransmission window (60 s): the footer
// and the JSON coverage say how many connections may be handshakes counted twice.
TEST_F(SummarizeTest, AFileGoingBackInTimeIsReportedInTheFooter) {
  const std::string stepped = dir_.File("stepped.pcap");
  WritePcap(stepped,
            {{kT0 + 3600 * kSecond, SynAck4("10.0.0.1", 80, "203.0.113.11", 50005, 900)},
             {kT0, SynAck4("10.0.0.1", 80, "203.0.113.12", 50006, 901)},
             {kT0 + kSecond, SynAck4("10.0.0.1", 80, "203.0.113.12", 50006, 901)}},
            /*nanos=*/true);
  const RunResult text = RunSynmap({"summarize", stepped});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.err, HasSubstr("summarize: 1 connections counted from SYN/ACKs 60 s or more "
                                  "older than SYN/ACKs before them in their file"));
  const RunResult json = RunSynmap({"summarize", "--format", "json", stepped});
  EXPECT_THAT(json.out, HasSubstr("\"late_connections\": 1"));
  const RunResult in_order = RunSynmap({"summarize", first_});
  EXPECT_THAT(in_order.err, Not(HasSubstr("older than SYN/ACKs")));
}

// Capture points recording the same hour (each file spans it, so all are open at once while
// merged), more of them than a low soft descriptor limit allows: summarize raises its soft limit
// to the hard one and counts every file.
TEST_F(SummarizeTest, ManyCaptureFilesOverlappingInTimeAreAllCounted) {
  rlimit original{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);
  constexpr int kFiles = 150;
  if (original.rlim_max < 2 * kFiles) {
    GTEST_SKIP() << "hard descriptor limit " << original.rlim_max << " is below " << 2 * kFiles;
  }
  std::vector<std::string> args = {"summarize", "--format", "tsv", "--show-remote"};
  for (int i = 0; i < kFiles; ++i) {
    const std::string path = dir_.File(absl::StrCat("point", i, ".pcap"));
    const std::string client = absl::StrCat("203.0.113.", i);
    WritePcap(path,
              {{kT0 + i * kSecond, SynAck4("10.0.0.1", 443, client.c_str(), 40000, 7000 + i)},
               {kT0 + 3600 * kSecond, SynAck4("10.0.0.2", 22, client.c_str(), 40001, 9000 + i)}},
              /*nanos=*/true);
    args.push_back(path);
  }
  rlimit low = original;
  low.rlim_cur = 64;  // Inherited by the child: below the files it must hold open.
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  const RunResult r = RunSynmap(args);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &original), 0);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("summarize: ", kFiles, " of ", kFiles,
                                            " file(s) read to the end, ", 2 * kFiles, " packets")));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2 * kFiles + 1);  // Header + keys.
}

TEST(SummarizeUsageTest, BadFlagsExit64WithOneLineAndHint) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"summarize", "--bogus", "x.pcap"},
           {"summarize", "--count", "bytes", "x.pcap"},
           {"summarize", "--format=xml", "x.pcap"},
           {"summarize", "--names"},
           {"summarize", "--show-remote=yes", "x.pcap"},
           {"summarize"},
           {"summarize", "-", "-"},
       }) {
    RunResult r = RunSynmap(args);
    EXPECT_EQ(r.exit_code, 64) << args.back();
    EXPECT_THAT(r.err, ::testing::MatchesRegex("synmap summarize: [^\n]+\nTry 'synmap summarize "
                                               "--help'.\n"));
    EXPECT_EQ(r.out, "");
  }
  RunResult r = RunSynmap({"frobnicate"});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'frobnicate'"));
}

TEST(SummarizeUsageTest, HelpAndVersion) {
  RunResult r = RunSynmap({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("summarize"));
  r = RunSynmap({"summarize", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag :
       {"--names FILE", "--count connections|packets", "--format text|tsv|csv|json",
        "--show-remote", "--sort count|name", "Exit status"}) {
    EXPECT_THAT(r.out, HasSubstr(flag));
  }
  r = RunSynmap({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, ::testing::MatchesRegex("synmap [0-9]+\\.[0-9]+\\.[0-9]+\n"));
}

// ---- Every file of the shared corpus ----

// SOURCES.md: file -> SYN/ACKs column (leading number, plus N of "(+N tunneled)": summarize
// enters tunnels), or -1 for "n/a".
std::map<std::string, int64_t> SourcesSynAcks(const std::string& dir) {
  std::map<std::string, int64_t> rows;
  std::ifstream in(dir + "/SOURCES.md");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells = absl::StrSplit(line, '|');
    if (cells.size() < 12) {
      continue;
    }
    const std::string file(absl::StripAsciiWhitespace(cells[1]));
    const std::string synacks(absl::StripAsciiWhitespace(cells[9]));
    if (file.find('/') == std::string::npos) {
      continue;
    }
    int64_t n = -1;
    if (!absl::SimpleAtoi(synacks.substr(0, synacks.find(' ')), &n)) {
      n = -1;
    }
    int64_t tunnelled = 0;
    if (const size_t plus = synacks.find("(+"); n >= 0 && plus != std::string::npos) {
      const std::string rest = synacks.substr(plus + 2);
      EXPECT_TRUE(absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &tunnelled)) << synacks;
    }
    rows[file] = n + tunnelled;
  }
  return rows;
}

// Every decimal number that follows an occurrence of `prefix` in `text`.
std::vector<int64_t> NumbersAfter(const std::string& text, const std::string& prefix) {
  std::vector<int64_t> numbers;
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    const size_t begin = at + prefix.size();
    size_t end = begin;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') {
      ++end;
    }
    int64_t n = 0;
    if (absl::SimpleAtoi(absl::string_view(text).substr(begin, end - begin), &n)) {
      numbers.push_back(n);
    }
  }
  return numbers;
}

TEST(SummarizeCorpusTest, EveryFileExitsCleanlyAndCountsTheListedSynAcks) {
  const std::string dir = ::synmap::testing::SharedPcapsDir();
  if (dir.empty()) {
    GTEST_SKIP() << "shared capture corpus not found (set SYNMAP_PCAPS_DIR)";
  }
  const std::map<std::string, int64_t> expected = SourcesSynAcks(dir);
  // Files we refuse (exit 2), with the reason the error must give. Their SYN/ACK count is
  // 0 in SOURCES.md too, so the count check below still applies.
  const std::map<std::string, std::string> refused = {
      {"libpcap/linktype-reserved-field-not-zero.pcap", "reserved bits"},
      {"libpcap/pcap-invalid-version-1.pcap", "unsupported pcap version"},
      {"libpcap/pcap-invalid-version-2.pcap", "unsupported pcap version 2.5"},
      {"libpcap/pcapng-invalid-vers-1.pcapng", "unsupported pcapng version 0.1"},
      {"libpcap/pcapng-invalid-vers-2.pcapng", "unsupported pcapng version 1.1"},
      {"libpcap/shb-option-too-long.pcapng", "section header block"},
      // snaplen 1, caplen 8: corrupt by our rule (libpcap truncates it silently).
      {"zeek/trunc-hdr.pcap", "caplen 8 exceeds"},
  };
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!absl::EndsWith(name, ".pcap") && !absl::EndsWith(name, ".pcapng")) {
      continue;
    }
    const std::string file = std::filesystem::relative(entry.path(), dir).string();
    SCOPED_TRACE(file);
    ++files;
    RunResult r = RunSynmap({"summarize", "--format", "json", "--count", "packets", entry.path()});
    ASSERT_EQ(r.signal, 0) << "crashed: " << r.err;
    if (refused.count(file) > 0) {
      EXPECT_EQ(r.exit_code, 2);
      EXPECT_THAT(r.err, HasSubstr(file));
      EXPECT_THAT(r.err, HasSubstr(refused.at(file)));
      continue;
    }
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::vector<int64_t> synacks_found = NumbersAfter(r.out, "\"synacks\": ");
    ASSERT_EQ(synacks_found.size(), 1u) << r.out;
    const int64_t synacks = synacks_found[0];
    // With --count packets the rows add up to the SYN/ACKs.
    int64_t row_sum = 0;
    for (int64_t count : NumbersAfter(r.out, "{\"count\": ")) {
      row_sum += count;
    }
    EXPECT_EQ(row_sum, synacks);
    auto want = expected.find(file);
    ASSERT_NE(want, expected.end()) << "not listed in SOURCES.md";
    if (want->second >= 0) {  // "n/a": tshark cannot decode the file; no count to match.
      EXPECT_EQ(synacks, want->second);
    }
  }
  EXPECT_GT(files, 100u);
}

TEST(SummarizeTunnelTest, CountsInnerHandshakesUnlessNoDecapsulate) {
  const std::string dir = ::synmap::testing::SharedPcapsDir();
  if (dir.empty()) {
    GTEST_SKIP() << "shared capture corpus not found (set SYNMAP_PCAPS_DIR)";
  }
  // ERSPAN (GRE 0x6558 with a key) mirroring 5 handshakes; none outside the tunnel.
  const std::string erspan = dir + "/zeek/erspan.pcap";
  RunResult r = RunSynmap({"summarize", "--format", "tsv", erspan});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("5 SYN/ACKs (0 retransmissions)"));
  EXPECT_THAT(r.err, HasSubstr("summarize: 5 SYN/ACKs found inside tunnels (248 tunnelled packets, "
                               "0 of them malformed); 0 packets with tunnels nested deeper than 4 "
                               "not entered"));
  r = RunSynmap({"summarize", "--format", "tsv", "--no-decapsulate", erspan});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "count\tclient\tserver\tservice\n");
  EXPECT_THAT(r.err, HasSubstr("0 SYN/ACKs"));
  EXPECT_THAT(r.err, Not(HasSubstr("tunnels")));
}

}  // namespace
}  // namespace synmap::cli
