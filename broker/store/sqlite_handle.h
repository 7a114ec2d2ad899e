#pragma once
// RAII owners for SQLite's C handles: DbHandle closes a connection, StmtHandle finalizes a prepared
// statement. Both are move-only (std::unique_ptr). Destroy every StmtHandle of a connection before
// its DbHandle; declaring the statements after the connection in a class does that.
// Private to broker_store and its tests; sqlite_store.h does not include it.

#include <sqlite3.h>

#include <memory>

namespace broker::store {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

using DbHandle = std::unique_ptr<sqlite3, DbCloser>;
using StmtHandle = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

}  // namespace broker::store
