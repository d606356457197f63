#pragma once

#include <grpcpp/security/tls_certificate_verifier.h>

#include <string>

namespace synmap::common::internal {

// The PEM chain a certificate verifier hook checks: the peer's own certificate first, then the
// rest of the chain it sent. On a server gRPC's full chain omits the peer's certificate
// (OpenSSL's SSL_get_peer_cert_chain); on a client it may include it, and a duplicate leaf does
// no harm, so the leaf is always put in front.
inline std::string PeerChainPem(
    const grpc::experimental::TlsCustomVerificationCheckRequest& request) {
  const grpc::string_ref leaf = request.peer_cert();
  const grpc::string_ref rest = request.peer_cert_full_chain();
  std::string chain(leaf.data(), leaf.size());
  chain.append("\n").append(rest.data(), rest.size());
  return chain;
}

}  // namespace synmap::common::internal
