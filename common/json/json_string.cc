#include "common/json/json_string.h"

#include "absl/strings/str_format.h"

namespace synmap::common {

void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (byte < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", byte);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

}  // namespace synmap::common
