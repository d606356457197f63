#pragma once

#include <memory>

#include "absl/time/time.h"
#include "common/tls/tls_files.h"

namespace grpc {
class ChannelCredentials;
}  // namespace grpc

namespace synmap::common {

// How often reloading credentials look at their files.
inline constexpr absl::Duration kTlsFileRefreshInterval = absl::Seconds(5);

// Client credentials like MakeClientCredentials, but read from `files` and re-read every
// `refresh` (gRPC's FileWatcherCertificateProvider): a certificate replaced in place (renewal)
// is presented from the next TLS handshake on, without a restart, and open connections are not
// disturbed. The server's certificate is verified against the CA file and the target name (or
// the channel's target name override). Replace a file by renaming a complete new one over it;
// keep the key when renewing, since key and certificate are read one after the other.
std::shared_ptr<grpc::ChannelCredentials> MakeReloadingClientCredentials(
    const TlsFiles& files, absl::Duration refresh = kTlsFileRefreshInterval);

}  // namespace synmap::common
