#pragma once

#include <array>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace synmap::cli::web {

// The accounts of `synmap web --password-file FILE`: one "user:password" a line (the password
// is the rest of the line after the first ':', spaces included); blank lines and lines starting
// with '#' are ignored. Kept as SHA-256 digests of "user:password", compared in constant time.
// Immutable once loaded.
class PasswordFile {
 public:
  // Reads `path`. NotFound when it cannot be read; InvalidArgument "PATH:LINE: ..." for a line
  // without ':' or with an empty user or password, or a file without accounts.
  [[nodiscard]] static absl::StatusOr<PasswordFile> Load(const std::string& path);
  // As Load, from the file's `text`; `path` names it in messages.
  [[nodiscard]] static absl::StatusOr<PasswordFile> Parse(absl::string_view text,
                                                          absl::string_view path);

  // Whether `authorization` (an HTTP Authorization header value, "Basic BASE64") names an
  // account with its password. Takes the same time whichever account or byte differs.
  bool Allows(absl::string_view authorization) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  static Digest Sha256(absl::string_view text);

  std::vector<Digest> accounts_;
};

}  // namespace synmap::cli::web
