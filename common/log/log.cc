#include "common/log/log.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace synmap::log {
namespace {

std::atomic<int> g_min_severity{static_cast<int>(Severity::kInfo)};
std::mutex g_sink_mu;
FILE* g_sink = nullptr;  // nullptr means stderr; guarded by g_sink_mu.

char SeverityLetter(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return 'I';
    case Severity::kWarning:
      return 'W';
    case Severity::kError:
      return 'E';
    case Severity::kFatal:
      return 'F';
  }
  return '?';
}

const char* Basename(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash == nullptr ? path : slash + 1;
}

}  // namespace

void SetMinSeverity(Severity severity) {
  g_min_severity.store(static_cast<int>(severity), std::memory_order_relaxed);
}

Severity MinSeverity() {
  return static_cast<Severity>(g_min_severity.load(std::memory_order_relaxed));
}

bool SetLogFile(const std::string& path) {
  FILE* next = nullptr;
  if (!path.empty()) {
    next = std::fopen(path.c_str(), "a");
    if (next == nullptr) {
      return false;
    }
  }
  std::lock_guard<std::mutex> lock(g_sink_mu);
  if (g_sink != nullptr) {
    std::fclose(g_sink);
  }
  g_sink = next;
  return true;
}

LogMessage::LogMessage(const char* file, int line, Severity severity) : severity_(severity) {
  stream_ << absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()) << ' '
          << SeverityLetter(severity) << ' ' << Basename(file) << ':' << line << "] ";
}

LogMessage::~LogMessage() {
  stream_ << '\n';
  const std::string text = stream_.str();
  {
    std::lock_guard<std::mutex> lock(g_sink_mu);
    FILE* out = g_sink != nullptr ? g_sink : stderr;
    std::fwrite(text.data(), 1, text.size(), out);
    std::fflush(out);
  }
  if (severity_ == Severity::kFatal) {
    std::abort();
  }
}

bool EveryNSeconds(std::atomic<int64_t>& last_ns, double seconds) {
  const int64_t now = absl::GetCurrentTimeNanos();
  int64_t last = last_ns.load(std::memory_order_relaxed);
  if (last != 0 && now - last < static_cast<int64_t>(seconds * 1e9)) {
    return false;
  }
  return last_ns.compare_exchange_strong(last, now, std::memory_order_relaxed);
}

}  // namespace synmap::log
