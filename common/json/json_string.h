#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace synmap::common {

// Appends `text` as a JSON string literal: quotes, backslash and control characters escaped;
// bytes >= 0x80 are copied, so valid UTF-8 stays valid.
void AppendJsonString(absl::string_view text, std::string* out);

}  // namespace synmap::common
