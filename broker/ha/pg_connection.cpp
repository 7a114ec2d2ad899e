#include "broker/ha/pg_connection.h"

#include <libpq-fe.h>

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

PgConnection::PgConnection(PgConnection&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}

PgConnection& PgConnection::operator=(PgConnection&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = std::exchange(other.conn_, nullptr);
  }
  return *this;
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

contracts::Result<std::vector<PgRow>> PgConnection::query(const std::string& what, const std::string& sql,
                                                          const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  std::unique_ptr<PGresult, decltype(&PQclear)> res(
      PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0),
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
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return contracts::Error{ErrorCode::kStorage, "postgresql reconnect: " + one_line(PQerrorMessage(conn_))};
  }
  return {};
}

}  // namespace broker::ha
