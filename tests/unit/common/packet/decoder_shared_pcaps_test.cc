// Decodes every capture of the shared corpus (../shared/pcaps) and compares its SYN/ACK
// count with the "SYN/ACKs" column of the corpus's SOURCES.md (counted by tshark: outermost IP
// header only, "+N tunneled" more inside tunnels): outer + N by default, outer alone without
// decapsulation. Files we cannot match are listed in kKnownDifferences with the reason. When
// tshark is installed, the tunnel captures are also dissected by it here, frame by frame.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/packet/decoder.h"
#include "tests/testing/packet_builder.h"
#include "tests/testing/temp_dir.h"

namespace synmap::common {
namespace {

constexpr int kNotDecodable = -1;  // SOURCES.md says "n/a": tshark cannot decode the file.

// A row of SOURCES.md: SYN/ACKs after the outermost IP header, and further ones in tunnels.
struct SourcesCount {
  int outer = kNotDecodable;
  int tunnelled = 0;
};

// A file whose count we knowingly do not match. `ours` is what we count (0 when libpcap
// refuses the file), `tshark` what SOURCES.md says.
struct KnownDifference {
  const char* file;
  int tshark;
  int ours;
  const char* reason;
};

constexpr KnownDifference kKnownDifferences[] = {
    {"zeek/gap-data-missing.pcapng", 1, 0,
     "pcapng with 126 interfaces of mixed link types: libpcap 1.10.3 refuses to open it"},
    {"zeek/modify-request.pcapng", 1, 0,
     "pcapng with 126 interfaces of mixed link types: libpcap 1.10.3 refuses to open it"},
    {"libpcap/dsa.pcap", kNotDecodable, 0,
     "tshark 4.0 cannot read DSA_TAG_DSA; we decode it, ICMP only, so 0 SYN/ACKs"},
    {"tcpdump/kday6.pcap", kNotDecodable, 0,
     "tshark 4.0 cannot read MFR; we do not support MFR either (no IP in it anyway)"},
};

// Files whose link type the decoder reports as unsupported (every packet).
const std::set<std::string>& UnsupportedLinkTypeFiles() {
  static const auto* files = new std::set<std::string>{
      "tcpdump/kday6.pcap",                      // MFR (Frame Relay), no IP.
      "tcpdump/unsupported-link-type-160.pcap",  // USER13.
      "tcpdump/vsock-1.pcapng",                  // Linux vsock, no IP.
  };
  return *files;
}

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

// File (relative to the corpus) -> SYN/ACK counts from SOURCES.md's table.
std::map<std::string, SourcesCount> ParseSourcesTable(const std::string& path) {
  std::map<std::string, SourcesCount> counts;
  std::ifstream in(path);
  std::string line;
  constexpr size_t kFileColumn = 1;     // After the empty cell before the first '|'.
  constexpr size_t kSynAcksColumn = 9;  // File, Repository, Path, Commit, License, Format,
                                        // Link type, Packets, SYN/ACKs.
  while (std::getline(in, line)) {
    std::vector<absl::string_view> cells = absl::StrSplit(line, '|');
    if (cells.size() <= kSynAcksColumn + 1) {
      continue;
    }
    const std::string file(absl::StripAsciiWhitespace(cells[kFileColumn]));
    if (!absl::EndsWith(file, ".pcap") && !absl::EndsWith(file, ".pcapng")) {
      continue;
    }
    const absl::string_view cell = absl::StripAsciiWhitespace(cells[kSynAcksColumn]);
    SourcesCount count;
    // "3", "0 (+1 tunneled)", "1 (+2 tunneled)" or "n/a".
    if (cell != "n/a") {
      const absl::string_view number = cell.substr(0, cell.find(' '));
      EXPECT_TRUE(absl::SimpleAtoi(number, &count.outer)) << file << ": '" << cell << "'";
      const size_t plus = cell.find("(+");
      if (plus != absl::string_view::npos) {
        absl::string_view rest = cell.substr(plus + 2);
        rest = rest.substr(0, rest.find(' '));
        EXPECT_TRUE(absl::SimpleAtoi(rest, &count.tunnelled)) << file << ": '" << cell << "'";
      }
    }
    counts[file] = count;
  }
  return counts;
}

struct FileCount {
  bool opened = false;
  int synacks = 0;
  int tunnelled_synacks = 0;
  uint64_t packets = 0;
  uint64_t unsupported = 0;
  std::vector<uint64_t> synack_frames;  // 1-based frame numbers, as tshark numbers them.
};

FileCount CountSynAcks(const std::string& path, bool decapsulate = true) {
  FileCount result;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  PcapHandle pcap(pcap_open_offline(path.c_str(), errbuf));
  if (pcap == nullptr) {
    return result;
  }
  result.opened = true;
  const int link_type = pcap_datalink(pcap.get());
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(pcap.get(), &header, &data) == 1) {
    SynAckEvent event;
    TunnelInfo tunnel;
    const DecodeResult r = DecodePacket(link_type, data, header->caplen,
                                        DecodeOptions{.decapsulate = decapsulate}, &event, &tunnel);
    ++result.packets;
    if (r == DecodeResult::kSynAck) {
      ++result.synacks;
      result.tunnelled_synacks += tunnel.depth > 0 ? 1 : 0;
      result.synack_frames.push_back(result.packets);
    }
    result.unsupported += r == DecodeResult::kUnsupportedLinkType ? 1 : 0;
  }
  return result;
}

TEST(DecoderSharedPcapsTest, SynAckCountsMatchSourcesTable) {
  const std::string dir = testing::SharedPcapsDir();
  if (dir.empty()) {
    GTEST_SKIP() << "shared captures not found (../shared/pcaps beside the checkout, or set "
                    "SYNMAP_PCAPS_DIR); skipping the corpus comparison";
  }
  const std::map<std::string, SourcesCount> table = ParseSourcesTable(dir + "/SOURCES.md");
  ASSERT_GE(table.size(), 100u) << "SOURCES.md table not parsed";
  std::map<std::string, const KnownDifference*> known;
  for (const KnownDifference& d : kKnownDifferences) {
    known[d.file] = &d;
  }

  int files = 0;
  int total_synacks = 0;
  int total_tunnelled = 0;
  std::set<std::string> unsupported_files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = std::filesystem::relative(entry.path(), dir).string();
    if (!entry.is_regular_file() || name == "SOURCES.md" || name == "SHA256SUMS") {
      continue;
    }
    SCOPED_TRACE(name);
    const auto row = table.find(name);
    ASSERT_NE(row, table.end()) << "capture not listed in SOURCES.md";
    const FileCount count = CountSynAcks(entry.path().string());
    ++files;
    total_synacks += count.synacks;
    total_tunnelled += count.tunnelled_synacks;
    if (count.unsupported > 0) {
      EXPECT_EQ(count.unsupported, count.packets) << "link type support is all or nothing";
      unsupported_files.insert(name);
    }
    const auto difference = known.find(name);
    if (difference != known.end()) {
      EXPECT_EQ(row->second.outer, difference->second->tshark) << "SOURCES.md changed";
      EXPECT_EQ(count.synacks, difference->second->ours)
          << "known difference changed: " << difference->second->reason;
      continue;
    }
    EXPECT_EQ(count.synacks, row->second.outer + row->second.tunnelled)
        << "opened by libpcap: " << count.opened;
    EXPECT_EQ(count.tunnelled_synacks, row->second.tunnelled);
    if (row->second.tunnelled > 0) {
      EXPECT_EQ(CountSynAcks(entry.path().string(), /*decapsulate=*/false).synacks,
                row->second.outer)
          << "without decapsulation only the outermost IP header counts";
    }
  }
  EXPECT_EQ(files, static_cast<int>(table.size())) << "every listed capture is present";
  EXPECT_EQ(unsupported_files, UnsupportedLinkTypeFiles());
  // SOURCES.md lists 15 SYN/ACKs inside tunnels in 10 files.
  EXPECT_EQ(total_tunnelled, 15);
  RecordProperty("files", files);
  RecordProperty("synacks", total_synacks);
  RecordProperty("tunnelled_synacks", total_tunnelled);
}

