#include "tests/reliability/hostile/peer_common.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"
#include "common/tls/tls_files.h"

namespace synmap::reliability {

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakePeerChannel(const PeerOptions& options) {
  grpc::SslCredentialsOptions ssl;
  SYNMAP_ASSIGN_OR_RETURN(ssl.pem_root_certs, common::ReadPemFile("ca", options.ca_path));
  if (!options.cert_path.empty()) {
    SYNMAP_ASSIGN_OR_RETURN(ssl.pem_cert_chain, common::ReadPemFile("cert", options.cert_path));
    SYNMAP_ASSIGN_OR_RETURN(ssl.pem_private_key, common::ReadPemFile("key", options.key_path));
  }
  grpc::ChannelArguments args;
  // Each channel gets its own connection, so N channels are N TLS sessions at the collector.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(16 << 20);
  args.SetMaxSendMessageSize(-1);
  return grpc::CreateCustomChannel(options.target, grpc::SslCredentials(ssl), args);
}

synmap::v1::SensorMessage MakeHello() {
  // One boot id per process, as a real sensor has: a stream this process opens after one the
  // collector has not yet seen end replaces it, instead of being refused as a clone.
  static const std::string boot_id =
      absl::StrCat("synmap-hostile-", getpid(), "-", absl::ToUnixNanos(absl::Now()));
  synmap::v1::SensorMessage hello;
  hello.mutable_hello()->set_boot_id(boot_id);
  hello.mutable_hello()->set_protocol_version(1);
  hello.mutable_hello()->set_software_version("synmap-hostile");
  hello.mutable_hello()->add_interfaces("synthetic");
  return hello;
}

synmap::v1::Batch MakeValidBatch(uint64_t seq, int records, int64_t end_unix_ns) {
  synmap::v1::Batch b;
  b.set_seq(seq);
  b.set_start_unix_ns(end_unix_ns - 10'000'000'000);
  b.set_end_unix_ns(end_unix_ns);
  b.mutable_stats()->set_packets_received(static_cast<uint64_t>(records) * kPacketsPerRecord);
  b.mutable_stats()->set_synacks(static_cast<uint64_t>(records) * kPacketsPerRecord);
  for (int i = 0; i < records; ++i) {
    synmap::v1::Record* r = b.add_records();
    const char client[4] = {10, static_cast<char>(i >> 16), static_cast<char>(i >> 8),
                            static_cast<char>(i & 0xff)};
    const char server[4] = {10, static_cast<char>(200), 0, static_cast<char>(i % 50)};
    r->set_client_ip(std::string(client, 4));
    r->set_server_ip(std::string(server, 4));
    r->set_server_port(static_cast<uint32_t>(1 + (i % 7) * 1000));
    r->set_packets(kPacketsPerRecord);
    r->set_connections(kConnectionsPerRecord);
    r->set_first_seen_unix_ns(end_unix_ns - 9'000'000'000);
    r->set_last_seen_unix_ns(end_unix_ns - 1'000'000'000);
  }
  return b;
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const size_t index =
      static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size())));
  return values[index - 1];
}

}  // namespace synmap::reliability
