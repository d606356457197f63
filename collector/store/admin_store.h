#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace synmap::collector {

// One revoked identity (docs/operations.md, "Revocation"). Plain data.
struct Revocation {
  std::string name;  // The certificate CN (sensor or reader name) that is cut off.
  // Every certificate of `name` whose notBefore is at or before this time is refused; one
  // issued later (re-enrolment after the revocation) is accepted.
  absl::Time revoked_at = absl::InfinitePast();
  std::string reason;  // The admin's words, for listings and logs; may be empty.

  friend bool operator==(const Revocation&, const Revocation&) = default;
};

// The revocation among `revocations` that cuts off a certificate of `name` whose notBefore is
// `not_before` (that name, revoked at or after not_before), or null. The one place this rule
// is written: streams, queries and renewals all ask it. Points into `revocations`.
const Revocation* FindRevocation(absl::Span<const Revocation> revocations, absl::string_view name,
                                 absl::Time not_before);

// The small administrative tables of a store (revocations) that admin commands change while
// collectors run on the same database. Every collector sharing the database reads them, so a
// change made through any handle is seen by all (within their polling interval).
// Implementations are thread-safe.
class AdminStore {
 public:
  virtual ~AdminStore() = default;

  // Revokes `revocation.name` as of `revocation.revoked_at`, replacing any earlier revocation of
  // that name (time and reason). Errors: InvalidArgument (empty or over-long name), Unavailable
  // (database busy or down; nothing changed, retry).
  [[nodiscard]] virtual absl::Status Revoke(const Revocation& revocation) = 0;

  // Lifts the revocation of `name`. Errors: NotFound (the name is not revoked), Unavailable.
  [[nodiscard]] virtual absl::Status Unrevoke(absl::string_view name) = 0;

  // Every revocation, sorted by name. Errors: Unavailable.
  [[nodiscard]] virtual absl::StatusOr<std::vector<Revocation>> Revocations() = 0;
};

// Opens only the administrative tables of the database `db` (the collector's --db: a SQLite
// file or a postgresql:// URI), next to any collector running on it, without loading batches
// or aggregates. SQLite: a connection of its own in WAL mode with a busy timeout, so its short
// writes wait for the collector's transactions instead of failing; it never takes the
// collector's `<db>.lock`. A missing file is created. A schema older than this program is
// migrated only when no collector holds the database (else FailedPrecondition: upgrade the
// running collector first). PostgreSQL: one connection; the schema is migrated as a collector
// would. Errors: FailedPrecondition (schema newer than this program, or older while a
// collector holds the SQLite file), Unavailable (cannot open or connect).
[[nodiscard]] absl::StatusOr<std::unique_ptr<AdminStore>> OpenAdminStore(absl::string_view db);

}  // namespace synmap::collector
