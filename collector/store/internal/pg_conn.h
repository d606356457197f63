#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace synmap::collector::internal {

struct PgResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
struct PgConnFree {
  void operator()(PGconn* c) const { PQfinish(c); }
};

// A query's result, requested in binary form: integers are big-endian, bytea and text raw.
class PgResult {
 public:
  explicit PgResult(std::unique_ptr<PGresult, PgResultFree> result) : result_(std::move(result)) {}
  int rows() const { return PQntuples(result_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  absl::string_view Bytes(int row, int col) const {
    return absl::string_view(PQgetvalue(result_.get(), row, col),
                             static_cast<size_t>(PQgetlength(result_.get(), row, col)));
  }
  // An int8, int4 or int2 column (0 when NULL).
  int64_t Int(int row, int col) const;

 private:
  std::unique_ptr<PGresult, PgResultFree> result_;
};

// Parameters of one statement: numbers and text in text form, bytea in binary form.
class PgParams {
 public:
  PgParams& Int(int64_t v);
  PgParams& Text(absl::string_view v);
  PgParams& Bytes(absl::string_view v);
  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() const { return pointers_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  void Refresh();
  std::vector<std::string> values_;
  std::vector<const char*> pointers_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// One libpq connection. Any failure that leaves the connection unusable (the server went away,
// restarted, the socket broke) marks it broken; the next Ensure() reconnects, at most once per
// backoff step (0.2 s doubling to 5 s), logging the outage once and the recovery once.
// Thread-compatible: one user at a time.
class PgConn {
 public:
  // `conninfo`: a libpq URI or key=value string. `purpose` names the connection in logs.
  PgConn(std::string conninfo, std::string purpose)
      : conninfo_(std::move(conninfo)), purpose_(std::move(purpose)) {}

  // Connects if not connected. Unavailable (naming the database error) when it cannot.
  [[nodiscard]] absl::Status Ensure();
  // Runs `sql` with `params`; returns rows for queries. Errors: Unavailable for connection
  // trouble (the connection is marked broken), Aborted for a serialization failure or a
  // deadlock, FailedPrecondition for other SQL errors; each names `sql`'s first words and the
  // server's message.
  [[nodiscard]] absl::StatusOr<PgResult> Exec(absl::string_view sql, const PgParams& params = {});
  // Runs several ;-separated statements without parameters (schema changes).
  [[nodiscard]] absl::Status ExecScript(absl::string_view sql);
  // Whether the connection is up, checked with a round trip.
  bool Alive();
  void Close() { conn_.reset(); }
  bool connected() const { return conn_ != nullptr; }

 private:
  absl::Status Failure(absl::string_view what, PGresult* result);

  const std::string conninfo_;
  const std::string purpose_;
  std::unique_ptr<PGconn, PgConnFree> conn_;
  bool was_down_ = false;
  int64_t next_attempt_ns_ = 0;
  int64_t backoff_ns_ = 0;
};

// True when `db` names a PostgreSQL database (postgresql:// or postgres:// URI) rather than a
// SQLite file.
bool IsPostgresUri(absl::string_view db);

// `uri` with any password replaced by "***", for logs and messages.
std::string RedactUri(absl::string_view uri);

}  // namespace synmap::collector::internal
