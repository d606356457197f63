#pragma once

// The data set of the query tests (cli_query_test, and the web tests of `synmap web`): a names
// file, two sensors' KNOWN batches, the model of what a summary of them must be, and a real
// synmap-collector (mTLS, SQLite) filled with them.

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/integration/collector/collector_process.h"
#include "tests/integration/collector/ingest_test_util.h"
#include "tests/testing/temp_dir.h"

namespace synmap::testing {

// --- The data set ---------------------------------------------------------------------------

// The names file the collector loads; the labels in kRecords follow from it by hand.
inline constexpr char kNames[] =
    "local_networks: [10.1.0.0/16, \"2001:db8:10::/48\"]\n"
    "hosts:\n"
    "  alpha: [10.1.0.10]\n"
    "  beta: [10.1.0.20]\n"
    "  www: [10.1.0.30, 10.1.0.31]\n"
    "services:\n"
    "  22: ssh\n"
    "  443: https\n"
    "  5432: pg\n"
    "  8443: https-alt\n";

// Slots: hours before H (the current hour, floored). Each slot is one batch of one sensor.
struct Slot {
  std::string sensor;
  uint64_t seq;
  int hours_back;
  uint64_t kernel_drops;
};
inline constexpr int kA = 0, kB = 1, kC = 2, kD = 3;
inline const Slot kSlots[] = {
    {"s1", 1, 72, 0},  // A: three days ago.
    {"s2", 1, 50, 0},  // B: two days ago.
    {"s1", 2, 6, 0},   // C: six hours ago.
    {"s2", 2, 2, 17},  // D: two hours ago, with kernel drops.
};

struct Rec {
  int slot;
  int minute;                     // first_seen = slot start + minute; last_seen 2 minutes later.
  std::string client_ip, client;  // client label under kNames
  bool client_remote;
  std::string server_ip, server;
  bool server_remote;
  uint32_t port;
  std::string service;
  uint64_t packets, connections;
};

// Port 50123 is in the dynamic range (49152-65535), which IANA never assigns, so no services
// file names it: it shows as up:50123.
inline const std::vector<Rec>& Records() {
  static const auto* recs = new std::vector<Rec>{
      {kA, 1, "203.0.113.5", "_", true, "10.1.0.10", "alpha", false, 22, "ssh", 5, 4},
      {kA, 2, "10.1.0.20", "beta", false, "10.1.0.10", "alpha", false, 5432, "pg", 3, 3},
      {kA, 3, "203.0.113.5", "_", true, "10.1.0.30", "www", false, 443, "https", 10, 8},
      {kB, 1, "198.51.100.7", "_", true, "10.1.0.31", "www", false, 443, "https", 7, 6},
      {kB, 2, "198.51.100.7", "_", true, "10.1.0.40", "10.1.0.40", false, 50123, "up:50123", 2, 2},
      {kC, 1, "203.0.113.5", "_", true, "10.1.0.10", "alpha", false, 22, "ssh", 4, 3},
      {kC, 2, "2001:db8:99::1", "_", true, "2001:db8:10::5", "2001:db8:10::5", false, 443, "https",
       6, 5},
      {kC, 3, "10.1.0.20", "beta", false, "93.184.216.34", "_", true, 443, "https", 4, 4},
      {kD, 1, "198.51.100.7", "_", true, "10.1.0.30", "www", false, 443, "https", 3, 2},
      {kD, 2, "10.1.0.20", "beta", false, "10.1.0.10", "alpha", false, 8443, "https-alt", 9, 9},
      {kD, 3, "203.0.113.5", "_", true, "10.1.0.10", "alpha", false, 22, "ssh", 2, 1},
  };
  return *recs;
}

inline constexpr uint64_t kExtraPacketsPerBatch = 100;  // packets_received = synacks + this.

inline absl::Time HourNow() {
  return absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) / 3600 * 3600);
}

inline std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}
// Machine formats: RFC 3339 without padding ("...:00Z", not "...:00.000000000Z").
inline std::string Rfc3339Nanos(int64_t ns) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", absl::FromUnixNanos(ns), absl::UTCTimeZone());
}
// Text output with --utc: "2026-12-02 13:13:28".
inline std::string TextTime(int64_t ns) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixNanos(ns), absl::UTCTimeZone());
}

inline std::string IpBytes(const std::string& text) {
  if (text.find(':') != std::string::npos) {
    unsigned char b[16];
    EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), b), 1) << text;
    return std::string(reinterpret_cast<char*>(b), 16);
  }
  unsigned char b[4];
  EXPECT_EQ(inet_pton(AF_INET, text.c_str(), b), 1) << text;
  return std::string(reinterpret_cast<char*>(b), 4);
}

// --- The model: what the answers must be, from kRecords and the documented rules -------------

struct Times {
  absl::Time hour;
  absl::Time SlotStart(int slot) const {
    return hour - absl::Hours(kSlots[slot].hours_back) + absl::Minutes(10);
  }
  int64_t FirstNs(const Rec& r) const {
    return absl::ToUnixNanos(SlotStart(r.slot) + absl::Minutes(r.minute));
  }
  int64_t LastNs(const Rec& r) const { return FirstNs(r) + 120 * kSecondNs; }
};

struct Query {
  std::string sensor, server, client, service;
  bool show_remote = false, by_sensor = false, packets = false;
  std::set<int> slots = {kA, kB, kC, kD};
};

