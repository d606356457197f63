// ThreadSanitizer shim for an uninstrumented Abseil (linked only when SYNMAP_SANITIZE has
// "thread"; see cmake/SynmapHelpers.cmake).
//
// Debian's libabsl_synchronization.so is not built with -fsanitize=thread, so TSan never sees
// absl::Mutex, absl::CondVar or absl::Notification synchronise anything and reports every access
// they protect as a race. This file defines the out-of-line members of those classes in the
// executable itself. The executable's definitions interpose the shared library's for every
// caller (our code, libgrpc's calls into absl, and libabsl's own calls through its PLT); each one
// forwards to the real implementation, found with dlsym(RTLD_NEXT, mangled name), and adds
// happens-before annotations: __tsan_acquire(addr) after a lock is obtained, __tsan_release(addr)
// before it is given up; waits that give up and retake a lock release before and acquire after.
//
// Conditions (Mutex::Await, LockWhen, ...) may be evaluated by whichever thread holds the mutex
// at that moment, often the thread inside Unlock(). Condition::Eval is interposed too: it
// acquires the mutex being operated on by the calling thread before the predicate runs and
// releases it afterwards, so the predicate's reads are ordered like any other critical section.
//
// Limits: reader locks are modelled as exclusive ones for happens-before (a race between two
// readers that both write is missed); TSan's lock-order (deadlock) detection does not see absl
// locks. Neither can produce a false report.
//
// Errors here are reported with fputs + abort rather than common/log: the logging facade itself
// may take an absl::Mutex, and this file must not depend on any synmap library.

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/base/options.h"
#include "absl/status/status.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace synmap::testing::internal {
namespace {

#define SYNMAP_TSAN_SHIM_STR2(x) #x
#define SYNMAP_TSAN_SHIM_STR(x) SYNMAP_TSAN_SHIM_STR2(x)

// Returns the real definition of the absl member whose mangled name is
// "_ZN" (or "_ZNK" when `is_const`) + "4absl" + <inline namespace> + `rest`. Aborts if missing.
void* RealSymbol(const char* rest, bool is_const) {
  std::string name = is_const ? "_ZNK4absl" : "_ZN4absl";
#if ABSL_OPTION_USE_INLINE_NAMESPACE
  const char* inline_namespace = SYNMAP_TSAN_SHIM_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  name += std::to_string(std::strlen(inline_namespace)) + inline_namespace;
#endif
  name += rest;
  void* symbol = dlsym(RTLD_NEXT, name.c_str());
  if (symbol == nullptr) {
    std::fputs("tsan_absl_shim: cannot find the real ", stderr);
    std::fputs(name.c_str(), stderr);
    std::fputs(" after this executable (is libabsl_synchronization loaded?)\n", stderr);
    std::abort();
  }
  return symbol;
}

// The real member function `rest` as a plain function of type __VA_ARGS__ taking `this` first
// (Itanium C++ ABI). Resolved once, on first use.
#define SYNMAP_REAL(rest, is_const, ...)                                     \
  ([]() {                                                                    \
    using Fn = __VA_ARGS__;                                                  \
    static const Fn real = reinterpret_cast<Fn>(RealSymbol(rest, is_const)); \
    return real;                                                             \
  }())

// The mutex the calling thread is currently operating on (locking, unlocking, awaiting or
// waiting with), for Condition::Eval. Saved and restored so nested operations (the library's
// own calls to Lock/Unlock) work.
thread_local const void* current_mutex = nullptr;

class CurrentMutexScope {
 public:
  explicit CurrentMutexScope(const void* mu) : saved_(current_mutex) { current_mutex = mu; }
  ~CurrentMutexScope() { current_mutex = saved_; }
  CurrentMutexScope(const CurrentMutexScope&) = delete;
  CurrentMutexScope& operator=(const CurrentMutexScope&) = delete;

 private:
  const void* saved_;
};

// Address of Notification's private `notified_yet_`, which the inline HasBeenNotified() loads
// with acquire order in instrumented code: Notify() must release on that address too. Explicit
// instantiation may name private members, which gives a pointer to it without layout guesses.
struct NotifiedYetTag {
  friend constexpr std::atomic<bool> absl::Notification::*NotifiedYetMember(NotifiedYetTag);
};
template <std::atomic<bool> absl::Notification::*kMember>
struct NotifiedYetAccess {
  friend constexpr std::atomic<bool> absl::Notification::*NotifiedYetMember(NotifiedYetTag) {
    return kMember;
  }
};
template struct NotifiedYetAccess<&absl::Notification::notified_yet_>;

const void* NotifiedYetAddress(const absl::Notification* n) {
  return &(n->*NotifiedYetMember(NotifiedYetTag{}));
}

}  // namespace
}  // namespace synmap::testing::internal

