#pragma once

#include <string>

#include "absl/strings/str_replace.h"
#include "tests/integration/cli_query/query_data_set.h"

namespace synmap::testing {

// A host name (names files allow no whitespace) meant to break out of HTML, an attribute, XML or
// CDATA if written unescaped.
inline constexpr char kHostileName[] = R"(<script>alert("x")</script>&'q']]>)";
// The unnamed local server of the query data set that gets it.
inline constexpr char kHostileAddress[] = "10.1.0.40";

// The query data set's names file with kHostileAddress named kHostileName (YAML single-quoted:
// a quote is doubled).
inline std::string NamesWithHostileHost() {
  const std::string yaml_name =
      absl::StrCat("'", absl::StrReplaceAll(kHostileName, {{"'", "''"}}), "'");
  return absl::StrReplaceAll(
      kNames, {{"hosts:\n", absl::StrCat("hosts:\n  ", yaml_name, ": [", kHostileAddress, "]\n")}});
}

}  // namespace synmap::testing
