#include "collector/server/enrol_service.h"

#include <string>

#include "collector/server/access_control.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "common/tls/peer_identity.h"

namespace synmap::collector {
namespace {

// Counts and logs a refusal (when `result` is one) and answers the call.
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, const char* event,
                                 const std::string& who, const IssueResult& result,
                                 RefusalCounters& refusals) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!result.refusal_reason.empty()) {
    refusals.Add(result.refusal_reason);
    SYNMAP_LOG(WARNING) << event << " peer=" << context->peer() << " name=" << who
                        << " reason=" << result.refusal_reason << " detail=\""
                        << result.status.message() << "\"";
  } else if (!result.status.ok()) {
    SYNMAP_LOG(WARNING) << event << " peer=" << context->peer() << " name=" << who
                        << " status=" << result.status;
  }
  reactor->Finish(ToGrpcStatus(result.status));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* EnrolmentService::Enroll(grpc::CallbackServerContext* context,
                                                   const synmap::v1::EnrollRequest* request,
                                                   synmap::v1::EnrollResponse* response) {
  IssueResult result = registrar_.Enroll(request->token(), request->csr_pem());
  if (result.status.ok()) {
    response->set_certificate_chain_pem(result.certificate_chain_pem);
    response->set_ca_pem(registrar_.ca().root_ca_pem());
    SYNMAP_LOG(INFO) << "enrolled peer=" << context->peer();
  }
  return Answer(context, "enrol_refused", "-", result, refusals_);
}

grpc::ServerUnaryReactor* RenewalService::Renew(grpc::CallbackServerContext* context,
                                                const synmap::v1::RenewRequest* request,
                                                synmap::v1::RenewResponse* response) {
  absl::StatusOr<common::PeerIdentity> identity = common::PeerIdentityFromContext(*context);
  if (!identity.ok()) {
    IssueResult refused;
    refused.status = identity.status();
    refused.refusal_reason = "unauthenticated";
    return Answer(context, "renew_refused", "-", refused, refusals_);
  }
  IssueResult result =
      registrar_.Renew(*identity, PeerCertificatePem(*context), request->csr_pem());
  if (result.status.ok()) {
    response->set_certificate_chain_pem(result.certificate_chain_pem);
    SYNMAP_LOG(INFO) << "certificate_renewed_for name=" << identity->name
                     << " role=" << identity->role << " peer=" << identity->address;
  }
  return Answer(context, "renew_refused", identity->name, result, refusals_);
}

}  // namespace synmap::collector
