#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace synmap::common {

// Enrolment tokens: "NAME.SECRET", where NAME is the sensor or reader name the token is bound
// to and SECRET 43 characters of base64url (256 random bits). The name travels in the token so
// that `enroll` needs no --name; the collector still checks it against the name it stored.

// A new token for `name` (a valid peer name). Internal when no random bytes can be had.
[[nodiscard]] absl::StatusOr<std::string> NewEnrolmentToken(absl::string_view name);

// The name part of `token`. InvalidArgument when `token` is not NAME.SECRET as above (the
// message never repeats the token, which is a secret).
[[nodiscard]] absl::StatusOr<std::string> EnrolmentTokenName(absl::string_view token);

// The hex SHA-256 of the whole token: what the store keeps instead of the token.
std::string EnrolmentTokenHash(absl::string_view token);

}  // namespace synmap::common
