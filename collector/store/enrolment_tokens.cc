#include "collector/store/enrolment_tokens.h"

#include <sqlite3.h>

#include <utility>

#include "absl/synchronization/mutex.h"
#include "collector/store/admin_store.h"
#include "collector/store/internal/pg_conn.h"
#include "collector/store/internal/sqlite_admin.h"
#include "collector/store/internal/sqlite_db.h"
#include "common/status/status_macros.h"

namespace synmap::collector {
namespace {

using internal::PgConn;
using internal::PgParams;
using internal::PgResult;
using internal::SqliteDb;
using internal::Statement;

absl::Status CheckFields(const EnrolmentToken& token) {
  if (token.hash.empty() || token.name.empty() || token.role.empty()) {
    return absl::InvalidArgumentError("an enrolment token needs a hash, a name and a role");
  }
  return absl::OkStatus();
}

EnrolmentToken FromColumns(std::string hash, std::string name, std::string role, int64_t created_ns,
                           int64_t expires_ns, int64_t used_ns) {
  EnrolmentToken token;
  token.hash = std::move(hash);
  token.name = std::move(name);
  token.role = std::move(role);
  token.created = absl::FromUnixNanos(created_ns);
  token.expires = absl::FromUnixNanos(expires_ns);
  if (used_ns != 0) {
    token.used = absl::FromUnixNanos(used_ns);
  }
  return token;
}

// SQLite: WAL connection with a busy timeout (internal::OpenWalConnection); a claim is one
// IMMEDIATE transaction, so the read and the mark cannot interleave with another claim.
class SqliteEnrolmentTokens final : public EnrolmentTokens {
 public:
  explicit SqliteEnrolmentTokens(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  absl::Status Add(const EnrolmentToken& token) override ABSL_LOCKS_EXCLUDED(mu_) {
    SYNMAP_RETURN_IF_ERROR(CheckFields(token));
    absl::MutexLock lock(&mu_);
    SYNMAP_ASSIGN_OR_RETURN(
        Statement insert,
        db_->Prepare("INSERT INTO enrolment_tokens (hash, name, role, created_ns, expires_ns) "
                     "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (hash) DO NOTHING"));
    insert.BindText(1, token.hash);
    insert.BindText(2, token.name);
    insert.BindText(3, token.role);
    insert.BindInt64(4, absl::ToUnixNanos(token.created));
    insert.BindInt64(5, absl::ToUnixNanos(token.expires));
    SYNMAP_RETURN_IF_ERROR(Annotate(insert.Run(), "store enrolment token"));
    if (sqlite3_changes(db_->raw()) == 0) {
      return absl::AlreadyExistsError("an enrolment token with this hash exists");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<EnrolmentToken> Claim(absl::string_view hash, absl::Time now) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    SYNMAP_RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE"));
    absl::StatusOr<EnrolmentToken> claimed = ClaimLocked(hash, now);
    if (claimed.ok() || absl::IsNotFound(claimed.status())) {
      SYNMAP_RETURN_IF_ERROR(db_->Exec("COMMIT"));
    } else {
      (void)db_->Exec("ROLLBACK");
    }
    return claimed;
  }

 private:
  absl::StatusOr<EnrolmentToken> ClaimLocked(absl::string_view hash, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    SYNMAP_ASSIGN_OR_RETURN(
        Statement select,
        db_->Prepare("SELECT name, role, created_ns, expires_ns, used_ns FROM enrolment_tokens "
                     "WHERE hash = ?1"));
    select.BindText(1, hash);
    SYNMAP_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) {
      return absl::NotFoundError("no such enrolment token");
    }
    EnrolmentToken token = FromColumns(std::string(hash), std::string(select.ColumnBlob(0)),
                                       std::string(select.ColumnBlob(1)), select.ColumnInt64(2),
                                       select.ColumnInt64(3), select.ColumnInt64(4));
    select.Reset();
    if (!token.used.has_value()) {
      SYNMAP_ASSIGN_OR_RETURN(
          Statement mark, db_->Prepare("UPDATE enrolment_tokens SET used_ns = ?2 WHERE hash = ?1"));
      mark.BindText(1, hash);
      mark.BindInt64(2, absl::ToUnixNanos(now));
      SYNMAP_RETURN_IF_ERROR(Annotate(mark.Run(), "use enrolment token"));
    }
    return token;
  }

  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
};

// PostgreSQL: the claim is one UPDATE ... RETURNING on an unused row (row lock), then a read
// of the row when nothing was updated.
class PgEnrolmentTokens final : public EnrolmentTokens {
 public:
  explicit PgEnrolmentTokens(std::string uri) : conn_(std::move(uri), "enrolment-tokens") {}

