#pragma once

// A real PostgreSQL 15 for a test: started in a temporary directory by
// tests/testing/postgres_server.sh (initdb as the postgres user, unix socket only), stopped
// and removed at destruction. Tests skip, saying why, only when PostgreSQL is not installed.

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tests/testing/temp_dir.h"

namespace synmap::testing {

class PostgresServer {
 public:
  // Starts a server; check ok() / skip_reason() before use.
  PostgresServer() { Start(); }
  ~PostgresServer() { Run("stop"); }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  bool ok() const { return !uri_.empty(); }
  // Non-empty when PostgreSQL is not installed (the test should GTEST_SKIP with it).
  const std::string& skip_reason() const { return skip_reason_; }
  const std::string& error() const { return error_; }
  // postgresql://postgres@/synmap?host=DIR
  const std::string& uri() const { return uri_; }

  // Fast shutdown (sessions are ended, like a planned restart) and start again.
  void Restart() {
    Run("stop");
    Start();
  }
  // Stops the server (fast shutdown); Start() brings it back.
  void Stop() { Run("stop"); }
  void Start() {
    std::string out;
    const int code = Run("start", &out);
    if (code == 77) {
      skip_reason_ = "PostgreSQL 15 is not installed (apt-get install postgresql-15)";
      return;
    }
    if (code != 0) {
      error_ = absl::StrCat("postgres_server.sh start failed (", code, "): ", out);
      return;
    }
    uri_ = std::string(absl::StripAsciiWhitespace(out));
  }

 private:
  int Run(const char* command, std::string* out = nullptr) {
    // The server stops by itself if this process dies without stopping it.
    const std::string cmd =
        absl::StrCat("SYNMAP_PG_OWNER_PID=", getpid(), " ", SourceDir(),
                     "/tests/testing/postgres_server.sh ", command, " ", dir_.path(), "/pg 2>&1");
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
      return -1;
    }
    std::array<char, 4096> buffer;
    size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
      if (out != nullptr) {
        out->append(buffer.data(), n);
      }
    }
    const int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  TempDir dir_;
  std::string uri_;
  std::string skip_reason_;
  std::string error_;
};

}  // namespace synmap::testing