// The frame numbers of `path`'s SYN/ACKs at any depth as Debian's tshark dissects them (IP
// reassembly off, default preferences), or nullopt when tshark cannot be run.
std::optional<std::vector<uint64_t>> TsharkSynAckFrames(const std::string& path) {
  const std::string command =
      absl::StrCat("tshark -n -r '", path,
                   "' -o ip.defragment:FALSE -o ipv6.defragment:FALSE -Y 'tcp.flags.syn == 1 && "
                   "tcp.flags.ack == 1' -T fields -e frame.number 2>/dev/null");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return std::nullopt;
  }
  std::vector<uint64_t> frames;
  char line[64];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    uint64_t frame = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &frame)) {
      frames.push_back(frame);
    }
  }
  if (pclose(pipe) != 0) {
    return std::nullopt;
  }
  return frames;
}

bool TsharkInstalled() { return std::system("tshark --version >/dev/null 2>&1") == 0; }

// Every tunnel capture of the corpus: those SOURCES.md counts SYN/ACKs inside tunnels in,
// and those whose tunnels carry none (VXLAN with ICMP only; Teredo's SYN/ACKs are plain IPv4;
// PPTP's GRE carries PPP control messages, its SYN/ACKs are on the TCP control channel).
TEST(DecoderSharedPcapsTest, TunnelSynAcksAreTheFramesTsharkFinds) {
  const std::string dir = testing::SharedPcapsDir();
  if (dir.empty()) {
    GTEST_SKIP() << "shared captures not found (../shared/pcaps beside the checkout, or set "
                    "SYNMAP_PCAPS_DIR); skipping the tshark comparison";
  }
  if (!TsharkInstalled()) {
    GTEST_SKIP() << "tshark not installed (deploy/install-deps.sh installs it); skipping the "
                    "comparison with its dissection";
  }
  std::set<std::string> files = {"libpcap/vxlan.pcap", "zeek/Teredo.pcap", "tcpdump/pptp.pcap"};
  for (const auto& [file, count] : ParseSourcesTable(dir + "/SOURCES.md")) {
    if (count.tunnelled > 0) {
      files.insert(file);
    }
  }
  ASSERT_EQ(files.size(), 13u);
  int tunnelled = 0;
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    const std::optional<std::vector<uint64_t>> tshark = TsharkSynAckFrames(dir + "/" + file);
    ASSERT_TRUE(tshark.has_value()) << "tshark failed on the capture";
    const FileCount ours = CountSynAcks(dir + "/" + file);
    EXPECT_EQ(ours.synack_frames, *tshark);
    tunnelled += ours.tunnelled_synacks;
  }
  EXPECT_EQ(tunnelled, 15);
}

