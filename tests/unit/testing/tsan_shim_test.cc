// Tests for tests/testing/tsan_absl_shim.cc (TSan builds only). Each test hands plain,
// non-atomic data between threads through one absl primitive. Without the shim TSan cannot see
// the uninstrumented absl synchronise anything and reports each of them as a data race, which
// fails the test binary (TSan's exit code 66, or an abort with halt_on_error=1).
//
// Deliberate negative check, by hand only (it must produce a TSan report):
//   tsan_shim_test --gtest_also_run_disabled_tests --gtest_filter='*Unsynchronized*'

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/options.h"
#include "absl/status/status.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace synmap::testing {
namespace {

constexpr int kIncrementsPerThread = 10000;

#define SYNMAP_TEST_STR2(x) #x
#define SYNMAP_TEST_STR(x) SYNMAP_TEST_STR2(x)

// "_ZN" or "_ZNK", then "4absl", the inline namespace, and `rest`.
std::string AbslSymbol(bool is_const, const std::string& rest) {
  const std::string inline_namespace = SYNMAP_TEST_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  return std::string(is_const ? "_ZNK4absl" : "_ZN4absl") +
         std::to_string(inline_namespace.size()) + inline_namespace + rest;
}

void FunctionInThisExecutable() {}

// Dynamic linking: the definition every shared library (libabsl itself, libgrpc) binds to must
// be the executable's, or only calls from our own code would be annotated.
TEST(TsanShimTest, ExecutableDefinitionsInterposeTheSharedLibrary) {
  Dl_info executable{};
  ASSERT_NE(dladdr(reinterpret_cast<void*>(&FunctionInThisExecutable), &executable), 0);
  for (const std::string& name :
       {AbslSymbol(false, "5Mutex4LockEv"), AbslSymbol(false, "5Mutex6UnlockEv"),
        AbslSymbol(false, "7CondVar4WaitEPNS0_5MutexE"),
        AbslSymbol(false, "12Notification6NotifyEv"),
        AbslSymbol(true, "12Notification19WaitForNotificationEv"),
        AbslSymbol(true, "9Condition4EvalEv")}) {
    void* symbol = dlsym(RTLD_DEFAULT, name.c_str());
    ASSERT_NE(symbol, nullptr) << name;
    Dl_info info{};
    ASSERT_NE(dladdr(symbol, &info), 0) << name;
    EXPECT_EQ(info.dli_fbase, executable.dli_fbase)
        << name << " resolves to " << info.dli_fname << ", not to the executable";
  }
}

TEST(TsanShimTest, MutexOrdersCounterIncrements) {
  absl::Mutex mu;
  int counter = 0;  // guarded by mu
  auto work = [&] {
    for (int i = 0; i < kIncrementsPerThread; ++i) {
      absl::MutexLock lock(&mu);
      ++counter;
    }
  };
  std::thread a(work);
  std::thread b(work);
  a.join();
  b.join();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(counter, 2 * kIncrementsPerThread);
}

TEST(TsanShimTest, ReaderLockSeesWriterUpdates) {
  absl::Mutex mu;
  std::vector<int> values;  // guarded by mu
  std::thread writer([&] {
    for (int i = 0; i < 1000; ++i) {
      absl::MutexLock lock(&mu);
      values.push_back(i);
    }
  });
  size_t last_size = 0;
  for (int i = 0; i < 1000; ++i) {
    absl::ReaderMutexLock lock(&mu);
    EXPECT_GE(values.size(), last_size);
    last_size = values.size();
  }
  writer.join();
  absl::ReaderMutexLock lock(&mu);
  EXPECT_EQ(values.size(), 1000u);
}

// The predicate reads guarded data and may run on the writer's thread inside Unlock().
TEST(TsanShimTest, LockWhenAndAwaitOrderPredicateReads) {
  absl::Mutex mu;
  std::string message;  // guarded by mu
  bool ready = false;   // guarded by mu
  std::thread writer([&] {
    absl::MutexLock lock(&mu);
    message = "hello";
    ready = true;
  });
  mu.LockWhen(absl::Condition(
      +[](bool* r) { return *r; }, &ready));
  EXPECT_EQ(message, "hello");
  message = "reply";
  ready = false;
  mu.Unlock();
  writer.join();

  std::thread second([&] {
    absl::MutexLock lock(&mu);
    message += "!";
    ready = true;
  });
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&ready));
    EXPECT_EQ(message, "reply!");
  }
  second.join();
}

