#include "broker/ha/pg_connection.h"

#include <libpq-fe.h>

#include <cstring>
#include <memory>
#include <utility>

#include <spdlog/spdlog.h>

#include "broker/ha/log.h"

namespace broker::ha {
namespace {

using contracts::ErrorCode;

// libpq's messages end with a newline and may span lines; one line reads better in a log.
std::string one_line(const char* message) {
  std::string s = message == nullptr ? "" : message;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s.empty() ? "unknown libpq error" : s;
}

// libpq prints server notices (e.g. "relation already exists, skipping") on stderr by default;
// they belong in our log, at debug.
void log_notice(void* /*arg*/, const char* message) { log().debug("postgresql notice: {}", one_line(message)); }

}  // namespace

contracts::Result<PgConnection> PgConnection::open(const std::string& conninfo) {
  // Defaults first, then the caller's string expanded: its own settings win. TCP keepalives and a
  // user timeout so that a cut network fails a statement within about ten seconds instead of
  // leaving the caller blocked in libpq (a leader's loop, a standby's lease).
  const char* keys[] = {"connect_timeout",  "keepalives",       "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "tcp_user_timeout", "dbname",          nullptr};
  const char* values[] = {"5", "1", "5", "2", "3", "10000", conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return contracts::Error{ErrorCode::kStorage, "postgresql connect: out of memory"};
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string detail = "postgresql connect: " + one_line(PQerrorMessage(conn));
    PQfinish(conn);
    return contracts::Error{ErrorCode::kStorage, detail};
  }
  PQsetNoticeProcessor(conn, &log_notice, nullptr);
  return PgConnection(conn);
}

PgConnection::PgConnection(PgConnection&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)), prepared_(std::move(other.prepared_)) {}

PgConnection& PgConnection::operator=(PgConnection&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = std::exchange(other.conn_, nullptr);
    prepared_ = std::move(other.prepared_);
  }
  return *this;
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

contracts::Result<std::string> PgConnection::prepared_name(const std::string& what, const std::string& sql,
                                                           int params) {
  constexpr std::size_t kMaxPrepared = 256;
  if (auto it = prepared_.find(sql); it != prepared_.end()) return it->second;
  std::size_t start = sql.find_first_not_of(" \n");
  auto starts_with = [&](const char* word) { return sql.compare(start, std::strlen(word), word) == 0; };
  if (start == std::string::npos || prepared_.size() >= kMaxPrepared ||
      !(starts_with("SELECT") || starts_with("INSERT") || starts_with("UPDATE") || starts_with("DELETE") ||
        starts_with("WITH"))) {
    return std::string();
  }
  std::string name = "keten_" + std::to_string(prepared_.size() + 1);
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQprepare(conn_, name.c_str(), sql.c_str(), params, nullptr),
                                                    &PQclear);
  if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    const char* message = res ? PQresultErrorMessage(res.get()) : nullptr;
    if (message == nullptr || *message == '\0') message = PQerrorMessage(conn_);
    return contracts::Error{ErrorCode::kStorage, what + ": " + one_line(message)};
  }
  prepared_.emplace(sql, name);
  return name;
}

contracts::Result<std::vector<PgRow>> PgConnection::query(const std::string& what, const std::string& sql,
                                                          const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  auto name = prepared_name(what, sql, static_cast<int>(values.size()));
  if (!name) return name.error();
  const int n_params = static_cast<int>(values.size());
  std::unique_ptr<PGresult, decltype(&PQclear)> res(
      name->empty() ? PQexecParams(conn_, sql.c_str(), n_params, nullptr, values.data(), nullptr, nullptr, 0)
                    : PQexecPrepared(conn_, name->c_str(), n_params, values.data(), nullptr, nullptr, 0),
      &PQclear);
  if (!res) return contracts::Error{ErrorCode::kStorage, what + ": " + one_line(PQerrorMessage(conn_))};
  const ExecStatusType status = PQresultStatus(res.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const char* message = PQresultErrorMessage(res.get());
    if (message == nullptr || *message == '\0') message = PQerrorMessage(conn_);
    return contracts::Error{ErrorCode::kStorage, what + ": " + one_line(message)};
  }
  std::vector<PgRow> rows;
  const int n = PQntuples(res.get());
  const int columns = PQnfields(res.get());
  rows.reserve(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) {
    PgRow row;
    row.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) row.emplace_back(PQgetvalue(res.get(), r, c));
    rows.push_back(std::move(row));
  }
  return rows;
}

bool PgConnection::is_broken() const { return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK; }

bool PgConnection::in_transaction() const {
  if (conn_ == nullptr) return false;
  const PGTransactionStatusType status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

bool PgConnection::transaction_failed() const {
  return conn_ != nullptr && PQtransactionStatus(conn_) == PQTRANS_INERROR;
}

contracts::Result<void> PgConnection::reconnect() {
  prepared_.clear();  // a new session has none
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return contracts::Error{ErrorCode::kStorage, "postgresql reconnect: " + one_line(PQerrorMessage(conn_))};
  }
  return {};
}

}  // namespace broker::ha
