#pragma once

#include "collector/fleet/registrar.h"
#include "collector/server/refusal_counters.h"
#include "synmap/v1/enrol.grpc.pb.h"

namespace synmap::collector {

// The Enrolment service adapter (served on the enrolment port, TLS without client
// certificates): passes the token and CSR to the Registrar, logs and counts a refusal by its
// reason (`enrol_refused peer= reason=`), maps the result to gRPC. Unary callback methods run on
// the gRPC thread (a store transaction and a signature each). Borrows `registrar` and
// `refusals`, which must outlive it. Thread-safe.
class EnrolmentService final : public synmap::v1::Enrolment::CallbackService {
 public:
  EnrolmentService(Registrar& registrar, RefusalCounters& refusals)
      : registrar_(registrar), refusals_(refusals) {}
  EnrolmentService(const EnrolmentService&) = delete;
  EnrolmentService& operator=(const EnrolmentService&) = delete;

  grpc::ServerUnaryReactor* Enroll(grpc::CallbackServerContext* context,
                                   const synmap::v1::EnrollRequest* request,
                                   synmap::v1::EnrollResponse* response) override;

 private:
  Registrar& registrar_;
  RefusalCounters& refusals_;
};

// The Renewal service adapter (served on the main, mutual-TLS port): the caller's verified
// certificate is the identity renewed. Refusals are logged (`renew_refused`) and counted like
// the Enrolment service's. Borrows as EnrolmentService. Thread-safe.
class RenewalService final : public synmap::v1::Renewal::CallbackService {
 public:
  RenewalService(Registrar& registrar, RefusalCounters& refusals)
      : registrar_(registrar), refusals_(refusals) {}
  RenewalService(const RenewalService&) = delete;
  RenewalService& operator=(const RenewalService&) = delete;

  grpc::ServerUnaryReactor* Renew(grpc::CallbackServerContext* context,
                                  const synmap::v1::RenewRequest* request,
                                  synmap::v1::RenewResponse* response) override;

 private:
  Registrar& registrar_;
  RefusalCounters& refusals_;
};

}  // namespace synmap::collector
