#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace synmap::collector {

// One enrolment token as stored: only its hash, never the token. Plain data.
struct EnrolmentToken {
  std::string hash;  // Hex SHA-256 of the token text (common::EnrolmentTokenHash).
  std::string name;  // The sensor or reader name it is bound to.
  std::string role;  // "sensor" or "reader".
  absl::Time created = absl::InfinitePast();
  absl::Time expires = absl::InfinitePast();
  std::optional<absl::Time> used;  // When it was used up; empty while unused.

  friend bool operator==(const EnrolmentToken&, const EnrolmentToken&) = default;
};

// The enrolment tokens of a store's database, on a connection of their own, so that
// `synmap-collector token create` adds tokens next to running collectors and every collector
// sharing the database agrees on which tokens are used. Thread-safe.
class EnrolmentTokens {
 public:
  virtual ~EnrolmentTokens() = default;

  // Stores `token` (its `used` is ignored: a new token is unused). AlreadyExists when a token
  // with that hash exists; InvalidArgument for an empty hash, name or role; Unavailable.
  [[nodiscard]] virtual absl::Status Add(const EnrolmentToken& token) = 0;

  // Marks the token whose hash is `hash` used at `now`, unless it is used already, in one
  // atomic step (two collectors claiming one token at once: one wins), and returns the token as
  // it was before: `used` empty means this call claimed it. Expiry is not judged here.
  // NotFound when no token has that hash; Unavailable.
  [[nodiscard]] virtual absl::StatusOr<EnrolmentToken> Claim(absl::string_view hash,
                                                             absl::Time now) = 0;
};

// Opens the tokens of the database `db` (the collector's --db: a SQLite file or a
// postgresql:// URI) next to any collector running on it; the schema is checked and migrated as
// OpenAdminStore does. Errors: as OpenAdminStore.
[[nodiscard]] absl::StatusOr<std::unique_ptr<EnrolmentTokens>> OpenEnrolmentTokens(
    absl::string_view db);

}  // namespace synmap::collector
