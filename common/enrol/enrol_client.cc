#include "common/enrol/enrol_client.h"

#include <fcntl.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/enrol/enrolment_token.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/tls/certificate_check.h"
#include "common/tls/certificate_request.h"
#include "common/tls/internal/openssl_handles.h"
#include "common/tls/peer_identity.h"
#include "common/tls/pinned_tls.h"
#include "synmap/v1/enrol.grpc.pb.h"

namespace synmap::common {
namespace {

// Writes `content` to `path` through a temporary file in the same directory (mode `mode`,
// fsynced) renamed over it, so a reader sees the old or the new file, never a torn one.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view content, mode_t mode) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("create ", tmp));
  }
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const int error = errno;
      close(fd);
      unlink(tmp.c_str());
      return absl::ErrnoToStatus(error, absl::StrCat("write ", tmp));
    }
    written += static_cast<size_t>(n);
  }
  // The mode is set again in case the file already existed with another one.
  if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
    const int error = errno;
    close(fd);
    unlink(tmp.c_str());
    return absl::ErrnoToStatus(error, absl::StrCat("sync ", tmp));
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    unlink(tmp.c_str());
    return absl::ErrnoToStatus(error, absl::StrCat("rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

// Checks a chain the collector signed: it verifies against `ca_pem` now (as a client
// certificate), is for `key_pem`, and names `name` and `role`.
absl::Status CheckIssuedChain(const std::string& chain_pem, const std::string& ca_pem,
                              const std::string& key_pem, absl::string_view name,
                              absl::string_view role) {
  const CertificateVerdict verdict = CheckCertificateChain(chain_pem, ca_pem, absl::Now());
  if (verdict.problem != CertificateProblem::kNone) {
    return absl::DataLossError(
        absl::StrCat("the collector's certificate does not verify: ", verdict.detail));
  }
  internal::X509Handle cert = internal::ParseFirstCertificate(chain_pem);
  internal::BioHandle bio = internal::MemoryBio(key_pem);
  internal::EvpPkeyHandle key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr || key == nullptr || X509_check_private_key(cert.get(), key.get()) != 1) {
    internal::TakeOpenSslError();
    return absl::DataLossError("the collector's certificate is not for this key");
  }
  SYNMAP_ASSIGN_OR_RETURN(PeerIdentity identity, ParseCertificateIdentity(chain_pem));
  if (identity.name != name || identity.role != role) {
    return absl::DataLossError(absl::StrCat("the collector's certificate is for ", identity.name,
                                            " (", identity.role, "), not ", name, " (", role, ")"));
  }
  return absl::OkStatus();
}

std::chrono::system_clock::time_point DeadlineAfter(absl::Duration timeout) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout);
}

}  // namespace

absl::Status EnrolOptions::Validate() const {
  if (collector.empty() || collector.rfind(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--collector '", collector,
                                                   "' is not HOST:PORT (the collector's "
                                                   "--enrol-listen address)"));
  }
  if (role != kRoleSensor && role != kRoleReader) {
    return absl::InvalidArgumentError(absl::StrCat("role '", role, "' is not sensor or reader"));
  }
  if (out.ca_path.empty() || out.cert_path.empty() || out.key_path.empty()) {
    return absl::InvalidArgumentError("--ca, --cert and --key (the files to write) are required");
  }
  if (timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeout must be positive");
  }
  SYNMAP_RETURN_IF_ERROR(NormalizeFingerprint(ca_fingerprint).status());
  return EnrolmentTokenName(token).status();
}

