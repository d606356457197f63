// ThreadSanitizer shim for an uninstrumented gRPC core (linked only when SYNMAP_SANITIZE has
// "thread", next to tsan_absl_shim.cc; see cmake/SynmapHelpers.cmake).
//
// Why: every operation of a gRPC call is handed from the thread that starts it to the thread
// that completes it through gRPC core. grpcpp's inline code (CallOpSet, CallbackWithSuccessTag,
// ClientCallbackReaderWriterImpl, compiled into our binaries and so instrumented) fills an
// operation and its completion tag on the starting thread, e.g. the reactor's tags are set in
// the call object's constructor inside Stub::async::Stream, and reads them on a gRPC thread when
// the operation completes (CallbackWithSuccessTag::Run invoking the tag's std::function). Core
// orders the two, but through a lock-free completion queue that Debian does not build with
// -fsanitize=thread, so TSan sees no happens-before edge and reports a race whenever the
// completing thread had no other visible synchronisation with the starter (in sensor_uplink_test
// about 1 run in 17: fast-failing calls, whose start batch completes at once on the callback
// completion queue's "nexting" thread).
//
// What: the executable defines the core C entry points through which grpcpp starts and reaps
// operations; the executable's definitions interpose libgrpc's for libgrpc++ and our code (both
// call them through the PLT). Each forwards to the real function (dlsym RTLD_NEXT) and adds the
// edge core really provides:
//   - grpc_call_start_batch, grpc_server_request_call, grpc_server_request_registered_call:
//     __tsan_release(tag) before the operation is handed to core;
//   - grpc_completion_queue_next, grpc_completion_queue_pluck: __tsan_acquire(tag) after an
//     operation's completion is returned, before grpcpp's code runs the tag.
// So everything the starting thread wrote before starting an operation happens-before whatever
// the completing thread does with that operation's tag. Races in our own reactor code, or
// between two of our threads, are still reported: the edge covers only what preceded a start.
// Limit: a tag reused for many operations (a reactor's write tag) accumulates the releases of
// all of them, which can only hide a race older than the operation being completed.
//
// Errors here are reported with fputs + abort: this file must not depend on any synmap library.

#include <dlfcn.h>
#include <grpc/grpc.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

namespace {

void* RealGrpcSymbol(const char* name) {
  void* symbol = dlsym(RTLD_NEXT, name);
  if (symbol == nullptr) {
    std::fputs("tsan_grpc_shim: cannot find the real ", stderr);
    std::fputs(name, stderr);
    std::fputs(" after this executable (is libgrpc loaded?)\n", stderr);
    std::abort();
  }
  return symbol;
}

// The real `name`, of type `Fn`, resolved once on first use.
template <typename Fn>
Fn Real(const char* name, Fn /*type*/) {
  return reinterpret_cast<Fn>(RealGrpcSymbol(name));
}

#define SYNMAP_REAL_GRPC(name)                     \
  ([]() {                                          \
    static const auto real = Real(#name, &::name); \
    return real;                                   \
  }())

void AcquireCompletedTag(const grpc_event& event) {
  if (event.type == GRPC_OP_COMPLETE && event.tag != nullptr) {
    __tsan_acquire(event.tag);
  }
}

}  // namespace

extern "C" {

grpc_call_error grpc_call_start_batch(grpc_call* call, const grpc_op* ops, size_t nops, void* tag,
                                      void* reserved) {
  if (tag != nullptr) {
    __tsan_release(tag);
  }
  return SYNMAP_REAL_GRPC(grpc_call_start_batch)(call, ops, nops, tag, reserved);
}

grpc_call_error grpc_server_request_call(grpc_server* server, grpc_call** call,
                                         grpc_call_details* details,
                                         grpc_metadata_array* request_metadata,
                                         grpc_completion_queue* cq_bound_to_call,
                                         grpc_completion_queue* cq_for_notification, void* tag) {
  if (tag != nullptr) {
    __tsan_release(tag);
  }
  return SYNMAP_REAL_GRPC(grpc_server_request_call)(server, call, details, request_metadata,
                                                    cq_bound_to_call, cq_for_notification, tag);
}

grpc_call_error grpc_server_request_registered_call(grpc_server* server, void* registered_method,
                                                    grpc_call** call, gpr_timespec* deadline,
                                                    grpc_metadata_array* request_metadata,
                                                    grpc_byte_buffer** optional_payload,
                                                    grpc_completion_queue* cq_bound_to_call,
                                                    grpc_completion_queue* cq_for_notification,
                                                    void* tag) {
  if (tag != nullptr) {
    __tsan_release(tag);
  }
  return SYNMAP_REAL_GRPC(grpc_server_request_registered_call)(
      server, registered_method, call, deadline, request_metadata, optional_payload,
      cq_bound_to_call, cq_for_notification, tag);
}

grpc_event grpc_completion_queue_next(grpc_completion_queue* cq, gpr_timespec deadline,
                                      void* reserved) {
  const grpc_event event = SYNMAP_REAL_GRPC(grpc_completion_queue_next)(cq, deadline, reserved);
  AcquireCompletedTag(event);
  return event;
}

grpc_event grpc_completion_queue_pluck(grpc_completion_queue* cq, void* tag, gpr_timespec deadline,
                                       void* reserved) {
  const grpc_event event =
      SYNMAP_REAL_GRPC(grpc_completion_queue_pluck)(cq, tag, deadline, reserved);
  AcquireCompletedTag(event);
  return event;
}

}  // extern "C"
