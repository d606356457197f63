#include "common/pcapfile/packet_reader.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/common/pcapfile/capture_bytes.h"

namespace synmap::common {
namespace {

using ::synmap::testing::ClassicPcap;
using ::synmap::testing::PcapngWriter;
using ::synmap::testing::StatusIs;
using ::synmap::testing::TempDir;
using ::synmap::testing::TestPacket;
using ::synmap::testing::WriteFile;
using ::testing::HasSubstr;

struct ReadResult {
  std::vector<TestPacket> packets;
  absl::Status status;
};

// Reads every packet, copying the data (it dies at the next Next()).
ReadResult ReadAll(PacketReader& reader) {
  ReadResult result;
  PacketRef ref;
  while (reader.Next(&ref)) {
    TestPacket p;
    p.link_type = ref.link_type;
    p.timestamp_ns = ref.timestamp_ns;
    p.data.assign(ref.data, ref.data + ref.caplen);
    p.wire_length = ref.wire_length;
    result.packets.push_back(std::move(p));
  }
  result.status = reader.status();
  return result;
}

absl::StatusOr<ReadResult> ReadFile(const std::string& path, PacketReaderOptions options = {}) {
  auto reader = PacketReader::Open(path, options);
  if (!reader.ok()) {
    return reader.status();
  }
  return ReadAll(**reader);
}

void ExpectSamePackets(const std::vector<TestPacket>& got, const std::vector<TestPacket>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].link_type, want[i].link_type) << "packet " << i;
    EXPECT_EQ(got[i].timestamp_ns, want[i].timestamp_ns) << "packet " << i;
    EXPECT_EQ(got[i].data, want[i].data) << "packet " << i;
    EXPECT_EQ(got[i].wire_length, want[i].wire_length) << "packet " << i;
  }
}

std::vector<uint8_t> Bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<uint8_t>(seed + i * 7);
  }
  return v;
}

std::vector<TestPacket> ThreePackets(bool nanos) {
  const int64_t frac = nanos ? 123'456'789 : 123'456'000;
  return {
      {1, 1'700'000'000LL * 1'000'000'000 + frac, Bytes(60, 1), 60},
      {1, 1'700'000'001LL * 1'000'000'000 + 5'000, Bytes(1, 2), 1514},
      {1, 4'000'000'000LL * 1'000'000'000, Bytes(97, 3), 97},  // Past 2038: unsigned seconds.
  };
}

class ClassicPcapTest : public ::testing::TestWithParam<std::tuple<bool, bool, PcapEngine>> {};

TEST_P(ClassicPcapTest, ReadsEveryPacketWithItsTimestamp) {
  const auto [big_endian, nanos, engine] = GetParam();
  TempDir dir;
  std::vector<TestPacket> packets = ThreePackets(nanos);
  if (engine == PcapEngine::kLibpcap) {
    packets.pop_back();  // libpcap reads the seconds field as signed 32-bit.
  }
  WriteFile(dir.File("a.pcap"), ClassicPcap(big_endian, nanos, 65535, 1, packets));
  ASSERT_OK_AND_ASSIGN(ReadResult r, ReadFile(dir.File("a.pcap"), {.pcap_engine = engine}));
  EXPECT_OK(r.status);
  ExpectSamePackets(r.packets, packets);
}

INSTANTIATE_TEST_SUITE_P(AllOrdersAndPrecisions, ClassicPcapTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(),
                                            ::testing::Values(PcapEngine::kNative,
                                                              PcapEngine::kLibpcap)));

