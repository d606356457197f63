#pragma once

// Test helper: makes real certificates with deploy/make-certs.sh in a temp directory.
// Shared by the tls unit tests and the collector server tests.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/temp_dir.h"

namespace synmap::testing {

// Runs `make-certs.sh DIR ARGS` (ARGS is pasted into a shell command line; pass only simple
// words). Internal error when the script fails, with its exit code.
[[nodiscard]] inline absl::Status MakeCerts(const std::string& dir, const std::string& args) {
  const std::string command = absl::StrCat("bash '", SourceDir(), "/deploy/make-certs.sh' '", dir,
                                           "' ", args, " >/dev/null 2>&1");
  const int rc = std::system(command.c_str());
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("make-certs.sh ", args, " exited with ", rc));
  }
  return absl::OkStatus();
}

// Runs an arbitrary shell command (e.g. openssl); Internal error when it fails.
[[nodiscard]] inline absl::Status RunShell(const std::string& command) {
  const int rc = std::system(absl::StrCat(command, " >/dev/null 2>&1").c_str());
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("`", command, "` exited with ", rc));
  }
  return absl::OkStatus();
}

// The standard output of a shell command (e.g. `openssl x509 -noout -enddate`), trailing
// newlines removed; "" when it cannot be run.
inline std::string ShellOutput(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buf[256];
  while (pipe != nullptr && fgets(buf, sizeof(buf), pipe) != nullptr) {
    out += buf;
  }
  if (pipe != nullptr) {
    pclose(pipe);
  }
  while (!out.empty() && out.back() == '\n') {
    out.pop_back();
  }
  return out;
}

}  // namespace synmap::testing
