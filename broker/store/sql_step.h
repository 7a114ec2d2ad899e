#pragma once
// SqlStep: one use of a prepared statement for the store's satellite files (case_keys.cpp,
// retention.cpp, tracking.cpp): binds left to right, steps (one row, or each_row/collect over all),
// reads columns, and resets the statement on scope exit so no read stays open between calls. Text and blobs are bound SQLITE_STATIC: they must
// outlive the step, which they do as the calling function's locals or arguments. Failures are
// Error{kStorage, "<what> : <SQLite's message>"}. Private to broker_store.

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/store/sqlite_handle.h"
#include "contracts/error.h"

namespace broker::store {

inline contracts::Error sql_error(std::string_view what, sqlite3* db) {
  return contracts::Error{contracts::ErrorCode::kStorage, std::string(what) + " : " + sqlite3_errmsg(db)};
}

// Prepares `sql` once into `stmt` (SQLITE_PREPARE_PERSISTENT).
inline contracts::Result<void> sql_prepare(sqlite3* db, StmtHandle& stmt, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
    return sql_error(std::string("prepare ") + sql, db);
  }
  stmt.reset(raw);
  return {};
}

class SqlStep {
 public:
  SqlStep(sqlite3* db, const StmtHandle& stmt, std::string_view what) : db_(db), stmt_(stmt.get()), what_(what) {}
  ~SqlStep() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  SqlStep(const SqlStep&) = delete;
  SqlStep& operator=(const SqlStep&) = delete;
  SqlStep& text(std::string_view v) {
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_text64(stmt_, ++index_, v.data() ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8);
    return *this;
  }
  SqlStep& blob(std::string_view v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_blob64(stmt_, ++index_, v.data() ? v.data() : "", v.size(), SQLITE_STATIC);
    return *this;
  }
  SqlStep& int64(std::int64_t v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, ++index_, v);
    return *this;
  }
  // true: a row is ready; false: no more rows.
  [[nodiscard]] contracts::Result<bool> next() {
    if (rc_ != SQLITE_OK) {
      return contracts::Error{contracts::ErrorCode::kStorage, std::string(what_) + " : " + sqlite3_errstr(rc_)};
    }
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sql_error(what_, db_);
  }
  [[nodiscard]] contracts::Result<void> run() {
    auto r = next();
    if (!r) return r.error();
    return {};
  }
  // Calls `on_row(*this)` for every row; the first failing step ends it with its error.
  template <typename OnRow>
  [[nodiscard]] contracts::Result<void> each_row(OnRow on_row) {
    for (;;) {
      auto row = next();
      if (!row) return row.error();
      if (!*row) return {};
      on_row(static_cast<const SqlStep&>(*this));
    }
  }
  // Every row, each made into a value by `read(step)`, in order.
  template <typename Read>
  [[nodiscard]] auto collect(Read read)
      -> contracts::Result<std::vector<decltype(read(std::declval<const SqlStep&>()))>> {
    std::vector<decltype(read(std::declval<const SqlStep&>()))> out;
    if (auto r = each_row([&](const SqlStep& s) { out.push_back(read(s)); }); !r) return r.error();
    return out;
  }
  std::int64_t int64_at(int c) const { return sqlite3_column_int64(stmt_, c); }
  std::string text_at(int c) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c))) : std::string();
  }
  std::string blob_at(int c) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, c));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c))) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string_view what_;
  int index_ = 0;
  int rc_ = SQLITE_OK;
};

}  // namespace broker::store