using synmap::testing::internal::current_mutex;
using synmap::testing::internal::CurrentMutexScope;
using synmap::testing::internal::NotifiedYetAddress;
using synmap::testing::internal::RealSymbol;

// ---- absl::Mutex ----------------------------------------------------------------------------

void absl::Mutex::Lock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  CurrentMutexScope scope(this);
  SYNMAP_REAL("5Mutex4LockEv", false, void (*)(Mutex*))(this);
  __tsan_acquire(this);
}

void absl::Mutex::ReaderLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  CurrentMutexScope scope(this);
  SYNMAP_REAL("5Mutex10ReaderLockEv", false, void (*)(Mutex*))(this);
  __tsan_acquire(this);
}

void absl::Mutex::Unlock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  CurrentMutexScope scope(this);
  __tsan_release(this);
  SYNMAP_REAL("5Mutex6UnlockEv", false, void (*)(Mutex*))(this);
}

void absl::Mutex::ReaderUnlock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  CurrentMutexScope scope(this);
  __tsan_release(this);
  SYNMAP_REAL("5Mutex12ReaderUnlockEv", false, void (*)(Mutex*))(this);
}

bool absl::Mutex::TryLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  CurrentMutexScope scope(this);
  const bool locked = SYNMAP_REAL("5Mutex7TryLockEv", false, bool (*)(Mutex*))(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

bool absl::Mutex::ReaderTryLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  CurrentMutexScope scope(this);
  const bool locked = SYNMAP_REAL("5Mutex13ReaderTryLockEv", false, bool (*)(Mutex*))(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

// Await*: called with the lock held; the real code releases and retakes it (also on timeout).
void absl::Mutex::Await(const Condition& cond) {
  CurrentMutexScope scope(this);
  __tsan_release(this);
  SYNMAP_REAL("5Mutex5AwaitERKNS0_9ConditionE", false, void (*)(Mutex*, const Condition&))
  (this, cond);
  __tsan_acquire(this);
}

bool absl::Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  CurrentMutexScope scope(this);
  __tsan_release(this);
  const bool met =
      SYNMAP_REAL("5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE", false,
                  bool (*)(Mutex*, const Condition&, absl::Duration))(this, cond, timeout);
  __tsan_acquire(this);
  return met;
}

bool absl::Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  CurrentMutexScope scope(this);
  __tsan_release(this);
  const bool met =
      SYNMAP_REAL("5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE", false,
                  bool (*)(Mutex*, const Condition&, absl::Time))(this, cond, deadline);
  __tsan_acquire(this);
  return met;
}

// LockWhen*: always return with the lock held (the *With* variants also on timeout).
void absl::Mutex::LockWhen(const Condition& cond) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  CurrentMutexScope scope(this);
  SYNMAP_REAL("5Mutex8LockWhenERKNS0_9ConditionE", false, void (*)(Mutex*, const Condition&))
  (this, cond);
  __tsan_acquire(this);
}

void absl::Mutex::ReaderLockWhen(const Condition& cond) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  CurrentMutexScope scope(this);
  SYNMAP_REAL("5Mutex14ReaderLockWhenERKNS0_9ConditionE", false, void (*)(Mutex*, const Condition&))
  (this, cond);
  __tsan_acquire(this);
}

bool absl::Mutex::LockWhenWithTimeout(const Condition& cond,
                                      absl::Duration timeout) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  CurrentMutexScope scope(this);
  const bool met =
      SYNMAP_REAL("5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE", false,
                  bool (*)(Mutex*, const Condition&, absl::Duration))(this, cond, timeout);
  __tsan_acquire(this);
  return met;
}

bool absl::Mutex::ReaderLockWhenWithTimeout(const Condition& cond,
                                            absl::Duration timeout) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  CurrentMutexScope scope(this);
  const bool met =
      SYNMAP_REAL("5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE", false,
                  bool (*)(Mutex*, const Condition&, absl::Duration))(this, cond, timeout);
  __tsan_acquire(this);
  return met;
}

bool absl::Mutex::LockWhenWithDeadline(const Condition& cond,
                                       absl::Time deadline) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  CurrentMutexScope scope(this);
  const bool met =
      SYNMAP_REAL("5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE", false,
                  bool (*)(Mutex*, const Condition&, absl::Time))(this, cond, deadline);
  __tsan_acquire(this);
  return met;
}

