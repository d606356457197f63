#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "common/time/clock.h"
#include "common/tls/certificate_check.h"
#include "common/tls/crl.h"
#include "common/tls/tls_files.h"

namespace grpc {
class Channel;
class ChannelCredentials;
class ServerCredentials;
}  // namespace grpc

namespace synmap::common {

// Told of each client certificate the server refuses, on the gRPC thread doing that handshake,
// before the handshake fails. Must be quick and thread-safe.
using CertificateRefusalSink = std::function<void(const CertificateVerdict&)>;

// Server credentials that present `material`'s certificate and require every client to send
// a certificate that verifies against `material.ca_pem` at `clock`'s time: a client without
// one, or with one from another CA or out of its validity period, fails the TLS handshake.
// The chain is verified by CheckCertificateChain inside the handshake (gRPC's certificate
// verifier hook, with gRPC's own chain check turned off so that the exact problem is known:
// expired, not yet valid, unknown CA), and `on_refused` (if set) is told why. gRPC itself
// still refuses a client that sends no certificate. With `crl`, a client certificate that the
// CRL in force at its handshake lists is refused too (CertificateProblem::kRevoked). With
// `reload_from` (the files `material` was loaded from), the server's own certificate and key are
// re-read from them every 5 s (gRPC's file watcher): a replaced certificate is presented from the
// next handshake on, without a restart. `clock` and `crl` must outlive the credentials and every
// server built with them.
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    const TlsMaterial& material, const Clock& clock = RealClock::Get(),
    CertificateRefusalSink on_refused = nullptr, const CrlHolder* crl = nullptr,
    const TlsFiles* reload_from = nullptr);

// Plaintext server credentials for the binaries' explicit --insecure-for-testing flag only.
// Calls over them carry no certificate, so PeerIdentityFromContext refuses every one of them.
std::shared_ptr<grpc::ServerCredentials> MakeInsecureServerCredentialsForTesting();

// Client credentials that present `material`'s certificate and verify the server's against
// `material.ca_pem`.
std::shared_ptr<grpc::ChannelCredentials> MakeClientCredentials(const TlsMaterial& material);

// Options for MakeChannel. Plain data.
struct ChannelOptions {
  // When not empty, the name checked against the server certificate instead of the host in
  // the target (tests connect to 127.0.0.1 with a cert for "localhost"; also for IP targets
  // whose cert lacks the IP SAN).
  std::string target_name_override;
  // Largest message the client accepts, in bytes.
  int max_receive_message_bytes = 16 << 20;
};

// A mutual-TLS channel to `target` ("host:port"). Connects lazily; never fails here.
std::shared_ptr<grpc::Channel> MakeChannel(absl::string_view target, const TlsMaterial& material,
                                           const ChannelOptions& options = {});
// The same over other client credentials (MakeReloadingClientCredentials).
std::shared_ptr<grpc::Channel> MakeChannel(absl::string_view target,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials,
                                           const ChannelOptions& options = {});

}  // namespace synmap::common
