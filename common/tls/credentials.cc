#include "common/tls/credentials.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/channel_arguments.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/tls/internal/peer_chain.h"
#include "common/tls/reloading_credentials.h"

namespace synmap::common {

namespace {

// Verifies each client's chain with CheckCertificateChain, synchronously, on the handshake's
// own thread. Immutable after construction; thread-safe.
class ClientChainVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  ClientChainVerifier(std::string ca_pem, const Clock& clock, CertificateRefusalSink on_refused,
                      const CrlHolder* crl)
      : ca_pem_(std::move(ca_pem)), clock_(clock), on_refused_(std::move(on_refused)), crl_(crl) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    const std::string chain = internal::PeerChainPem(*request);
    const std::shared_ptr<const CertificateRevocationList> crl =
        crl_ != nullptr ? crl_->Get() : nullptr;
    const CertificateVerdict verdict =
        CheckCertificateChain(chain, ca_pem_, clock_.Now(), crl.get());
    if (verdict.problem == CertificateProblem::kNone) {
      *sync_status = grpc::Status::OK;
      return true;
    }
    if (on_refused_) {
      on_refused_(verdict);
    }
    *sync_status =
        grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                     absl::StrCat(CertificateProblemReason(verdict.problem), ": ", verdict.detail));
    return true;
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest* /*request*/) override {}

 private:
  const std::string ca_pem_;
  const Clock& clock_;
  const CertificateRefusalSink on_refused_;
  const CrlHolder* const crl_;  // May be null.
};

}  // namespace

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsMaterial& material,
                                                               const Clock& clock,
                                                               CertificateRefusalSink on_refused,
                                                               const CrlHolder* crl,
                                                               const TlsFiles* reload_from) {
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (reload_from != nullptr) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        reload_from->key_path, reload_from->cert_path, reload_from->ca_path,
        static_cast<unsigned int>(absl::ToInt64Seconds(kTlsFileRefreshInterval)));
  } else {
    provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
        material.ca_pem, std::vector<grpc::experimental::IdentityKeyCertPair>{
                             {material.key_pem, material.cert_pem}});
  }
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  // gRPC's own chain check would refuse with one undifferentiated "certificate verify failed";
  // ClientChainVerifier does the same check and names the problem. A client without a
  // certificate is still refused by gRPC (REQUIRE).
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<ClientChainVerifier>(
          material.ca_pem, clock, std::move(on_refused), crl));
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ServerCredentials> MakeInsecureServerCredentialsForTesting() {
  return grpc::InsecureServerCredentials();
}

std::shared_ptr<grpc::ChannelCredentials> MakeClientCredentials(const TlsMaterial& material) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = material.ca_pem;
  options.pem_private_key = material.key_pem;
  options.pem_cert_chain = material.cert_pem;
  return grpc::SslCredentials(options);
}

std::shared_ptr<grpc::Channel> MakeChannel(absl::string_view target, const TlsMaterial& material,
                                           const ChannelOptions& options) {
  return MakeChannel(target, MakeClientCredentials(material), options);
}

std::shared_ptr<grpc::Channel> MakeChannel(absl::string_view target,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials,
                                           const ChannelOptions& options) {
  grpc::ChannelArguments args;
  if (!options.target_name_override.empty()) {
    args.SetSslTargetNameOverride(options.target_name_override);
  }
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  return grpc::CreateCustomChannel(std::string(target), std::move(credentials), args);
}

}  // namespace synmap::common
