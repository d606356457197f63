#include "common/enrol/enrolment_token.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/tls/peer_identity.h"

namespace synmap::common {
namespace {

constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 43;  // base64url of 32 bytes, unpadded.

}  // namespace

absl::StatusOr<std::string> NewEnrolmentToken(absl::string_view name) {
  if (!IsValidPeerName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("name '", name, "' is not 1-64 characters of [A-Za-z0-9._-]"));
  }
  unsigned char secret[kSecretBytes];
  if (RAND_bytes(secret, sizeof(secret)) != 1) {
    return absl::InternalError("no random bytes for an enrolment token");
  }
  return absl::StrCat(name, ".",
                      absl::WebSafeBase64Escape(absl::string_view(
                          reinterpret_cast<const char*>(secret), sizeof(secret))));
}

absl::StatusOr<std::string> EnrolmentTokenName(absl::string_view token) {
  const size_t dot = token.rfind('.');
  const absl::string_view secret =
      dot == absl::string_view::npos ? absl::string_view() : token.substr(dot + 1);
  std::string decoded;
  if (dot == absl::string_view::npos || secret.size() != kSecretChars ||
      !absl::WebSafeBase64Unescape(secret, &decoded) || decoded.size() != kSecretBytes ||
      !IsValidPeerName(token.substr(0, dot))) {
    return absl::InvalidArgumentError(
        "the token is not NAME.SECRET as `synmap-collector token create` prints it (copy the "
        "whole line)");
  }
  return std::string(token.substr(0, dot));
}

std::string EnrolmentTokenHash(absl::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
}

}  // namespace synmap::common
