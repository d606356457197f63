// The collector of the browser test (web_browser_test.py): a test CA, a synmap-collector filled
// with the query data set (tests/integration/cli_query/query_data_set.h) whose names file names
// one server with a hostile name. Writes what a client needs as JSON to the file given as the
// only argument, then runs until its stdin closes.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/json/json_string.h"
#include "tests/integration/web/hostile_names.h"

int main(int argc, char** argv) {
  using namespace synmap::testing;  // NOLINT: a test program.
  if (argc != 2) {
    std::fprintf(stderr, "usage: web_fixture OUT.json\n");
    return 64;
  }
  TestPki pki;
  TempDir dir;
  if (!pki.ok()) {
    std::fprintf(stderr, "web_fixture: make-certs.sh failed\n");
    return 1;
  }
  FilledCollector collector(pki, dir, NamesWithHostileHost());
  if (collector.port() == 0 || !collector.filled()) {
    std::fprintf(stderr, "web_fixture: collector not filled\n%s", collector.Log().c_str());
    return 1;
  }
  const synmap::common::TlsFiles reader = pki.Files("r1");
  const synmap::common::TlsFiles col = pki.Files("col");
  std::string json = "{";
  auto field = [&json](const char* name, const std::string& value) {
    if (json.size() > 1) json += ", ";
    synmap::common::AppendJsonString(name, &json);
    json += ": ";
    synmap::common::AppendJsonString(value, &json);
  };
  field("collector", absl::StrCat("127.0.0.1:", collector.port()));
  field("ca", reader.ca_path);
  field("cert", reader.cert_path);
  field("key", reader.key_path);
  field("server_cert", col.cert_path);
  field("server_key", col.key_path);
  field("hostile_name", kHostileName);
  json += "}\n";
  std::ofstream(argv[1]) << json;
  std::fprintf(stdout, "ready\n");
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}
