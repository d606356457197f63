#pragma once

#include "absl/strings/string_view.h"
#include "tests/testing/status_matchers.h"

namespace synmap::testing {

// Matches a Status or StatusOr with `code` whose message contains `text`: the web answers quote
// the CLI's messages, so tests check the words as well as the code.
MATCHER_P2(StatusHas, code, text, "") {
  const absl::Status& s = ::synmap::testing::GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code && s.message().find(text) != absl::string_view::npos;
}

}  // namespace synmap::testing