  absl::Status Add(const EnrolmentToken& token) override ABSL_LOCKS_EXCLUDED(mu_) {
    SYNMAP_RETURN_IF_ERROR(CheckFields(token));
    absl::MutexLock lock(&mu_);
    SYNMAP_RETURN_IF_ERROR(conn_.Ensure());
    SYNMAP_ASSIGN_OR_RETURN(
        PgResult added,
        conn_.Exec("INSERT INTO enrolment_tokens (hash, name, role, created_ns, expires_ns) "
                   "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hash) DO NOTHING RETURNING hash",
                   PgParams()
                       .Text(token.hash)
                       .Text(token.name)
                       .Text(token.role)
                       .Int(absl::ToUnixNanos(token.created))
                       .Int(absl::ToUnixNanos(token.expires))));
    if (added.rows() == 0) {
      return absl::AlreadyExistsError("an enrolment token with this hash exists");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<EnrolmentToken> Claim(absl::string_view hash, absl::Time now) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    SYNMAP_RETURN_IF_ERROR(conn_.Ensure());
    constexpr absl::string_view kColumns = "name, role, created_ns, expires_ns, used_ns";
    SYNMAP_ASSIGN_OR_RETURN(
        PgResult claimed,
        conn_.Exec(absl::StrCat("UPDATE enrolment_tokens SET used_ns = $2 WHERE hash = $1 AND "
                                "used_ns = 0 RETURNING ",
                                kColumns),
                   PgParams().Text(hash).Int(absl::ToUnixNanos(now))));
    if (claimed.rows() == 1) {
      return FromRow(hash, claimed, /*claimed=*/true);
    }
    SYNMAP_ASSIGN_OR_RETURN(
        PgResult existing,
        conn_.Exec(absl::StrCat("SELECT ", kColumns, " FROM enrolment_tokens WHERE hash = $1"),
                   PgParams().Text(hash)));
    if (existing.rows() == 0) {
      return absl::NotFoundError("no such enrolment token");
    }
    return FromRow(hash, existing, /*claimed=*/false);
  }

 private:
  static EnrolmentToken FromRow(absl::string_view hash, const PgResult& rows, bool claimed) {
    return FromColumns(std::string(hash), std::string(rows.Bytes(0, 0)),
                       std::string(rows.Bytes(0, 1)), rows.Int(0, 2), rows.Int(0, 3),
                       claimed ? 0 : rows.Int(0, 4));
  }

  absl::Mutex mu_;
  PgConn conn_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<EnrolmentTokens>> OpenEnrolmentTokens(absl::string_view db) {
  // Checks and, where allowed, migrates the schema, as every admin command does.
  SYNMAP_RETURN_IF_ERROR(OpenAdminStore(db).status());
  if (internal::IsPostgresUri(db)) {
    return std::make_unique<PgEnrolmentTokens>(std::string(db));
  }
  SYNMAP_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> conn,
                          internal::OpenWalConnection(std::string(db)));
  return std::make_unique<SqliteEnrolmentTokens>(std::move(conn));
}

}  // namespace synmap::collector
