// libFuzzer target: the names file parser (YAML) and lookups on whatever it accepts.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/naming/name_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto table = synmap::common::NameTable::FromYaml(text, "fuzz.yaml");
  if (table.ok()) {
    uint8_t v4[4] = {198, 51, 100, 7};
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
    (void)table->HostLabel(synmap::common::IpAddress::V4(v4), false);
    (void)table->HostLabel(synmap::common::IpAddress::V6(v6), true);
    (void)table->ServiceLabel(size > 0 ? data[0] * 257 : 22);
  } else if (table.status().message().find("fuzz.yaml") == std::string::npos) {
    __builtin_trap();  // Every error names the file.
  }
  return 0;
}