TEST(DecoderPcapFileTest, BuilderFramesReadBackThroughLibpcap) {
  // The builder's pcap writer and the decoder agree with libpcap on link types and framing.
  testing::TempDir tmp;
  const std::vector<testing::PacketBuilder> builders = {
      testing::PacketBuilder().LinuxSll2().Ipv6("2001:db8::1", "2001:db8::2"),
      testing::PacketBuilder().Nflog().Ipv4("192.0.2.1", "192.0.2.2"),
      testing::PacketBuilder().Ethernet().Vlan(10).Ipv4("192.0.2.1", "192.0.2.2"),
  };
  for (testing::PacketBuilder builder : builders) {
    builder.Tcp(443, 40000, testing::kTcpSynAck, 7);
    const std::string path = tmp.File("frames.pcap");
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << testing::PcapFileContents(builder.LinkType(),
                                       {{.timestamp_ns = 1'000'000'123, .bytes = builder.Build()},
                                        {.timestamp_ns = 2'000'000'000, .bytes = {1, 2, 3}}});
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    PcapHandle pcap(
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf));
    ASSERT_NE(pcap, nullptr) << errbuf;
    EXPECT_EQ(pcap_datalink(pcap.get()), builder.LinkType());
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    ASSERT_EQ(pcap_next_ex(pcap.get(), &header, &data), 1);
    EXPECT_EQ(header->ts.tv_sec, 1);
    EXPECT_EQ(header->ts.tv_usec, 123);  // Nanoseconds with PCAP_TSTAMP_PRECISION_NANO.
    SynAckEvent event;
    EXPECT_EQ(DecodePacket(pcap_datalink(pcap.get()), data, header->caplen, &event),
              DecodeResult::kSynAck);
    EXPECT_EQ(event.isn, 7u);
    ASSERT_EQ(pcap_next_ex(pcap.get(), &header, &data), 1);
    EXPECT_EQ(DecodePacket(pcap_datalink(pcap.get()), data, header->caplen, &event),
              DecodeResult::kTruncated);
    EXPECT_EQ(pcap_next_ex(pcap.get(), &header, &data), PCAP_ERROR_BREAK);
  }
}

}  // namespace
}  // namespace synmap::common
