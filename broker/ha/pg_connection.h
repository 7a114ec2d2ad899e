#pragma once
// PgConnection: one libpq connection (RAII), with text-only queries. Every failure is a
// contracts::Result error of code kStorage carrying libpq's own message.
//
// Threading: one thread at a time (libpq connections are not shared). Movable, not copyable.

#include <string>
#include <unordered_map>
#include <vector>

#include "contracts/error.h"

struct pg_conn;  // libpq's PGconn, kept out of this header

namespace broker::ha {

using PgRow = std::vector<std::string>;  // one row, every column as text (NULL reads as "")

class PgConnection {
 public:
  // `conninfo`: a libpq connection string or postgresql:// URI. A connect_timeout of 5 s applies
  // unless the string sets its own.
  [[nodiscard]] static contracts::Result<PgConnection> open(const std::string& conninfo);

  PgConnection(PgConnection&&) noexcept;
  PgConnection& operator=(PgConnection&&) noexcept;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection();

  // Runs one statement with $1.. parameters as text; returns its rows (none for commands).
  // Error: "<what>: <libpq message>". A SELECT, INSERT, UPDATE, DELETE or WITH statement is
  // prepared on the session the first time its text is run and executed as prepared from then on
  // (the server parses and plans it once); at most 256 texts are kept, and reconnect() forgets them.
  [[nodiscard]] contracts::Result<std::vector<PgRow>> query(const std::string& what, const std::string& sql,
                                                            const std::vector<std::string>& params = {});
  // True once libpq reports the connection lost (server restart, network): call reconnect().
  bool is_broken() const;
  // True while a transaction is open on the session (BEGIN sent, no COMMIT or ROLLBACK yet),
  // including one a failed statement aborted (only ROLLBACK ends it).
  bool in_transaction() const;
  // True while the open transaction was aborted by a failed statement: PostgreSQL would answer a
  // COMMIT with a rollback, so a caller must not take COMMIT's success for a commit.
  bool transaction_failed() const;
  // Reconnects with the same parameters (session settings must be made again).
  [[nodiscard]] contracts::Result<void> reconnect();

  pg_conn* native() { return conn_; }

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  // The name of `sql`'s prepared statement, preparing it first; "" when it is not to be prepared
  // (another kind of statement, or the cache is full). An error when preparing it failed.
  [[nodiscard]] contracts::Result<std::string> prepared_name(const std::string& what, const std::string& sql,
                                                             int params);
  pg_conn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // statement text -> prepared name
};

}  // namespace broker::ha
