#pragma once

// Runs the synmap-collector binary as a child process and follows its log (stderr), so tests
// can wait for events ("listening", "names_reloaded") instead of sleeping.

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace synmap::testing {

// Path of the synmap-collector binary under test (compiled in by CMake), or the one found
// via SYNMAP_BINARY_DIR.
inline std::string CollectorBinary() {
#ifdef SYNMAP_COLLECTOR_BINARY
  return SYNMAP_COLLECTOR_BINARY;
#else
  const char* dir = std::getenv("SYNMAP_BINARY_DIR");
  return std::string(dir != nullptr ? dir : ".") + "/collector/server/synmap-collector";
#endif
}

class CollectorProcess {
 public:
  // Starts `binary args...`. Check running() / WaitForLog before use.
  CollectorProcess(const std::string& binary, const std::vector<std::string>& args) {
    int fds[2];
    if (pipe(fds) != 0) {
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDERR_FILENO);
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(binary.c_str()));
      for (const std::string& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
      }
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(fds[1]);
    reader_ = std::thread([this, fd = fds[0]] { ReadLog(fd); });
  }
  ~CollectorProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (reader_.joinable()) {
      reader_.join();
    }
  }
  CollectorProcess(const CollectorProcess&) = delete;
  CollectorProcess& operator=(const CollectorProcess&) = delete;

  // Waits (up to `timeout`) until the log has at least `count` lines containing `text`.
  bool WaitForLog(const std::string& text, int count = 1,
                  absl::Duration timeout = absl::Seconds(60)) {
    absl::MutexLock lock(&mu_);
    auto seen = [this, &text, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      int n = 0;
      for (const std::string& line : lines_) {
        n += absl::StrContains(line, text) ? 1 : 0;
      }
      return n >= count || eof_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
    int n = 0;
    for (const std::string& line : lines_) {
      n += absl::StrContains(line, text) ? 1 : 0;
    }
    return n >= count;
  }
  // The port from the "listening address=HOST:PORT" line, or 0.
  int WaitForPort() {
    if (!WaitForLog("listening address=")) {
      return 0;
    }
    absl::MutexLock lock(&mu_);
    for (const std::string& line : lines_) {
      const size_t at = line.find("listening address=");
      if (at == std::string::npos) {
        continue;
      }
      const size_t space = line.find(' ', at + 18);
      const std::string addr = line.substr(at + 18, space - at - 18);
      int port = 0;
      return absl::SimpleAtoi(addr.substr(addr.rfind(':') + 1), &port) ? port : 0;
    }
    return 0;
  }
  void Signal(int sig) {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, sig);
    }
  }
  // Waits for exit; returns the wait status.
  int Wait() {
    if (pid_ <= 0 || reaped_) {
      return status_;
    }
    waitpid(pid_, &status_, 0);
    reaped_ = true;
    return status_;
  }
  std::string Log() const {
    absl::MutexLock lock(&mu_);
    std::string all;
    for (const std::string& line : lines_) {
      all += line + "\n";
    }
    return all;
  }
  pid_t pid() const { return pid_; }

 private:
  void ReadLog(int fd) {
    std::string partial;
    char buf[4096];
    ssize_t n = 0;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
      partial.append(buf, static_cast<size_t>(n));
      size_t nl = 0;
      while ((nl = partial.find('\n')) != std::string::npos) {
        absl::MutexLock lock(&mu_);
        lines_.push_back(partial.substr(0, nl));
        partial.erase(0, nl + 1);
      }
    }
    close(fd);
    absl::MutexLock lock(&mu_);
    if (!partial.empty()) {
      lines_.push_back(partial);
    }
    eof_ = true;
  }

  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::thread reader_;
  mutable absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace synmap::testing
