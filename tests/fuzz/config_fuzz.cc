// libFuzzer target: the daemons' YAML config loader on arbitrary file contents.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config/options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<synmap::common::OptionSpec> specs = {
      {.name = "listen", .value_name = "HOST:PORT", .help = "x"},
      {.name = "collector", .value_name = "HOST:PORT", .help = "x", .repeated = true},
      {.name = "flush-interval", .value_name = "DURATION", .help = "x"},
      {.name = "insecure", .value_name = "", .help = "x"},
      {.name = "config", .value_name = "FILE", .help = "x", .file_allowed = false},
  };
  const int fd = memfd_create("config", 0);
  if (fd < 0) {
    return 0;
  }
  if (size > 0 && write(fd, data, size) != static_cast<ssize_t>(size)) {
    close(fd);
    return 0;
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  auto options = synmap::common::LoadYamlOptions(path, specs);
  if (options.ok()) {
    (void)synmap::common::GetDuration(*options, "flush-interval", absl::Seconds(10));
    (void)synmap::common::GetBool(*options, "insecure", false);
    (void)synmap::common::GetList(*options, "collector");
    if (options->count("config") > 0) {
      __builtin_trap();  // Not allowed in files.
    }
  }
  close(fd);
  return 0;
}