struct Row {
  uint64_t count = 0;
  std::string client, server, service, sensor;
  uint64_t packets = 0, connections = 0;
};

inline std::vector<Row> ExpectedSummary(const Query& q) {
  std::map<std::tuple<std::string, std::string, std::string, std::string>, Row> rows;
  for (const Rec& r : Records()) {
    const std::string& sensor = kSlots[r.slot].sensor;
    if (q.slots.count(r.slot) == 0 || (!q.sensor.empty() && q.sensor != sensor) ||
        (!q.server.empty() && q.server != r.server) ||
        (!q.client.empty() && q.client != r.client) ||
        (!q.service.empty() && q.service != r.service)) {
      continue;
    }
    const std::string client = q.show_remote && r.client_remote ? r.client_ip : r.client;
    const std::string server = q.show_remote && r.server_remote ? r.server_ip : r.server;
    const std::string s = q.by_sensor ? sensor : "";
    Row& row = rows[{client, server, r.service, s}];
    row.client = client;
    row.server = server;
    row.service = r.service;
    row.sensor = s;
    row.packets += r.packets;
    row.connections += r.connections;
    row.count = q.packets ? row.packets : row.connections;
  }
  std::vector<Row> out;
  for (auto& [key, row] : rows) out.push_back(row);
  std::sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
    return std::tie(b.count, a.client, a.server, a.service, a.sensor) <
           std::tie(a.count, b.client, b.server, b.service, b.sensor);
  });
  return out;
}

inline std::vector<std::string> Tsv(const std::vector<Row>& rows, bool by_sensor) {
  std::vector<std::string> lines = {by_sensor ? "count\tclient\tserver\tservice\tsensor"
                                              : "count\tclient\tserver\tservice"};
  for (const Row& r : rows) {
    lines.push_back(absl::StrCat(r.count, "\t", r.client, "\t", r.server, "\t", r.service,
                                 by_sensor ? absl::StrCat("\t", r.sensor) : ""));
  }
  return lines;
}

// --- The collector ----------------------------------------------------------------------------

// Slot `slot`'s batch: its records of Records(), timed by `times`.
inline synmap::v1::Batch MakeSlotBatch(const Times& times, int slot) {
  synmap::v1::Batch b;
  b.set_seq(kSlots[slot].seq);
  b.set_start_unix_ns(absl::ToUnixNanos(times.SlotStart(slot)));
  b.set_end_unix_ns(absl::ToUnixNanos(times.SlotStart(slot) + absl::Minutes(20)));
  uint64_t synacks = 0;
  for (const Rec& r : Records()) {
    if (r.slot != slot) continue;
    synmap::v1::Record* rec = b.add_records();
    rec->set_client_ip(IpBytes(r.client_ip));
    rec->set_server_ip(IpBytes(r.server_ip));
    rec->set_server_port(r.port);
    rec->set_packets(r.packets);
    rec->set_connections(r.connections);
    rec->set_first_seen_unix_ns(times.FirstNs(r));
    rec->set_last_seen_unix_ns(times.LastNs(r));
    synacks += r.packets;
  }
  b.mutable_stats()->set_synacks(synacks);
  b.mutable_stats()->set_packets_received(synacks + kExtraPacketsPerBatch);
  b.mutable_stats()->set_kernel_drops(kSlots[slot].kernel_drops);
  return b;
}

// Sends `sensor`'s slots to the collector on `port` as that sensor; true when each was acked.
inline bool SendSlots(const TestPki& pki, int port, const std::string& sensor, const Times& times) {
  SensorStream s(pki.Channel(port, sensor));
  if (!s.SendHello()) return false;
  std::optional<synmap::v1::CollectorMessage> hello = s.Receive();
  if (!hello.has_value() || !hello->has_hello_ack()) return false;
  for (int slot = 0; slot < 4; ++slot) {
    if (kSlots[slot].sensor != sensor) continue;
    if (!s.SendBatch(MakeSlotBatch(times, slot))) return false;
    std::optional<synmap::v1::CollectorMessage> ack = s.Receive();
    if (!ack.has_value() || !ack->has_ack() || ack->ack().seq() != kSlots[slot].seq) {
      return false;
    }
  }
  return s.Close().ok();
}

// A synmap-collector on a free loopback port, with `names` as its names file and SQLite store
// in `dir`, filled with every slot by sensors s1 and s2. Check port() != 0 and filled().
class FilledCollector {
 public:
  FilledCollector(const TestPki& pki, const TempDir& dir, const std::string& names = kNames) {
    times_.hour = HourNow();
    std::ofstream(dir.File("names.yaml")) << names;
    const common::TlsFiles col = pki.Files("col");
    process_ = std::make_unique<CollectorProcess>(
        CollectorBinary(),
        std::vector<std::string>{"--listen", "127.0.0.1:0", "--db", dir.File("synmap.db"),
                                 "--names", dir.File("names.yaml"), "--ca", col.ca_path, "--cert",
                                 col.cert_path, "--key", col.key_path});
    port_ = process_->WaitForPort();
    filled_ =
        port_ != 0 && SendSlots(pki, port_, "s1", times_) && SendSlots(pki, port_, "s2", times_);
  }
  int port() const { return port_; }
  bool filled() const { return filled_; }
  const Times& times() const { return times_; }
  std::string Log() const { return process_->Log(); }

 private:
  Times times_;
  std::unique_ptr<CollectorProcess> process_;
  int port_ = 0;
  bool filled_ = false;
};

}  // namespace synmap::testing
