#include "collector/store/internal/pg_admin.h"

#include "absl/strings/str_cat.h"
#include "common/batch/batch_codec.h"
#include "common/status/status_macros.h"

namespace synmap::collector::internal {

absl::Status PgAdminTables::Revoke(const Revocation& revocation) {
  SYNMAP_RETURN_IF_ERROR(common::ValidateSensorName(revocation.name));
  absl::MutexLock lock(&mu_);
  return Annotate(
      conn_
          .Exec("INSERT INTO revocations (name, revoked_ns, reason) VALUES ($1, $2, $3) "
                "ON CONFLICT (name) DO UPDATE SET revoked_ns = EXCLUDED.revoked_ns, "
                "reason = EXCLUDED.reason",
                PgParams()
                    .Text(revocation.name)
                    .Int(absl::ToUnixNanos(revocation.revoked_at))
                    .Text(revocation.reason))
          .status(),
      absl::StrCat("revoke ", revocation.name));
}

absl::Status PgAdminTables::Unrevoke(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<PgResult> removed =
      conn_.Exec("DELETE FROM revocations WHERE name = $1 RETURNING name", PgParams().Text(name));
  if (!removed.ok()) {
    return Annotate(removed.status(), absl::StrCat("unrevoke ", name));
  }
  if (removed->rows() == 0) {
    return absl::NotFoundError(absl::StrCat(name, " is not revoked"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Revocation>> PgAdminTables::Revocations() {
  absl::MutexLock lock(&mu_);
  // COLLATE "C": byte order, as SQLite sorts.
  absl::StatusOr<PgResult> result =
      conn_.Exec("SELECT name, revoked_ns, reason FROM revocations ORDER BY name COLLATE \"C\"");
  if (!result.ok()) {
    return Annotate(result.status(), "read revocations");
  }
  const PgResult& rows = *result;
  std::vector<Revocation> out;
  out.reserve(static_cast<size_t>(rows.rows()));
  for (int r = 0; r < rows.rows(); ++r) {
    Revocation& revocation = out.emplace_back();
    revocation.name = std::string(rows.Bytes(r, 0));
    revocation.revoked_at = absl::FromUnixNanos(rows.Int(r, 1));
    revocation.reason = std::string(rows.Bytes(r, 2));
  }
  return out;
}

}  // namespace synmap::collector::internal
