// synmap-hostile: a gRPC/TLS client of synmap-collector that misbehaves in a chosen way
// (garbage bytes, stalled handshakes, idle streams, oversized or malformed batches, wrong
// certificates), or behaves well to measure ack latency (probe) and throughput (load).
// Each mode prints `key=value` lines and exits 0 when the collector answered as it must,
// 1 when it did not, 2 on a usage error.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/options.h"
#include "common/status/status_macros.h"
#include "tests/reliability/hostile/grpc_peers.h"
#include "tests/reliability/hostile/raw_peers.h"
#include "tests/reliability/hostile/traffic.h"

namespace synmap::reliability {
namespace {

constexpr char kUsage[] =
    "usage: synmap-hostile MODE --target 127.0.0.1:PORT [options]\n"
    "modes:\n"
    "  random-bytes  --connections N --bytes N          raw TCP garbage, one connection each\n"
    "  stall         --connections N --hold D           TCP opened, TLS handshake never finished\n"
    "  idle-streams  --streams N --channels N --hold D  Ingest streams after Hello, then idle\n"
    "  oversized                                        one message > 16 MiB\n"
    "  malformed                                        one batch per ingest limit + seq "
    "backwards\n"
    "  call          --rpc ingest|query --expect CODE   one call with the given certificate\n"
    "  forge         --seq N [--expect CODE]            one empty batch numbered N (sensor key)\n"
    "  probe         --records N --interval D --duration D   one good stream; ack latency\n"
    "  load          --cert-dir DIR --prefix P --streams N --records-per-batch N --duration D\n"
    "                [--window N] [--out FILE.tsv]      N good streams; records/s\n"
    "TLS: --ca CA.pem (verifies the collector) --cert C.pem --key C.key (omit: no certificate)\n";

const std::vector<common::OptionSpec>& Specs() {
  static const auto* specs = new std::vector<common::OptionSpec>{
      {"target", "HOST:PORT", "collector address"},
      {"ca", "CA.pem", "CA verifying the collector"},
      {"cert", "C.pem", "certificate to present"},
      {"key", "C.key", "its key"},
      {"connections", "N", "raw connections"},
      {"bytes", "N", "random bytes per connection"},
      {"seed", "N", "random seed"},
      {"hold", "DURATION", "how long to hold connections or streams"},
      {"streams", "N", "streams"},
      {"channels", "N", "TLS connections carrying the idle streams"},
      {"rpc", "ingest|query", "which RPC to call"},
      {"expect", "CODE", "gRPC status code the call must end with"},
      {"seq", "N", "forge: seq of the forged batch (0..2^64-1)"},
      {"records", "N", "records per probe batch"},
      {"interval", "DURATION", "probe batch interval"},
      {"duration", "DURATION", "how long to send"},
      {"cert-dir", "DIR", "load: certificate directory"},
      {"prefix", "P", "load: certificate name prefix (P0 .. P{N-1})"},
      {"records-per-batch", "N", "load: records per batch"},
      {"window", "N", "load: unacked batches per stream"},
      {"out", "FILE", "load: per-stream TSV (sensor, batches_acked, records_acked)"},
  };
  return *specs;
}

PeerOptions Peer(const common::OptionMap& o) {
  return {common::GetString(o, "target").value_or(""), common::GetString(o, "ca").value_or(""),
          common::GetString(o, "cert").value_or(""), common::GetString(o, "key").value_or("")};
}

// Announces that the attack is in place, so a script can wait for this line.
void PrintHolding(const std::string& mode, int held) {
  std::printf("%s holding=%d\n", mode.c_str(), held);
  std::fflush(stdout);
}

int Report(const RefusalResult& r) {
  std::printf("case=%s want=%s got=%s ok=%d message=\"%s\"\n", r.name.c_str(),
              CodeName(r.want).c_str(), CodeName(r.got).c_str(), r.ok() ? 1 : 0,
              r.message.substr(0, 200).c_str());
  return r.ok() ? 0 : 1;
}

void PrintLatency(const char* what, StreamReport& r) {
  std::printf(
      "%s sensor=%s batches_sent=%lld batches_acked=%lld records_acked=%lld "
      "duplicates=%lld ack_ms_p50=%.1f ack_ms_p99=%.1f ack_ms_max=%.1f error=\"%s\"\n",
      what, r.sensor.c_str(), static_cast<long long>(r.batches_sent),
      static_cast<long long>(r.batches_acked), static_cast<long long>(r.records_acked),
      static_cast<long long>(r.duplicates), Percentile(r.ack_ms, 50), Percentile(r.ack_ms, 99),
      Percentile(r.ack_ms, 100), r.error.c_str());
}

absl::StatusOr<int> RunRaw(const std::string& mode, const common::OptionMap& o) {
  RawAttackReport r;
  SYNMAP_ASSIGN_OR_RETURN(int64_t connections, common::GetInt(o, "connections", 200));
  const std::string target = Peer(o).target;
  absl::Status status;
  if (mode == "random-bytes") {
    SYNMAP_ASSIGN_OR_RETURN(int64_t bytes, common::GetInt(o, "bytes", 65536));
    SYNMAP_ASSIGN_OR_RETURN(int64_t seed, common::GetInt(o, "seed", 1));
    status = SendRandomBytes(target, static_cast<int>(connections), static_cast<int>(bytes),
                             static_cast<uint64_t>(seed), &r);
  } else {
    SYNMAP_ASSIGN_OR_RETURN(absl::Duration hold, common::GetDuration(o, "hold", absl::Seconds(20)));
    status = StallHandshakes(
        target, static_cast<int>(connections), hold, [&](int held) { PrintHolding(mode, held); },
        &r);
  }
  std::printf("%s connections_opened=%d connect_failures=%d bytes_sent=%lld closed_by_server=%d\n",
              mode.c_str(), r.connections_opened, r.connect_failures,
              static_cast<long long>(r.bytes_sent), r.closed_by_server);
  SYNMAP_RETURN_IF_ERROR(status);
  return 0;
}

absl::StatusOr<int> RunLoadMode(const common::OptionMap& o) {
  LoadOptions l;
  l.target = Peer(o).target;
  l.ca_path = Peer(o).ca_path;
  SYNMAP_ASSIGN_OR_RETURN(l.cert_dir, common::GetString(o, "cert-dir"));
  SYNMAP_ASSIGN_OR_RETURN(l.cert_prefix, common::GetString(o, "prefix", "load-s"));
  SYNMAP_ASSIGN_OR_RETURN(int64_t streams, common::GetInt(o, "streams", 100));
  SYNMAP_ASSIGN_OR_RETURN(int64_t rpb, common::GetInt(o, "records-per-batch", 1000));
  SYNMAP_ASSIGN_OR_RETURN(int64_t window, common::GetInt(o, "window", 4));
  SYNMAP_ASSIGN_OR_RETURN(l.duration, common::GetDuration(o, "duration", absl::Seconds(30)));
  l.streams = static_cast<int>(streams);
  l.records_per_batch = static_cast<int>(rpb);
  l.window = static_cast<int>(window);
  const absl::Time t0 = absl::Now();
  std::vector<StreamReport> reports = RunLoad(l);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  SYNMAP_ASSIGN_OR_RETURN(std::string out_path, common::GetString(o, "out"));
  std::ofstream out;
  if (!out_path.empty()) {
    out.open(out_path, std::ios::trunc);
    out << "sensor\tbatches_acked\trecords_acked\n";
  }
  StreamReport all;
  int failed = 0;
  for (StreamReport& r : reports) {
    all.batches_sent += r.batches_sent;
    all.batches_acked += r.batches_acked;
    all.records_acked += r.records_acked;
    all.duplicates += r.duplicates;
    all.ack_ms.insert(all.ack_ms.end(), r.ack_ms.begin(), r.ack_ms.end());
    if (!r.error.empty()) {
      ++failed;
      std::fprintf(stderr, "load stream %s: %s\n", r.sensor.c_str(), r.error.c_str());
    }
    if (out.is_open()) {
      out << r.sensor << "\t" << r.batches_acked << "\t" << r.records_acked << "\n";
    }
  }
  all.sensor = absl::StrCat(reports.size(), "_streams");
  PrintLatency("load", all);
  std::printf("load seconds=%.2f records_per_second=%.0f failed_streams=%d\n", seconds,
              static_cast<double>(all.records_acked) / seconds, failed);
  return failed == 0 && all.batches_acked == all.batches_sent && all.duplicates == 0 ? 0 : 1;
}

absl::StatusOr<int> RunMode(const std::string& mode, const common::OptionMap& o) {
  const PeerOptions peer = Peer(o);
  if (mode == "random-bytes" || mode == "stall") {
    return RunRaw(mode, o);
  }
  if (mode == "idle-streams") {
    SYNMAP_ASSIGN_OR_RETURN(int64_t streams, common::GetInt(o, "streams", 300));
    SYNMAP_ASSIGN_OR_RETURN(int64_t channels, common::GetInt(o, "channels", 30));
    SYNMAP_ASSIGN_OR_RETURN(absl::Duration hold, common::GetDuration(o, "hold", absl::Seconds(20)));
    int opened = 0;
    absl::Status s = HoldIdleStreams(
        peer, static_cast<int>(streams), static_cast<int>(std::max<int64_t>(1, channels)), hold,
        [&](int held) { PrintHolding(mode, held); }, &opened);
    std::printf("idle-streams wanted=%lld opened=%d\n", static_cast<long long>(streams), opened);
    SYNMAP_RETURN_IF_ERROR(s);
    return opened == streams ? 0 : 1;
  }
  if (mode == "oversized") {
    return Report(SendOversized(peer));
  }
  if (mode == "malformed") {
    int64_t acked_records = 0;
    int rc = 0;
    for (const RefusalResult& r : SendMalformedBatches(peer, &acked_records)) {
      rc |= Report(r);
    }
    std::printf("malformed valid_records_acked=%lld\n", static_cast<long long>(acked_records));
    return rc;
  }
  if (mode == "call") {
    SYNMAP_ASSIGN_OR_RETURN(std::string rpc, common::GetString(o, "rpc", "ingest"));
    SYNMAP_ASSIGN_OR_RETURN(std::string expect, common::GetString(o, "expect"));
    grpc::StatusCode want;
    if ((rpc != "ingest" && rpc != "query") || !ParseCodeName(expect, &want)) {
      return absl::InvalidArgumentError("call needs --rpc ingest|query and --expect CODE");
    }
    return Report(CallWithCertificate(peer, rpc == "ingest" ? Rpc::kIngest : Rpc::kQuery, want));
  }
  if (mode == "forge") {
    SYNMAP_ASSIGN_OR_RETURN(std::string seq_text, common::GetString(o, "seq"));
    SYNMAP_ASSIGN_OR_RETURN(std::string expect, common::GetString(o, "expect", "OK"));
    uint64_t seq = 0;
    grpc::StatusCode want;
    if (!absl::SimpleAtoi(seq_text, &seq) || !ParseCodeName(expect, &want)) {
      return absl::InvalidArgumentError("forge needs --seq N (0..2^64-1) and --expect CODE");
    }
    std::string ack;
    const RefusalResult r = ForgeBatch(peer, seq, want, &ack);
    std::printf("forge seq=%llu ack=%s\n", static_cast<unsigned long long>(seq), ack.c_str());
    return Report(r);
  }
  if (mode == "probe") {
    SYNMAP_ASSIGN_OR_RETURN(int64_t records, common::GetInt(o, "records", 20));
    SYNMAP_ASSIGN_OR_RETURN(absl::Duration interval,
                            common::GetDuration(o, "interval", absl::Milliseconds(200)));
    SYNMAP_ASSIGN_OR_RETURN(absl::Duration duration,
                            common::GetDuration(o, "duration", absl::Seconds(10)));
    StreamReport r = RunProbe(peer, static_cast<int>(records), interval, duration);
    PrintLatency("probe", r);
    return r.error.empty() && r.batches_acked > 0 ? 0 : 1;
  }
  if (mode == "load") {
    return RunLoadMode(o);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown mode '", mode, "'"));
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string mode = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  absl::StatusOr<common::OptionMap> flags = common::ParseFlags(args, Specs(), nullptr);
  if (!flags.ok()) {
    std::cerr << "synmap-hostile: " << flags.status().message() << "\n" << kUsage;
    return 2;
  }
  absl::StatusOr<int> rc = RunMode(mode, *flags);
  std::fflush(stdout);
  if (!rc.ok()) {
    std::cerr << "synmap-hostile " << mode << ": " << rc.status().message() << "\n";
    return rc.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return *rc;
}

}  // namespace
}  // namespace synmap::reliability

int main(int argc, char** argv) { return synmap::reliability::Main(argc, argv); }
