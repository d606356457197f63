#include "common/tls/pinned_tls.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/channel_arguments.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/tls/internal/fingerprint.h"
#include "common/tls/internal/openssl_handles.h"
#include "common/tls/internal/peer_chain.h"
#include "common/tls/peer_identity.h"

namespace synmap::common {
namespace {

using internal::X509Handle;

// Why the server's chain `chain_pem` (its certificate first) is not accepted under the pin
// `fingerprint`; empty when it is.
std::string PinnedChainProblem(const std::string& chain_pem, const std::string& fingerprint) {
  std::vector<X509Handle> chain = internal::ParseAllCertificates(chain_pem);
  if (chain.empty()) {
    return "the server sent no certificate";
  }
  X509* anchor = nullptr;
  for (X509Handle& cert : chain) {
    if (internal::FingerprintOf(cert.get()) == fingerprint) {
      anchor = cert.get();
    }
  }
  if (anchor == nullptr) {
    return absl::StrCat("no CA with fingerprint ", fingerprint,
                        " in the server's certificate chain (wrong --ca-fingerprint, or not the "
                        "collector's enrolment port)");
  }
  internal::X509StoreHandle store(X509_STORE_new());
  internal::X509StackHandle untrusted(sk_X509_new_null());
  internal::X509StoreCtxHandle ctx(X509_STORE_CTX_new());
  for (size_t i = 1; i < chain.size() && untrusted != nullptr; ++i) {
    sk_X509_push(untrusted.get(), chain[i].get());
  }
  if (store == nullptr || untrusted == nullptr || ctx == nullptr ||
      X509_STORE_add_cert(store.get(), anchor) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), chain.front().get(), untrusted.get()) != 1 ||
      X509_STORE_CTX_set_default(ctx.get(), "ssl_server") != 1) {
    ERR_clear_error();
    return "cannot set up the certificate check";
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::StrCat("the server certificate does not verify against the pinned CA: ",
                        X509_verify_cert_error_string(error));
  }
  absl::StatusOr<PeerIdentity> identity = ParseCertificateIdentity(chain_pem);
  if (!identity.ok() || identity->role != kRoleCollector) {
    return "the server certificate is not a collector's (OU=collector)";
  }
  return "";
}

// Accepts the server when PinnedChainProblem finds nothing. Immutable; thread-safe.
class PinnedCaVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit PinnedCaVerifier(std::string fingerprint) : fingerprint_(std::move(fingerprint)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    const std::string problem = PinnedChainProblem(internal::PeerChainPem(*request), fingerprint_);
    *sync_status = problem.empty() ? grpc::Status::OK
                                   : grpc::Status(grpc::StatusCode::UNAUTHENTICATED, problem);
    return true;
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest* /*request*/) override {}

 private:
  const std::string fingerprint_;
};

}  // namespace

std::shared_ptr<grpc::ServerCredentials> MakeServerAuthenticatedCredentials(
    const TlsMaterial& material) {
  auto provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      std::vector<grpc::experimental::IdentityKeyCertPair>{
          {material.key_pem, absl::StrCat(material.cert_pem, "\n", material.ca_pem)}});
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::Channel> MakePinnedChannel(absl::string_view target,
                                                 absl::string_view ca_fingerprint,
                                                 const ChannelOptions& options) {
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_verify_server_certs(false);  // PinnedCaVerifier does the whole check.
  tls.set_check_call_host(false);
  tls.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<PinnedCaVerifier>(
          std::string(ca_fingerprint)));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  return grpc::CreateCustomChannel(std::string(target), grpc::experimental::TlsCredentials(tls),
                                   args);
}

}  // namespace synmap::common
