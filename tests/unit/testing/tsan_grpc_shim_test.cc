// Tests for tests/testing/tsan_grpc_shim.cc (TSan builds only). gRPC core hands an operation from
// the thread that starts it to the thread that reaps its completion through a lock-free queue
// TSan cannot see; grpcpp's inline code relies on that hand-off (a callback tag's std::function
// is set on the starting thread and run on a gRPC thread). The shim turns it into a
// happens-before edge. Each test here hands plain, non-atomic data across exactly that edge
// and nothing else: no mutex, no thread start or join in between (a relaxed atomic only tells
// the reaper when to look, and relaxed atomics order nothing for TSan). Without the shim TSan
// reports each hand-off as a data race, which fails the test binary.
//
// Deliberate negative check, by hand only (it must produce a TSan report, because it calls the
// real gRPC functions past the shim):
//   tsan_grpc_shim_test --gtest_also_run_disabled_tests --gtest_filter='*BypassingTheShim*'

#include <dlfcn.h>
#include <grpc/grpc.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

namespace synmap::testing {
namespace {

void FunctionInThisExecutable() {}

// libgrpc++ (and our code) must bind to the executable's definitions, or the edges are missed.
TEST(TsanGrpcShimTest, ExecutableDefinitionsInterposeLibgrpc) {
  Dl_info executable{};
  ASSERT_NE(dladdr(reinterpret_cast<void*>(&FunctionInThisExecutable), &executable), 0);
  for (const char* name :
       {"grpc_call_start_batch", "grpc_server_request_call", "grpc_server_request_registered_call",
        "grpc_completion_queue_next", "grpc_completion_queue_pluck"}) {
    void* symbol = dlsym(RTLD_DEFAULT, name);
    ASSERT_NE(symbol, nullptr) << name;
    Dl_info info{};
    ASSERT_NE(dladdr(symbol, &info), 0) << name;
    EXPECT_EQ(info.dli_fbase, executable.dli_fbase)
        << name << " resolves to " << info.dli_fname << ", not to the executable";
    EXPECT_NE(dlsym(RTLD_NEXT, name), nullptr) << name << ": no real definition after the shim";
  }
}

using StartBatchFn = grpc_call_error (*)(grpc_call*, const grpc_op*, size_t, void*, void*);
using NextFn = grpc_event (*)(grpc_completion_queue*, gpr_timespec, void*);

// A call on a lame channel (it never connects; an empty batch completes at once) and the
// completion queue it reports to. Owns both.
class EmptyBatchCall {
 public:
  EmptyBatchCall() {
    grpc_init();
    channel_ = grpc_lame_client_channel_create("unused.invalid", GRPC_STATUS_UNAVAILABLE,
                                               "tsan shim test");
    cq_ = grpc_completion_queue_create_for_next(nullptr);
    call_ = grpc_channel_create_call(channel_, nullptr, GRPC_PROPAGATE_DEFAULTS, cq_,
                                     grpc_slice_from_static_string("/synmap.test/Nothing"), nullptr,
                                     gpr_inf_future(GPR_CLOCK_REALTIME), nullptr);
  }
  EmptyBatchCall(const EmptyBatchCall&) = delete;
  EmptyBatchCall& operator=(const EmptyBatchCall&) = delete;
  ~EmptyBatchCall() {
    grpc_call_unref(call_);
    grpc_completion_queue_shutdown(cq_);
    while (grpc_completion_queue_next(cq_, gpr_inf_future(GPR_CLOCK_REALTIME), nullptr).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq_);
    grpc_channel_destroy(channel_);
    grpc_shutdown();
  }

  // Writes `payload` on a new thread, starts an empty batch tagged `tag` there, and reads the
  // payload back on this thread once the tag is reaped. Returns what was read.
  std::string HandOff(StartBatchFn start_batch, NextFn next) {
    std::string payload;  // Plain data: ordered only by the start -> reap edge.
    int tag = 0;
    std::atomic<bool> started{false};
    std::thread starter([&] {
      payload = "written before the operation started";
      EXPECT_EQ(start_batch(call_, nullptr, 0, &tag, nullptr), GRPC_CALL_OK);
      started.store(true, std::memory_order_relaxed);  // Relaxed: no happens-before for TSan.
    });
    while (!started.load(std::memory_order_relaxed)) {
      std::this_thread::yield();
    }
    const grpc_event event = next(cq_, gpr_inf_future(GPR_CLOCK_REALTIME), nullptr);
    EXPECT_EQ(event.type, GRPC_OP_COMPLETE);
    EXPECT_EQ(event.tag, &tag);
    std::string seen = payload;  // Without the shim: a data race with the starter's write.
    starter.join();
    return seen;
  }

 private:
  grpc_channel* channel_ = nullptr;
  grpc_completion_queue* cq_ = nullptr;
  grpc_call* call_ = nullptr;
};

TEST(TsanGrpcShimTest, DataWrittenBeforeStartBatchIsVisibleToTheThreadThatReapsIt) {
  EmptyBatchCall call;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(call.HandOff(&grpc_call_start_batch, &grpc_completion_queue_next),
              "written before the operation started");
  }
}

TEST(TsanGrpcShimTest, DISABLED_HandOffBypassingTheShimIsReportedAsARace) {
  EmptyBatchCall call;
  auto real_start = reinterpret_cast<StartBatchFn>(dlsym(RTLD_NEXT, "grpc_call_start_batch"));
  auto real_next = reinterpret_cast<NextFn>(dlsym(RTLD_NEXT, "grpc_completion_queue_next"));
  ASSERT_NE(real_start, nullptr);
  ASSERT_NE(real_next, nullptr);
  EXPECT_EQ(call.HandOff(real_start, real_next), "written before the operation started");
}

}  // namespace
}  // namespace synmap::testing
