#include "collector/server/query_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "collector/server/access_control.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "common/tls/peer_identity.h"
#include "google/protobuf/arena.h"

namespace synmap::collector {
namespace {

// "1024 MiB", or bytes below a MiB.
std::string ByteSize(size_t bytes) {
  return bytes >= (size_t{1} << 20) ? absl::StrCat(bytes >> 20, " MiB")
                                    : absl::StrCat(bytes, " bytes");
}

}  // namespace

template <typename Request, typename Response, typename Fill>
grpc::ServerUnaryReactor* QueryService::ServeInto(grpc::CallbackServerContext* context,
                                                  const char* rpc, const Request* request,
                                                  Response* response, Fill fill) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<common::PeerIdentity> identity =
      AuthorizePeer(*context, rpc, common::kRoleReader, refusals_, revocations_);
  if (!identity.ok()) {
    reactor->Finish(ToGrpcStatus(identity.status()));
    return reactor;
  }
  if (absl::Status status = fill(*request, response); !status.ok()) {
    if (status.code() == absl::StatusCode::kInvalidArgument) {
      refusals_.Add("bad_query");
    }
    SYNMAP_LOG(WARNING) << "query_failed rpc=" << rpc << " reader=" << identity->name
                        << " status=" << status;
    response->Clear();
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  if (const size_t bytes = response->ByteSizeLong(); bytes > max_answer_bytes_) {
    refusals_.Add("answer_too_large");
    SYNMAP_LOG(WARNING) << "query_refused rpc=" << rpc << " reader=" << identity->name
                        << " answer_bytes=" << bytes;
    response->Clear();
    reactor->Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("the answer would be ", ByteSize(bytes), ", over the ",
                     ByteSize(max_answer_bytes_),
                     " limit of one answer; narrow the window, add filters or use --top")));
    return reactor;
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* QueryService::Serve(
    grpc::CallbackServerContext* context, const char* rpc, const Request* request,
    Response* response, absl::StatusOr<Response> (QueryEngine::*method)(const Request&) const) {
  const QueryEngine& engine = engine_;
  return ServeInto(context, rpc, request, response,
                   [&engine, method](const Request& r, Response* out) -> absl::Status {
                     absl::StatusOr<Response> result = (engine.*method)(r);
                     if (!result.ok()) {
                       return result.status();
                     }
                     *out = *std::move(result);
                     return absl::OkStatus();
                   });
}

namespace {

// A request and its response in one arena, freed at once when gRPC releases them.
class ArenaHolder final
    : public grpc::MessageHolder<synmap::v1::SummaryRequest, synmap::v1::SummaryResponse> {
 public:
  ArenaHolder() : arena_(Options()) {
    set_request(google::protobuf::Arena::CreateMessage<synmap::v1::SummaryRequest>(&arena_));
    set_response(google::protobuf::Arena::CreateMessage<synmap::v1::SummaryResponse>(&arena_));
  }
  void Release() override { delete this; }

 private:
  static google::protobuf::ArenaOptions Options() {
    google::protobuf::ArenaOptions options;
    options.max_block_size = size_t{1} << 20;  // A big answer in MiB blocks (default 8 KiB).
    return options;
  }
  google::protobuf::Arena arena_;
};

}  // namespace

grpc::MessageHolder<synmap::v1::SummaryRequest, synmap::v1::SummaryResponse>*
QueryService::SummaryArenas::AllocateMessages() {
  return new ArenaHolder();
}

grpc::ServerUnaryReactor* QueryService::Summary(grpc::CallbackServerContext* context,
                                                const synmap::v1::SummaryRequest* request,
                                                synmap::v1::SummaryResponse* response) {
  // Into the response itself, which lives in an arena (the service's message allocator). The
  // engine is captured, not this, as in Serve.
  const QueryEngine& engine = engine_;
  return ServeInto(context, "Query.Summary", request, response,
                   [&engine](const synmap::v1::SummaryRequest& r,
                             synmap::v1::SummaryResponse* out) { return engine.Summary(r, out); });
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