absl::StatusOr<EnrolResult> Enroll(const EnrolOptions& options) {
  SYNMAP_RETURN_IF_ERROR(options.Validate());
  SYNMAP_ASSIGN_OR_RETURN(std::string fingerprint, NormalizeFingerprint(options.ca_fingerprint));
  SYNMAP_ASSIGN_OR_RETURN(std::string name, EnrolmentTokenName(options.token));
  if (!options.name.empty()) {
    name = options.name;
  }
  if (!options.replace) {
    for (const std::string* path : {&options.out.cert_path, &options.out.key_path}) {
      if (std::filesystem::exists(*path)) {
        return absl::FailedPreconditionError(
            absl::StrCat(*path, " exists: this host is enrolled already (--force to enrol again)"));
      }
    }
  }
  SYNMAP_ASSIGN_OR_RETURN(std::string key_pem, GeneratePrivateKeyPem());
  v1::EnrollRequest request;
  request.set_token(options.token);
  SYNMAP_ASSIGN_OR_RETURN(*request.mutable_csr_pem(),
                          MakeCertificateRequest(key_pem, name, options.role));
  auto stub = v1::Enrolment::NewStub(MakePinnedChannel(options.collector, fingerprint));
  grpc::ClientContext context;
  context.set_deadline(DeadlineAfter(options.timeout));
  v1::EnrollResponse response;
  if (absl::Status s = FromGrpcStatus(stub->Enroll(&context, request, &response)); !s.ok()) {
    return Annotate(s, absl::StrCat("enrol at ", options.collector));
  }
  absl::StatusOr<std::string> ca_fingerprint = CertificateFingerprint(response.ca_pem());
  if (!ca_fingerprint.ok() || *ca_fingerprint != fingerprint) {
    return absl::DataLossError("the collector sent a CA that does not have the pinned fingerprint");
  }
  SYNMAP_RETURN_IF_ERROR(CheckIssuedChain(response.certificate_chain_pem(), response.ca_pem(),
                                          key_pem, name, options.role));
  SYNMAP_RETURN_IF_ERROR(WriteFileAtomically(options.out.key_path, key_pem, 0600));
  SYNMAP_RETURN_IF_ERROR(
      WriteFileAtomically(options.out.cert_path, response.certificate_chain_pem(), 0644));
  SYNMAP_RETURN_IF_ERROR(WriteFileAtomically(options.out.ca_path, response.ca_pem(), 0644));
  SYNMAP_ASSIGN_OR_RETURN(absl::Time not_after,
                          CertificateNotAfter(response.certificate_chain_pem()));
  return EnrolResult{.name = std::move(name), .not_after = not_after};
}

namespace {

// One Renew call to `collector` for the identity of `material`; the new chain once checked.
absl::StatusOr<std::string> RenewAt(const std::string& collector, const TlsMaterial& material,
                                    const PeerIdentity& self, const v1::RenewRequest& request,
                                    const RenewalOptions& options) {
  auto stub = v1::Renewal::NewStub(MakeChannel(collector, material, options.channel));
  grpc::ClientContext context;
  context.set_deadline(DeadlineAfter(options.timeout));
  v1::RenewResponse response;
  if (absl::Status s = FromGrpcStatus(stub->Renew(&context, request, &response)); !s.ok()) {
    return Annotate(s, absl::StrCat("renew at ", collector));
  }
  SYNMAP_RETURN_IF_ERROR(
      Annotate(CheckIssuedChain(response.certificate_chain_pem(), material.ca_pem, material.key_pem,
                                self.name, self.role),
               absl::StrCat("renew at ", collector)));
  return std::move(*response.mutable_certificate_chain_pem());
}

}  // namespace

absl::StatusOr<absl::Time> RenewCertificate(const RenewalOptions& options) {
  if (options.collectors.empty()) {
    return absl::InvalidArgumentError("renew: no collector to ask");
  }
  SYNMAP_ASSIGN_OR_RETURN(TlsMaterial material, LoadTlsMaterial(options.files));
  SYNMAP_ASSIGN_OR_RETURN(PeerIdentity self, ParseCertificateIdentity(material.cert_pem));
  v1::RenewRequest request;
  SYNMAP_ASSIGN_OR_RETURN(*request.mutable_csr_pem(),
                          MakeCertificateRequest(material.key_pem, self.name, self.role));
  absl::Status first_failure;
  std::string failures;
  for (const std::string& collector : options.collectors) {
    absl::StatusOr<std::string> chain = RenewAt(collector, material, self, request, options);
    if (chain.ok()) {
      SYNMAP_RETURN_IF_ERROR(WriteFileAtomically(options.files.cert_path, *chain, 0644));
      return CertificateNotAfter(*chain);
    }
    if (first_failure.ok()) {
      first_failure = chain.status();
    }
    absl::StrAppend(&failures, failures.empty() ? "" : "; ", chain.status().message());
  }
  return absl::Status(first_failure.code(), failures);
}

absl::StatusOr<absl::Time> RenewalDue(absl::string_view cert_pem) {
  internal::X509Handle cert = internal::ParseFirstCertificate(cert_pem);
  if (cert == nullptr) {
    internal::TakeOpenSslError();
    return absl::InvalidArgumentError("certificate does not parse");
  }
  const absl::Time start = internal::ToAbslTime(X509_get0_notBefore(cert.get()));
  const absl::Time end = internal::ToAbslTime(X509_get0_notAfter(cert.get()));
  return start + (end - start) * 2 / 3;
}

}  // namespace synmap::common