TEST(TsanShimTest, CondVarHandsOffData) {
  absl::Mutex mu;
  absl::CondVar cv;
  std::vector<int> queue;  // guarded by mu
  int* payload = nullptr;  // written before the hand-off, read after it, never under mu
  std::thread producer([&] {
    payload = new int(42);
    absl::MutexLock lock(&mu);
    queue.push_back(1);
    cv.Signal();
  });
  {
    absl::MutexLock lock(&mu);
    while (queue.empty()) cv.Wait(&mu);
  }
  ASSERT_NE(payload, nullptr);
  EXPECT_EQ(*payload, 42);
  delete payload;
  producer.join();
}

TEST(TsanShimTest, CondVarWaitWithTimeoutHandsOffData) {
  absl::Mutex mu;
  absl::CondVar cv;
  bool done = false;  // guarded by mu
  int plain = 0;
  std::thread producer([&] {
    plain = 7;
    absl::MutexLock lock(&mu);
    done = true;
    cv.SignalAll();
  });
  {
    absl::MutexLock lock(&mu);
    while (!done) cv.WaitWithTimeout(&mu, absl::Seconds(10));
  }
  EXPECT_EQ(plain, 7);
  producer.join();
}

TEST(TsanShimTest, NotificationPublishesData) {
  absl::Notification done;
  int plain = 0;
  std::thread t([&] {
    plain = 1;
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_EQ(plain, 1);
  t.join();

  absl::Notification timed;
  int other = 0;
  std::thread u([&] {
    other = 2;
    timed.Notify();
  });
  ASSERT_TRUE(timed.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(other, 2);
  u.join();
}

// HasBeenNotified() is inline (an acquire load in our instrumented code), not a shim call.
TEST(TsanShimTest, HasBeenNotifiedPublishesData) {
  absl::Notification done;
  int plain = 0;
  std::thread t([&] {
    plain = 3;
    done.Notify();
  });
  while (!done.HasBeenNotified()) std::this_thread::yield();
  EXPECT_EQ(plain, 3);
  t.join();
}

TEST(TsanShimTest, BlockingCounterPublishesData) {
  constexpr int kThreads = 3;
  absl::BlockingCounter counter(kThreads);
  std::vector<int> slots(kThreads, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      slots[i] = i + 1;
      counter.DecrementCount();
    });
  }
  counter.Wait();
  EXPECT_EQ(slots, (std::vector<int>{1, 2, 3}));
  for (std::thread& t : threads) t.join();
}

// Negative control, run by hand: TSan must report this race (the shim must not hide races).
// A Status rep copied (inline, instrumented Ref) on one thread and freed by the last Unref
// (uninstrumented libabsl_status) on another. Only relaxed atomics and no join come between the
// copy's destruction and the final free, so without the shim's Status::UnrefNonInlined TSan
// reports the free as racing with the copy.
TEST(TsanShimTest, StatusRepCopiedOnOneThreadIsFreedOnAnotherWithoutARace) {
  for (int i = 0; i < 20; ++i) {
    auto status = std::make_unique<absl::Status>(absl::InternalError("a message on the heap"));
    std::atomic<bool> copied{false};
    // `mine` is copied before the thread starts; the thread's own copies are the racing Refs.
    std::thread copier([&copied, mine = *status]() mutable {
      absl::Status copy = mine;  // Ref: a relaxed fetch_add on the shared rep.
      EXPECT_EQ(copy.message(), "a message on the heap");
      copy = absl::OkStatus();  // Unref, not the last reference.
      mine = absl::OkStatus();  // Unref, not the last reference.
      copied.store(true, std::memory_order_relaxed);
    });
    while (!copied.load(std::memory_order_relaxed)) {
      std::this_thread::yield();
    }
    status.reset();  // The last Unref frees the rep, before any join.
    copier.join();
  }
}

TEST(TsanShimTest, DISABLED_UnsynchronizedIncrementsAreReported) {
  absl::Mutex unrelated;
  int counter = 0;
  auto work = [&] {
    for (int i = 0; i < kIncrementsPerThread; ++i) {
      ++counter;
      // Locks a mutex, but does not protect `counter` across threads with it consistently:
      // each thread uses its own local mutex.
      absl::Mutex local;
      absl::MutexLock lock(&local);
    }
  };
  std::thread a(work);
  std::thread b(work);
  a.join();
  b.join();
  unrelated.Lock();
  unrelated.Unlock();
  EXPECT_GT(counter, 0);
}

}  // namespace
}  // namespace synmap::testing
