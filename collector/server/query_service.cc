#include "collector/server/query_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "collector/server/access_control.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "common/tls/peer_identity.h"

namespace synmap::collector {

template <typename Request, typename Response, typename Method>
grpc::ServerUnaryReactor* QueryService::Serve(grpc::CallbackServerContext* context, const char* rpc,
                                              const Request* request, Response* response,
                                              Method method) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<common::PeerIdentity> identity =
      AuthorizePeer(*context, rpc, common::kRoleReader, refusals_, revocations_);
  if (!identity.ok()) {
    reactor->Finish(ToGrpcStatus(identity.status()));
    return reactor;
  }
  absl::StatusOr<Response> result = (engine_.*method)(*request);
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kInvalidArgument) {
      refusals_.Add("bad_query");
    }
    SYNMAP_LOG(WARNING) << "query_failed rpc=" << rpc << " reader=" << identity->name
                        << " status=" << result.status();
    reactor->Finish(ToGrpcStatus(result.status()));
    return reactor;
  }
  if (const size_t bytes = result->ByteSizeLong(); bytes > kMaxAnswerBytes) {
    refusals_.Add("answer_too_large");
    SYNMAP_LOG(WARNING) << "query_refused rpc=" << rpc << " reader=" << identity->name
                        << " answer_bytes=" << bytes;
    reactor->Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("the answer would be ", bytes >> 20, " MiB, over the ", kMaxAnswerBytes >> 20,
                     " MiB limit of one answer; narrow the window, add filters or use --top")));
    return reactor;
  }
  *response = *std::move(result);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* QueryService::Summary(grpc::CallbackServerContext* context,
                                                const synmap::v1::SummaryRequest* request,
                                                synmap::v1::SummaryResponse* response) {
  return Serve(context, "Query.Summary", request, response, &QueryEngine::Summary);
}
grpc::ServerUnaryReactor* QueryService::NewServices(grpc::CallbackServerContext* context,
                                                    const synmap::v1::NewServicesRequest* request,
                                                    synmap::v1::NewServicesResponse* response) {
  return Serve(context, "Query.NewServices", request, response, &QueryEngine::NewServices);
}
grpc::ServerUnaryReactor* QueryService::GoneServices(grpc::CallbackServerContext* context,
                                                     const synmap::v1::GoneServicesRequest* request,
                                                     synmap::v1::GoneServicesResponse* response) {
  return Serve(context, "Query.GoneServices", request, response, &QueryEngine::GoneServices);
}
grpc::ServerUnaryReactor* QueryService::Sensors(grpc::CallbackServerContext* context,
                                                const synmap::v1::SensorsRequest* request,
                                                synmap::v1::SensorsResponse* response) {
  return Serve(context, "Query.Sensors", request, response, &QueryEngine::Sensors);
}
grpc::ServerUnaryReactor* QueryService::Hosts(grpc::CallbackServerContext* context,
                                              const synmap::v1::HostsRequest* request,
                                              synmap::v1::HostsResponse* response) {
  return Serve(context, "Query.Hosts", request, response, &QueryEngine::Hosts);
}
grpc::ServerUnaryReactor* QueryService::Services(grpc::CallbackServerContext* context,
                                                 const synmap::v1::ServicesRequest* request,
                                                 synmap::v1::ServicesResponse* response) {
  return Serve(context, "Query.Services", request, response, &QueryEngine::Services);
}
grpc::ServerUnaryReactor* QueryService::Export(grpc::CallbackServerContext* context,
                                               const synmap::v1::ExportRequest* request,
                                               synmap::v1::ExportResponse* response) {
  return Serve(context, "Query.Export", request, response, &QueryEngine::Export);
}

}  // namespace synmap::collector