bool absl::Mutex::ReaderLockWhenWithDeadline(const Condition& cond,
                                             absl::Time deadline) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  CurrentMutexScope scope(this);
  const bool met =
      SYNMAP_REAL("5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE", false,
                  bool (*)(Mutex*, const Condition&, absl::Time))(this, cond, deadline);
  __tsan_acquire(this);
  return met;
}

// Runs a predicate as if inside a critical section of the mutex the caller is operating on
// (the real code only evaluates conditions while it holds that mutex).
bool absl::Condition::Eval() const {
  const void* mu = current_mutex;
  if (mu != nullptr) __tsan_acquire(const_cast<void*>(mu));
  const bool result = SYNMAP_REAL("9Condition4EvalEv", true, bool (*)(const Condition*))(this);
  if (mu != nullptr) __tsan_release(const_cast<void*>(mu));
  return result;
}

// ---- absl::CondVar --------------------------------------------------------------------------

void absl::CondVar::Wait(Mutex* mu) {
  CurrentMutexScope scope(mu);
  __tsan_release(mu);
  SYNMAP_REAL("7CondVar4WaitEPNS0_5MutexE", false, void (*)(CondVar*, Mutex*))(this, mu);
  __tsan_acquire(mu);
}

bool absl::CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  CurrentMutexScope scope(mu);
  __tsan_release(mu);
  const bool timed_out = SYNMAP_REAL("7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE", false,
                                     bool (*)(CondVar*, Mutex*, absl::Duration))(this, mu, timeout);
  __tsan_acquire(mu);
  return timed_out;
}

bool absl::CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  CurrentMutexScope scope(mu);
  __tsan_release(mu);
  const bool timed_out = SYNMAP_REAL("7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE", false,
                                     bool (*)(CondVar*, Mutex*, absl::Time))(this, mu, deadline);
  __tsan_acquire(mu);
  return timed_out;
}

// Signal/SignalAll order nothing by themselves (callers hold the mutex, whose Unlock releases);
// they are still forwarded explicitly so every CondVar entry point goes through one place.
void absl::CondVar::Signal() { SYNMAP_REAL("7CondVar6SignalEv", false, void (*)(CondVar*))(this); }

void absl::CondVar::SignalAll() {
  SYNMAP_REAL("7CondVar9SignalAllEv", false, void (*)(CondVar*))(this);
}

// ---- absl::Status ---------------------------------------------------------------------------

// A Status with a message keeps a reference-counted heap rep. Status::Ref is inline (so
// instrumented: a relaxed fetch_add), but UnrefNonInlined, which decrements and frees the rep on
// the last reference, is in the uninstrumented libabsl_status: TSan sees neither its acq_rel
// decrement nor any order before the free, and reports the free as racing with another thread's
// earlier copy (seen in ingest_service_test: a status copied on a gRPC thread, destroyed last on
// a store worker). Modelled as reference counts are: every unref releases the rep before it
// drops its reference, and acquires it before the real function may free it.
void absl::Status::UnrefNonInlined(uintptr_t rep) {
  void* const counted = reinterpret_cast<void*>(rep);
  __tsan_release(counted);
  __tsan_acquire(counted);
  SYNMAP_REAL("6Status15UnrefNonInlinedEm", false, void (*)(uintptr_t))(rep);
}

// ---- absl::Notification ---------------------------------------------------------------------

void absl::Notification::Notify() {
  __tsan_release(this);
  __tsan_release(const_cast<void*>(NotifiedYetAddress(this)));
  SYNMAP_REAL("12Notification6NotifyEv", false, void (*)(Notification*))(this);
}

void absl::Notification::WaitForNotification() const {
  SYNMAP_REAL("12Notification19WaitForNotificationEv", true, void (*)(const Notification*))(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool absl::Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  const bool notified =
      SYNMAP_REAL("12Notification30WaitForNotificationWithTimeoutENS0_8DurationE", true,
                  bool (*)(const Notification*, absl::Duration))(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool absl::Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  const bool notified =
      SYNMAP_REAL("12Notification31WaitForNotificationWithDeadlineENS0_4TimeE", true,
                  bool (*)(const Notification*, absl::Time))(this, deadline);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

// ---- absl::BlockingCounter ------------------------------------------------------------------

bool absl::BlockingCounter::DecrementCount() {
  __tsan_release(this);
  const bool reached_zero =
      SYNMAP_REAL("15BlockingCounter14DecrementCountEv", false, bool (*)(BlockingCounter*))(this);
  if (reached_zero) __tsan_acquire(this);
  return reached_zero;
}

void absl::BlockingCounter::Wait() {
  SYNMAP_REAL("15BlockingCounter4WaitEv", false, void (*)(BlockingCounter*))(this);
  __tsan_acquire(this);
}
