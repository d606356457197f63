#include "cli/web/password_file.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace synmap::cli::web {

absl::StatusOr<PasswordFile> PasswordFile::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read password file ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

absl::StatusOr<PasswordFile> PasswordFile::Parse(absl::string_view text, absl::string_view path) {
  PasswordFile file;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripSuffix(line, "\r");
    if (absl::StripAsciiWhitespace(line).empty() || absl::StartsWith(line, "#")) {
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0 || colon + 1 == line.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_number, ": expected user:password"));
    }
    file.accounts_.push_back(Sha256(line));
  }
  if (file.accounts_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no user:password line"));
  }
  return file;
}

bool PasswordFile::Allows(absl::string_view authorization) const {
  std::string credentials;
  if (!absl::ConsumePrefix(&authorization, "Basic ") ||
      !absl::Base64Unescape(authorization, &credentials)) {
    return false;
  }
  const Digest presented = Sha256(credentials);
  // Every account is compared, so the time taken does not say which one (or which byte) failed.
  bool allowed = false;
  for (const Digest& account : accounts_) {
    allowed |= CRYPTO_memcmp(account.data(), presented.data(), presented.size()) == 0;
  }
  return allowed;
}

PasswordFile::Digest PasswordFile::Sha256(absl::string_view text) {
  Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return digest;
}

}  // namespace synmap::cli::web
