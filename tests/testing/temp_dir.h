#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace synmap::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/synmap-test-XXXXXX";
    char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr) << "mkdtemp " << tmpl;
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The repository root: $SYNMAP_SOURCE_DIR, else the one the test was built from.
inline std::string SourceDir() {
  const char* dir = std::getenv("SYNMAP_SOURCE_DIR");
#ifdef SYNMAP_TEST_SOURCE_DIR
  return dir != nullptr ? dir : SYNMAP_TEST_SOURCE_DIR;
#else
  return dir != nullptr ? dir : ".";
#endif
}

// The build directory: $SYNMAP_BINARY_DIR, else the one the test was built in.
inline std::string BinaryDir() {
  const char* dir = std::getenv("SYNMAP_BINARY_DIR");
#ifdef SYNMAP_TEST_BINARY_DIR
  return dir != nullptr ? dir : SYNMAP_TEST_BINARY_DIR;
#else
  return dir != nullptr ? dir : ".";
#endif
}

// ../shared/pcaps beside the checkout, or "" when it is not there.
inline std::string SharedPcapsDir() {
  const char* env = std::getenv("SYNMAP_PCAPS_DIR");
  std::string dir = env != nullptr ? env : SourceDir() + "/../shared/pcaps";
  return std::filesystem::is_directory(dir) ? dir : "";
}

}  // namespace synmap::testing
