#pragma once

#include <cstddef>

#include "collector/query/query_engine.h"
#include "collector/server/refusal_counters.h"
#include "collector/server/revocation_list.h"
#include "grpcpp/support/message_allocator.h"
#include "synmap/v1/query.grpc.pb.h"

namespace synmap::collector {

// The Query service adapter: checks the peer (certificate OU "reader", not revoked), runs the
// QueryEngine and maps its Status to gRPC. Unary callback methods; a query runs on the gRPC
// callback thread that received it and reads only a store snapshot. Borrows `engine` and
// `refusals`, which must outlive it. Thread-safe. An answer larger than kMaxAnswerBytes is refused
// with RESOURCE_EXHAUSTED (counted as refusal "answer_too_large") instead of being sent.
// Summary answers are made in a protobuf arena per call (the service's message allocator).
class QueryService final : public synmap::v1::Query::CallbackService {
 public:
  // The largest answer sent (query.proto): clients accept messages of this size.
  static constexpr size_t kMaxAnswerBytes = size_t{1} << 30;

  // `revocations` (may be null: none enforced) must outlive the service too. Answers over
  // `max_answer_bytes` are refused (tests lower it).
  QueryService(const QueryEngine& engine, RefusalCounters& refusals,
               const RevocationList* revocations = nullptr,
               size_t max_answer_bytes = kMaxAnswerBytes)
      : engine_(engine),
        refusals_(refusals),
        revocations_(revocations),
        max_answer_bytes_(max_answer_bytes) {
    SetMessageAllocatorFor_Summary(&summary_arenas_);
  }
  QueryService(const QueryService&) = delete;
  QueryService& operator=(const QueryService&) = delete;

  grpc::ServerUnaryReactor* Summary(grpc::CallbackServerContext* context,
                                    const synmap::v1::SummaryRequest* request,
                                    synmap::v1::SummaryResponse* response) override;
  grpc::ServerUnaryReactor* NewServices(grpc::CallbackServerContext* context,
                                        const synmap::v1::NewServicesRequest* request,
                                        synmap::v1::NewServicesResponse* response) override;
  grpc::ServerUnaryReactor* GoneServices(grpc::CallbackServerContext* context,
                                         const synmap::v1::GoneServicesRequest* request,
                                         synmap::v1::GoneServicesResponse* response) override;
  grpc::ServerUnaryReactor* Sensors(grpc::CallbackServerContext* context,
                                    const synmap::v1::SensorsRequest* request,
                                    synmap::v1::SensorsResponse* response) override;
  grpc::ServerUnaryReactor* Hosts(grpc::CallbackServerContext* context,
                                  const synmap::v1::HostsRequest* request,
                                  synmap::v1::HostsResponse* response) override;
  grpc::ServerUnaryReactor* Services(grpc::CallbackServerContext* context,
                                     const synmap::v1::ServicesRequest* request,
                                     synmap::v1::ServicesResponse* response) override;
  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* context,
                                   const synmap::v1::ExportRequest* request,
                                   synmap::v1::ExportResponse* response) override;

 private:
  // Authorizes the reader, has `fill(*request, response)` write the answer and finishes the
  // call: with fill's error (the response emptied), or refused when the answer is over
  // max_answer_bytes_.
  template <typename Request, typename Response, typename Fill>
  grpc::ServerUnaryReactor* ServeInto(grpc::CallbackServerContext* context, const char* rpc,
                                      const Request* request, Response* response, Fill fill);
  // ServeInto with an engine method that returns its answer.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, const char* rpc,
                                  const Request* request, Response* response,
                                  absl::StatusOr<Response> (QueryEngine::*method)(const Request&)
                                      const);

  // Summary answers are made in a protobuf arena each: a big map is millions of strings.
  class SummaryArenas final
      : public grpc::MessageAllocator<synmap::v1::SummaryRequest, synmap::v1::SummaryResponse> {
   public:
    grpc::MessageHolder<synmap::v1::SummaryRequest, synmap::v1::SummaryResponse>* AllocateMessages()
        override;
  };
  SummaryArenas summary_arenas_;

  const QueryEngine& engine_;
  RefusalCounters& refusals_;
  const RevocationList* const revocations_;
  const size_t max_answer_bytes_;
};

}  // namespace synmap::collector
