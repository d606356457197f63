#pragma once

// The logging facade: one line per event on stderr,
// "2026-11-27T09:10:29.123Z I file.cc:42] event_name key=value ...".
// SYNMAP_CHECK(cond) << why aborts when one of our own invariants breaks.

#include <atomic>
#include <cstdint>
#include <sstream>
#include <string>

#include "absl/strings/string_view.h"

namespace synmap::log {

enum class Severity { kInfo = 0, kWarning = 1, kError = 2, kFatal = 3 };

// Messages below this severity are discarded. Thread-safe.
void SetMinSeverity(Severity severity);
Severity MinSeverity();

// Redirects log output to `path` (appending), or back to stderr when empty. Used on SIGHUP.
// Returns false (and keeps the old sink) if the file cannot be opened.
bool SetLogFile(const std::string& path);

// Collects one line and writes it atomically on destruction. Aborts for kFatal.
class LogMessage {
 public:
  LogMessage(const char* file, int line, Severity severity);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  Severity severity_;
  std::ostringstream stream_;
};

// Swallows the stream expression when the message is filtered out.
struct Voidify {
  void operator&(std::ostream&) {}
};

// True at most once per `seconds` for the given call-site state. Thread-safe.
bool EveryNSeconds(std::atomic<int64_t>& last_ns, double seconds);

}  // namespace synmap::log

#define SYNMAP_LOG_SEVERITY_INFO ::synmap::log::Severity::kInfo
#define SYNMAP_LOG_SEVERITY_WARNING ::synmap::log::Severity::kWarning
#define SYNMAP_LOG_SEVERITY_ERROR ::synmap::log::Severity::kError
#define SYNMAP_LOG_SEVERITY_FATAL ::synmap::log::Severity::kFatal

#define SYNMAP_LOG(sev)                                      \
  (SYNMAP_LOG_SEVERITY_##sev < ::synmap::log::MinSeverity()) \
      ? (void)0                                              \
      : ::synmap::log::Voidify() &                           \
            ::synmap::log::LogMessage(__FILE__, __LINE__, SYNMAP_LOG_SEVERITY_##sev).stream()

#define SYNMAP_LOG_EVERY_N_SEC(sev, seconds)                                              \
  static std::atomic<int64_t> SYNMAP_STATUS_CONCAT_LOG_(synmap_log_last_, __LINE__){0};   \
  if (::synmap::log::EveryNSeconds(SYNMAP_STATUS_CONCAT_LOG_(synmap_log_last_, __LINE__), \
                                   (seconds)))                                            \
  SYNMAP_LOG(sev)

#define SYNMAP_STATUS_CONCAT_LOG_INNER_(a, b) a##b
#define SYNMAP_STATUS_CONCAT_LOG_(a, b) SYNMAP_STATUS_CONCAT_LOG_INNER_(a, b)

#define SYNMAP_CHECK(cond)                                                                    \
  (cond) ? (void)0                                                                            \
         : ::synmap::log::Voidify() &                                                         \
               ::synmap::log::LogMessage(__FILE__, __LINE__, ::synmap::log::Severity::kFatal) \
                       .stream()                                                              \
                   << "check_failed " #cond " "
