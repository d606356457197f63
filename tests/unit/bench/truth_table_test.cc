#include "bench/truth_table.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace synmap::bench {
namespace {

constexpr int64_t kT0 = 1'767'225'600'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;

common::IpAddress Ip(const char* text) { return *common::IpAddress::Parse(text); }

SynAckFacts Facts(uint32_t isn, int64_t time_ns) {
  return SynAckFacts{Ip("198.51.100.10"), Ip("203.0.113.5"), 443, 40000, isn, time_ns};
}

TEST(TruthTableTest, RetransmissionWithinWindowAddsPacketNotConnection) {
  TruthTable truth;
  EXPECT_TRUE(truth.Add(Facts(7, kT0)));
  EXPECT_FALSE(truth.Add(Facts(7, kT0 + 60 * kSecond - 1)));
  EXPECT_EQ(truth.totals().packets, 2u);
  EXPECT_EQ(truth.totals().connections, 1u);
  EXPECT_EQ(truth.totals().keys, 1u);
}

TEST(TruthTableTest, SameHandshakeSixtySecondsLaterIsNewConnection) {
  TruthTable truth;
  EXPECT_TRUE(truth.Add(Facts(7, kT0)));
  EXPECT_TRUE(truth.Add(Facts(7, kT0 + 60 * kSecond)));
  EXPECT_EQ(truth.totals().connections, 2u);
}

TEST(TruthTableTest, WindowRestartsAtTheNewConnection) {
  TruthTable truth;
  EXPECT_TRUE(truth.Add(Facts(7, kT0)));
  EXPECT_TRUE(truth.Add(Facts(7, kT0 + 70 * kSecond)));
  // 100 s after the first sighting but 30 s after the one that counted.
  EXPECT_FALSE(truth.Add(Facts(7, kT0 + 100 * kSecond)));
  EXPECT_EQ(truth.totals().connections, 2u);
  EXPECT_EQ(truth.totals().packets, 3u);
}

TEST(TruthTableTest, NewIsnOrClientPortIsNewConnection) {
  TruthTable truth;
  EXPECT_TRUE(truth.Add(Facts(7, kT0)));
  EXPECT_TRUE(truth.Add(Facts(8, kT0 + kSecond)));
  SynAckFacts other_port = Facts(7, kT0 + 2 * kSecond);
  other_port.client_port = 40001;
  EXPECT_TRUE(truth.Add(other_port));
  EXPECT_EQ(truth.totals().connections, 3u);
  EXPECT_EQ(truth.totals().keys, 1u);
}

TEST(TruthTableTest, WritesHeaderAndRowsSortedNumericallyIpv4First) {
  TruthTable truth;
  SynAckFacts v6{Ip("2001:db8:10::1"), Ip("2001:db8:ff00:1::1"), 22, 50000, 1, kT0 + 5};
  SynAckFacts ten{Ip("198.51.100.1"), Ip("198.51.100.10"), 80, 50000, 2, kT0 + 6};
  SynAckFacts nine{Ip("198.51.100.1"), Ip("198.51.100.9"), 80, 50000, 3, kT0 + 7};
  SynAckFacts nine_again = nine;
  nine_again.isn = 4;
  nine_again.time_ns = kT0 + 9;
  truth.Add(v6);
  truth.Add(ten);
  truth.Add(nine);
  truth.Add(nine_again);
  testing::TempDir dir;
  ASSERT_OK(truth.WriteTsv(dir.File("truth.tsv")));
  std::ifstream in(dir.File("truth.tsv"));
  std::stringstream text;
  text << in.rdbuf();
  const std::vector<std::string> lines = absl::StrSplit(text.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0],
            "client_ip\tserver_ip\tserver_port\tpackets\tconnections\tfirst_seen_ns\tlast_seen_ns");
  EXPECT_EQ(lines[1],
            "198.51.100.9\t198.51.100.1\t80\t2\t2\t1767225600000000007\t"
            "1767225600000000009");
  EXPECT_EQ(lines[2],
            "198.51.100.10\t198.51.100.1\t80\t1\t1\t1767225600000000006\t"
            "1767225600000000006");
  EXPECT_EQ(lines[3],
            "2001:db8:ff00:1::1\t2001:db8:10::1\t22\t1\t1\t1767225600000000005\t"
            "1767225600000000005");
}

TEST(TruthTableTest, UnwritablePathIsAnError) {
  TruthTable truth;
  EXPECT_FALSE(truth.WriteTsv("/nonexistent-dir/truth.tsv").ok());
}

}  // namespace
}  // namespace synmap::bench