TEST(PacketReaderTest, ReadsWhatLibpcapWrote) {
  TempDir dir;
  for (const bool nanos : {false, true}) {
    const std::string path = dir.File(nanos ? "ns.pcap" : "us.pcap");
    pcap_t* dead = pcap_open_dead_with_tstamp_precision(
        DLT_LINUX_SLL, 262144, nanos ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
    pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
    ASSERT_NE(dumper, nullptr) << pcap_geterr(dead);
    const std::vector<uint8_t> data = Bytes(80, 9);
    struct pcap_pkthdr hdr = {};
    hdr.ts.tv_sec = 1'234'567'890;
    hdr.ts.tv_usec = nanos ? 987'654'321 : 987'654;
    hdr.caplen = 80;
    hdr.len = 200;
    pcap_dump(reinterpret_cast<u_char*>(dumper), &hdr, data.data());
    pcap_dump_close(dumper);
    pcap_close(dead);

    ASSERT_OK_AND_ASSIGN(ReadResult r, ReadFile(path));
    EXPECT_OK(r.status);
    ExpectSamePackets(
        r.packets,
        {{DLT_LINUX_SLL, 1'234'567'890LL * 1'000'000'000 + (nanos ? 987'654'321 : 987'654'000),
          data, 200}});
  }
}

TEST(PacketReaderTest, LinktypeRawIsReportedAsDltRaw) {
  TempDir dir;
  std::vector<TestPacket> packets = {{12, 1'000'000'000, Bytes(20, 4), 20}};
  WriteFile(dir.File("raw.pcap"), ClassicPcap(false, false, 0, /*LINKTYPE_RAW=*/101, packets));
  ASSERT_OK_AND_ASSIGN(ReadResult r, ReadFile(dir.File("raw.pcap")));
  ExpectSamePackets(r.packets, packets);
}

// The pcapng file of the multi-interface test and the packets it must yield.
struct PcapngCase {
  std::vector<uint8_t> bytes;
  std::vector<TestPacket> packets;
  std::vector<size_t> packet_ends;  // Byte offset just after each packet's block.
  std::vector<size_t> block_ends;   // Byte offset just after every block.
};

PcapngCase MultiInterfacePcapng() {
  PcapngCase c;
  const int64_t t = 1'600'000'000;
  auto add = [&](PcapngWriter& w, TestPacket p) {
    c.packets.push_back(std::move(p));
    c.packet_ends.push_back(w.size());
  };
  PcapngWriter w(/*big_endian=*/false);
  w.Section();
  w.Interface(1, 0, -1);                           // 0: Ethernet, default microseconds.
  w.Interface(101, 96, 9);                         // 1: LINKTYPE_RAW, nanoseconds, snaplen 96.
  w.Interface(113, 65535, 0x80 | 20);              // 2: SLL, 2^-20 s.
  w.Interface(276, 65535, 3, /*tsoffset_s=*/100);  // 3: SLL2, milliseconds, +100 s.
  w.Enhanced(0, uint64_t(t) * 1'000'000 + 7, Bytes(64, 1), 64);
  add(w, {1, t * 1'000'000'000 + 7'000, Bytes(64, 1), 64});
  w.Unknown(4, 13);  // Name Resolution Block: skipped.
  w.Enhanced(1, uint64_t(t) * 1'000'000'000 + 5, Bytes(96, 2), 1500);
  add(w, {12, t * 1'000'000'000 + 5, Bytes(96, 2), 1500});
  w.Enhanced(2, (uint64_t(t) << 20) + (uint64_t{1} << 19), Bytes(33, 3), 33);
  add(w, {113, t * 1'000'000'000 + 500'000'000, Bytes(33, 3), 33});
  w.Enhanced(3, uint64_t(t) * 1000 + 250, Bytes(40, 4), 40);
  add(w, {276, (t + 100) * 1'000'000'000 + 250'000'000, Bytes(40, 4), 40});
  w.Obsolete(1, uint64_t(t) * 1'000'000'000 + 9, Bytes(10, 5), 10);
  add(w, {12, t * 1'000'000'000 + 9, Bytes(10, 5), 10});
  w.Simple(Bytes(21, 6));  // Simple: interface 0, no timestamp.
  add(w, {1, 0, Bytes(21, 6), 21});
  std::vector<uint8_t> bytes = w.bytes();
  // A second section, big-endian, with its own interface list.
  PcapngWriter be(/*big_endian=*/true);
  be.Section();
  be.Interface(228, 0, 6);
  be.Enhanced(0, uint64_t(t) * 1'000'000 + 1, Bytes(28, 7), 28);
  const size_t base = bytes.size();
  bytes.insert(bytes.end(), be.bytes().begin(), be.bytes().end());
  c.packets.push_back({228, t * 1'000'000'000 + 1'000, Bytes(28, 7), 28});
  c.packet_ends.push_back(base + be.size());
  c.block_ends = w.block_ends();
  for (size_t end : be.block_ends()) {
    c.block_ends.push_back(base + end);
  }
  c.bytes = bytes;
  return c;
}

TEST(PacketReaderTest, ReadsPcapngWithManyInterfacesResolutionsAndSections) {
  TempDir dir;
  const PcapngCase c = MultiInterfacePcapng();
  WriteFile(dir.File("multi.pcapng"), c.bytes);
  ASSERT_OK_AND_ASSIGN(auto reader, PacketReader::Open(dir.File("multi.pcapng")));
  EXPECT_EQ(reader->format(), CaptureFormat::kPcapng);
  ReadResult r = ReadAll(*reader);
  EXPECT_OK(r.status);
  ExpectSamePackets(r.packets, c.packets);
}

// Runs `body` with standard input reading `path`.
template <typename Body>
void WithStdinFrom(const std::string& path, Body body) {
  const int saved = dup(STDIN_FILENO);
  const int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  dup2(fd, STDIN_FILENO);
  close(fd);
  body();
  dup2(saved, STDIN_FILENO);
  close(saved);
}

TEST(PacketReaderTest, ReadsRecordsAcrossBufferRefills) {
  // ~2.6 MB of records of varied sizes (up to the 256 KiB limit) straddle the 1 MiB buffer.
  std::vector<TestPacket> packets;
  for (int i = 0; i < 200; ++i) {
    const size_t size = i == 100 ? 262144 : static_cast<size_t>((i * 7919) % 20000);
    packets.push_back({1, int64_t{i} * 1'000'000'000, Bytes(size, static_cast<uint8_t>(i)),
                       static_cast<uint32_t>(size)});
  }
  TempDir dir;
  WriteFile(dir.File("big.pcap"), ClassicPcap(false, true, 0, 1, packets));
  ASSERT_OK_AND_ASSIGN(ReadResult native, ReadFile(dir.File("big.pcap")));
  EXPECT_OK(native.status);
  ExpectSamePackets(native.packets, packets);
  WithStdinFrom(dir.File("big.pcap"), [&] {
    ASSERT_OK_AND_ASSIGN(ReadResult from_stdin, ReadFile("-"));
    EXPECT_OK(from_stdin.status);
    ExpectSamePackets(from_stdin.packets, packets);
  });
}

TEST(PacketReaderTest, ReadsStandardInput) {
  TempDir dir;
  const PcapngCase c = MultiInterfacePcapng();
  WriteFile(dir.File("multi.pcapng"), c.bytes);
  const std::vector<TestPacket> classic = ThreePackets(true);
  WriteFile(dir.File("a.pcap"), ClassicPcap(true, true, 0, 1, classic));
  WithStdinFrom(dir.File("multi.pcapng"), [&] {
    ASSERT_OK_AND_ASSIGN(ReadResult r, ReadFile("-"));
    EXPECT_OK(r.status);
    ExpectSamePackets(r.packets, c.packets);
  });
  WithStdinFrom(dir.File("a.pcap"), [&] {
    ASSERT_OK_AND_ASSIGN(ReadResult r, ReadFile("-", {.pcap_engine = PcapEngine::kLibpcap}));
    EXPECT_OK(r.status);
    ExpectSamePackets(r.packets, classic);
  });
}

// Every prefix of a file: either Open fails cleanly (header cut), or the reader yields
// exactly the packets wholly inside the prefix, then DataLoss naming the next packet unless
// the cut falls between packets.
void CheckEveryTruncation(const std::vector<uint8_t>& bytes, const std::vector<TestPacket>& packets,
                          const std::vector<size_t>& packet_ends,
                          const std::vector<size_t>& boundaries, size_t header_bytes,
                          PacketReaderOptions options) {
  TempDir dir;
  const std::string path = dir.File("cut");
  for (size_t n = 0; n < bytes.size(); ++n) {
    SCOPED_TRACE(::testing::Message() << "prefix of " << n << " bytes");
    WriteFile(path, bytes, n);
    auto reader = PacketReader::Open(path, options);
    if (n < header_bytes) {
      ASSERT_FALSE(reader.ok());
      EXPECT_THAT(reader.status(), ::testing::AnyOf(StatusIs(absl::StatusCode::kDataLoss),
                                                    StatusIs(absl::StatusCode::kInvalidArgument)));
      EXPECT_THAT(reader.status().message(), HasSubstr(path));
      continue;
    }
    ASSERT_OK(reader);
    ReadResult r = ReadAll(**reader);
    size_t complete = 0;
    while (complete < packet_ends.size() && packet_ends[complete] <= n) {
      ++complete;
    }
    ExpectSamePackets(r.packets,
                      std::vector<TestPacket>(packets.begin(), packets.begin() + complete));
    const bool at_boundary = std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
    if (at_boundary) {
      EXPECT_OK(r.status);
    } else {
      EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kDataLoss));
      EXPECT_THAT(r.status.message(), HasSubstr(path));
      EXPECT_THAT(r.status.message(), HasSubstr("packet " + std::to_string(complete + 1)));
    }
  }
}

TEST(PacketReaderTest, TruncatedPcapAtEveryOffsetYieldsGoodPacketsThenDataLoss) {
  const std::vector<TestPacket> packets = ThreePackets(false);
  std::vector<size_t> ends;
  size_t at = 24;
  for (const TestPacket& p : packets) {
    at += 16 + p.data.size();
    ends.push_back(at);
  }
  std::vector<size_t> boundaries = ends;
  boundaries.push_back(24);
  for (const bool big_endian : {false, true}) {
    CheckEveryTruncation(ClassicPcap(big_endian, false, 0, 1, packets), packets, ends, boundaries,
                         24, {});
  }
}

TEST(PacketReaderTest, TruncatedPcapngAtEveryOffsetYieldsGoodPacketsThenDataLoss) {
  PcapngCase c = MultiInterfacePcapng();
  // The first section header block is 28 bytes; a cut inside it fails Open.
  // Between blocks a cut is a clean end (nothing marks the last block).
  CheckEveryTruncation(c.bytes, c.packets, c.packet_ends, c.block_ends, 28, {});
}

TEST(PacketReaderTest, LibpcapEngineReportsTruncationAfterGoodPackets) {
  const std::vector<TestPacket> packets = ThreePackets(false);
  TempDir dir;
  std::vector<uint8_t> bytes = ClassicPcap(false, false, 0, 1, {packets[0], packets[1]});
  WriteFile(dir.File("cut.pcap"), bytes, bytes.size() - 1);
  ASSERT_OK_AND_ASSIGN(ReadResult r,
                       ReadFile(dir.File("cut.pcap"), {.pcap_engine = PcapEngine::kLibpcap}));
  EXPECT_EQ(r.packets.size(), 1u);
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(r.status.message(), HasSubstr("packet 2"));
}

TEST(PacketReaderTest, CaplenAboveSnaplenIsCorrupt) {
  TempDir dir;
  std::vector<TestPacket> packets = {{1, 0, Bytes(50, 1), 50}, {1, 0, Bytes(101, 2), 101}};
  WriteFile(dir.File("a.pcap"), ClassicPcap(false, false, /*snaplen=*/100, 1, packets));
  ASSERT_OK_AND_ASSIGN(ReadResult r, ReadFile(dir.File("a.pcap")));
  EXPECT_EQ(r.packets.size(), 1u);
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(r.status.message(), HasSubstr("packet 2 at byte offset 90"));
  EXPECT_THAT(r.status.message(), HasSubstr("caplen 101"));
}

TEST(PacketReaderTest, CaplenAbove256KiBIsCorruptEvenWithoutSnaplen) {
  TempDir dir;
  std::vector<TestPacket> packets = {{1, 0, Bytes(262145, 1), 262145}};
  WriteFile(dir.File("a.pcap"), ClassicPcap(false, false, /*snaplen=*/0, 1, packets));
  ASSERT_OK_AND_ASSIGN(ReadResult r, ReadFile(dir.File("a.pcap")));
  EXPECT_TRUE(r.packets.empty());
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kDataLoss));

  PcapngWriter w(false);
  w.Section();
  w.Interface(1, 64, -1);
  w.Enhanced(0, 0, Bytes(65, 1), 65);
  WriteFile(dir.File("b.pcapng"), w.bytes());
  ASSERT_OK_AND_ASSIGN(r, ReadFile(dir.File("b.pcapng")));
  EXPECT_TRUE(r.packets.empty());
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kDataLoss));
}

TEST(PacketReaderTest, PcapngPacketOnUnknownInterfaceIsCorrupt) {
  TempDir dir;
  PcapngWriter w(false);
  w.Section();
  w.Interface(1, 0, -1);
  w.Enhanced(0, 0, Bytes(10, 1), 10);
  w.Enhanced(1, 0, Bytes(10, 1), 10);
  WriteFile(dir.File("a.pcapng"), w.bytes());
  ASSERT_OK_AND_ASSIGN(ReadResult r, ReadFile(dir.File("a.pcapng")));
  EXPECT_EQ(r.packets.size(), 1u);
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(r.status.message(), HasSubstr("interface 1"));
}

TEST(PacketReaderTest, PcapngOptionOverrunningItsBlockIsCorrupt) {
  TempDir dir;
  PcapngWriter w(false);
  w.Section();
  std::vector<uint8_t> bytes = w.bytes();
  // IDB whose only option claims 200 bytes inside a 32-byte block.
  const std::vector<uint8_t> idb = {1, 0, 0,   0, 32, 0, 0, 0, 1, 0, 0, 0, 0,  0, 0, 0,
                                    9, 0, 200, 0, 6,  0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0};
  bytes.insert(bytes.end(), idb.begin(), idb.end());
  WriteFile(dir.File("a.pcapng"), bytes);
  ASSERT_OK_AND_ASSIGN(ReadResult r, ReadFile(dir.File("a.pcapng")));
  EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(r.status.message(), HasSubstr("overruns"));
}

TEST(PacketReaderTest, RejectsWhatIsNotACapture) {
  TempDir dir;
  WriteFile(dir.File("text"), std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', '\n'});
  EXPECT_THAT(PacketReader::Open(dir.File("text")), StatusIs(absl::StatusCode::kInvalidArgument));
  WriteFile(dir.File("empty"), std::vector<uint8_t>{});
  EXPECT_THAT(PacketReader::Open(dir.File("empty")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PacketReader::Open(dir.File("missing")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(PacketReader::Open(dir.path()), StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<uint8_t> v1 = ClassicPcap(false, false, 0, 1, {});
  v1[4] = 1;  // Version 1.4.
  WriteFile(dir.File("v1.pcap"), v1);
  EXPECT_THAT(PacketReader::Open(dir.File("v1.pcap")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---- The shared corpus ----

// File -> leading number of the SOURCES.md "Packets" column (tshark's count, or libpcap's
// where tshark cannot read the file), and whether the row says the file is unreadable.
struct CorpusRow {
  uint64_t packets = 0;
  std::string packets_text;
};

std::map<std::string, CorpusRow> ReadSources(const std::string& dir) {
  std::map<std::string, CorpusRow> rows;
  std::ifstream in(dir + "/SOURCES.md");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells = absl::StrSplit(line, '|');
    if (cells.size() < 12) {
      continue;
    }
    const std::string file(absl::StripAsciiWhitespace(cells[1]));
    const std::string packets(absl::StripAsciiWhitespace(cells[8]));
    uint64_t n = 0;
    const std::string leading = packets.substr(0, packets.find(' '));
    if (absl::SimpleAtoi(leading, &n) && file.find('/') != std::string::npos) {
      rows[file] = {n, packets};
    }
  }
  return rows;
}

std::vector<std::string> CorpusFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && (absl::EndsWith(name, ".pcap") || absl::EndsWith(name, ".pcapng"))) {
      files.push_back(std::filesystem::relative(e.path(), dir).string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(PacketReaderCorpusTest, CountsMatchSourcesAndLibpcapAgreesPacketByPacket) {
  const std::string dir = ::synmap::testing::SharedPcapsDir();
  if (dir.empty()) {
    GTEST_SKIP() << "shared capture corpus not found (set SYNMAP_PCAPS_DIR)";
  }
  const std::map<std::string, CorpusRow> rows = ReadSources(dir);
  // Files whose row is not a plain count we must match, with the reason.
  const std::map<std::string, std::string> refused = {
      // libpcap and tshark refuse these too (SOURCES.md: "unreadable").
      {"libpcap/linktype-reserved-field-not-zero.pcap", "reserved link-type bits"},
      {"libpcap/pcap-invalid-version-1.pcap", "pcap version 1"},
      {"libpcap/pcapng-invalid-vers-1.pcapng", "pcapng version 0.1"},
      {"libpcap/pcapng-invalid-vers-2.pcapng", "pcapng version 1.1"},
      {"libpcap/shb-option-too-long.pcapng", "SHB option overruns the block"},
      // tshark reads 1 packet; libpcap (and we, like it) refuse version 2.5.
      {"libpcap/pcap-invalid-version-2.pcap", "pcap version 2.5"},
  };
  // By our rule (a record with caplen > snaplen is corrupt) this file is refused after 0
  // packets: its header says snaplen 1 and its only record caplen 8. libpcap and tshark
  // accept it (libpcap cuts the record to the snaplen).
  const std::string caplen_above_snaplen = "zeek/trunc-hdr.pcap";
  // Fraction fields >= 10^6 (10^9): we read them unsigned as the format says; libpcap
  // reads them as signed 32-bit, so the timestamps differ (counts and bytes agree).
  const std::set<std::string> bad_fractions = {"tcpdump/timestamp_invalid_micro.pcap",
                                               "tcpdump/timestamp_invalid_nano.pcap"};
  const std::vector<std::string> files = CorpusFiles(dir);
  ASSERT_FALSE(files.empty());
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    const std::string path = dir + "/" + file;
    auto native = ReadFile(path);
    if (refused.count(file) > 0) {
      EXPECT_FALSE(native.ok() && native->status.ok())
          << "expected a refusal: " << refused.at(file);
      continue;
    }
    ASSERT_OK(native);
    if (file == caplen_above_snaplen) {
      EXPECT_THAT(native->status, StatusIs(absl::StatusCode::kDataLoss));
      EXPECT_THAT(native->status.message(), HasSubstr("packet 1 at byte offset 24"));
      EXPECT_TRUE(native->packets.empty());
      continue;
    }
    EXPECT_OK(native->status);
    auto row = rows.find(file);
    ASSERT_NE(row, rows.end()) << "not listed in SOURCES.md";
    EXPECT_EQ(native->packets.size(), row->second.packets) << row->second.packets_text;
    if (absl::EndsWith(file, ".pcap")) {
      ASSERT_OK_AND_ASSIGN(ReadResult lib, ReadFile(path, {.pcap_engine = PcapEngine::kLibpcap}));
      EXPECT_OK(lib.status);
      if (bad_fractions.count(file) > 0) {
        for (TestPacket& p : lib.packets) {
          p.timestamp_ns = 0;
        }
        for (TestPacket& p : native->packets) {
          p.timestamp_ns = 0;
        }
      }
      ExpectSamePackets(native->packets, lib.packets);
    }
  }
}

}  // namespace
}  // namespace synmap::common
