#include "collector/store/internal/pg_conn.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/log/log.h"

namespace synmap::collector::internal {
namespace {

constexpr int64_t kFirstBackoffNs = 200'000'000;
constexpr int64_t kMaxBackoffNs = 5'000'000'000;

void IgnoreNotice(void* /*arg*/, const char* /*message*/) {}

// The first words of a statement, to name it in errors without dumping it.
std::string Head(absl::string_view sql) {
  sql = absl::StripLeadingAsciiWhitespace(sql);
  std::string out(sql.substr(0, std::min<size_t>(sql.size(), 48)));
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

std::string Trimmed(const char* message) {
  return std::string(absl::StripTrailingAsciiWhitespace(message == nullptr ? "" : message));
}

}  // namespace

int64_t PgResult::Int(int row, int col) const {
  if (IsNull(row, col)) {
    return 0;
  }
  const absl::string_view b = Bytes(row, col);
  uint64_t v = 0;
  for (char c : b) {
    v = (v << 8) | static_cast<uint8_t>(c);
  }
  // Sign-extend narrower integers.
  const size_t bits = b.size() * 8;
  if (bits > 0 && bits < 64 && (v >> (bits - 1)) != 0) {
    v |= ~uint64_t{0} << bits;
  }
  return static_cast<int64_t>(v);
}

PgParams& PgParams::Int(int64_t v) {
  values_.push_back(absl::StrCat(v));
  formats_.push_back(0);
  Refresh();
  return *this;
}

PgParams& PgParams::Text(absl::string_view v) {
  values_.emplace_back(v);
  formats_.push_back(0);
  Refresh();
  return *this;
}

PgParams& PgParams::Bytes(absl::string_view v) {
  values_.emplace_back(v);
  formats_.push_back(1);
  Refresh();
  return *this;
}

void PgParams::Refresh() {
  pointers_.clear();
  lengths_.clear();
  for (const std::string& v : values_) {
    pointers_.push_back(v.data());
    lengths_.push_back(static_cast<int>(v.size()));
  }
}

absl::Status PgConn::Ensure() {
  if (conn_ != nullptr && PQstatus(conn_.get()) == CONNECTION_OK) {
    return absl::OkStatus();
  }
  conn_.reset();
  const int64_t now = absl::GetCurrentTimeNanos();
  if (now < next_attempt_ns_) {
    return absl::UnavailableError(
        absl::StrCat("database ", RedactUri(conninfo_), " unreachable; retrying shortly"));
  }
  // The caller's URI first (expanded), then our settings: a dead server or a lost network is
  // noticed within about 20 s even when no packet says so.
  const char* keywords[] = {
      "dbname",          "connect_timeout",     "application_name", "keepalives",
      "keepalives_idle", "keepalives_interval", "keepalives_count", nullptr};
  const char* values[] = {conninfo_.c_str(), "5", "synmap-collector", "1", "10", "5", "2", nullptr};
  std::unique_ptr<PGconn, PgConnFree> conn(PQconnectdbParams(keywords, values, 1));
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    const std::string why = conn == nullptr ? "out of memory" : Trimmed(PQerrorMessage(conn.get()));
    backoff_ns_ = backoff_ns_ == 0 ? kFirstBackoffNs : std::min(kMaxBackoffNs, backoff_ns_ * 2);
    next_attempt_ns_ = now + backoff_ns_;
    if (!was_down_) {
      SYNMAP_LOG(WARNING) << "store_database_unreachable connection=" << purpose_
                          << " db=" << RedactUri(conninfo_) << " error=\"" << why << "\"";
      was_down_ = true;
    }
    return absl::UnavailableError(
        absl::StrCat("connect to database ", RedactUri(conninfo_), ": ", why));
  }
  PQsetNoticeProcessor(conn.get(), &IgnoreNotice, nullptr);
  conn_ = std::move(conn);
  backoff_ns_ = 0;
  next_attempt_ns_ = 0;
  if (was_down_) {
    SYNMAP_LOG(INFO) << "store_database_reconnected connection=" << purpose_;
    was_down_ = false;
  }
  return absl::OkStatus();
}

absl::Status PgConn::Failure(absl::string_view what, PGresult* result) {
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string message =
      Trimmed(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn_.get()));
  const std::string text = absl::StrCat(what, ": ", message.empty() ? "no answer" : message);
  const absl::string_view code = state == nullptr ? "" : state;
  if (PQstatus(conn_.get()) != CONNECTION_OK || code.empty() || absl::StartsWith(code, "08") ||
      absl::StartsWith(code, "57") || absl::StartsWith(code, "53")) {
    // Connection lost, server shutting down or out of resources: retry later.
    conn_.reset();
    if (!was_down_) {
      SYNMAP_LOG(WARNING) << "store_database_unreachable connection=" << purpose_ << " error=\""
                          << message << "\"";
      was_down_ = true;
    }
    return absl::UnavailableError(text);
  }
  if (code == "40001" || code == "40P01") {
    return absl::AbortedError(text);
  }
  return absl::FailedPreconditionError(text);
}

absl::StatusOr<PgResult> PgConn::Exec(absl::string_view sql, const PgParams& params) {
  absl::Status up = Ensure();
  if (!up.ok()) {
    return up;
  }
  const std::string statement(sql);
  std::unique_ptr<PGresult, PgResultFree> result(
      PQexecParams(conn_.get(), statement.c_str(), params.size(), nullptr, params.values(),
                   params.lengths(), params.formats(), /*resultFormat=*/1));
  const ExecStatusType status =
      result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return Failure(Head(sql), result.get());
  }
  return PgResult(std::move(result));
}

absl::Status PgConn::ExecScript(absl::string_view sql) {
  absl::Status up = Ensure();
  if (!up.ok()) {
    return up;
  }
  const std::string script(sql);
  std::unique_ptr<PGresult, PgResultFree> result(PQexec(conn_.get(), script.c_str()));
  const ExecStatusType status =
      result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return Failure(Head(sql), result.get());
  }
  return absl::OkStatus();
}

bool PgConn::Alive() {
  if (conn_ == nullptr) {
    return false;
  }
  return Exec("SELECT 1").ok();
}

bool IsPostgresUri(absl::string_view db) {
  return absl::StartsWith(db, "postgresql://") || absl::StartsWith(db, "postgres://");
}

std::string RedactUri(absl::string_view uri) {
  // scheme://user:password@host...: hide the password.
  const size_t scheme = uri.find("://");
  if (scheme == absl::string_view::npos) {
    return std::string(uri);
  }
  const size_t at = uri.find('@', scheme + 3);
  const size_t colon = uri.find(':', scheme + 3);
  if (at == absl::string_view::npos || colon == absl::string_view::npos || colon > at) {
    return std::string(uri);
  }
  return absl::StrCat(uri.substr(0, colon + 1), "***", uri.substr(at));
}

}  // namespace synmap::collector::internal
