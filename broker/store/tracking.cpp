#include "broker/store/tracking.h"

#include <sqlite3.h>

#include "broker/store/sqlite_handle.h"

namespace broker::store {
namespace {

using contracts::Error;
using contracts::ErrorCode;

// Same conventions as the main schema: every column NOT NULL. CREATE ... IF NOT EXISTS, so opening
// an older store of this schema version adds them.
constexpr const char* kTrackingSql = R"sql(
CREATE TABLE IF NOT EXISTS norm_keys (
  pointer     TEXT    NOT NULL,
  case_key    TEXT    NOT NULL,
  message_id  TEXT    NOT NULL,
  contract    TEXT    NOT NULL,
  accepted_at INTEGER NOT NULL,
  PRIMARY KEY (pointer, case_key, message_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS norm_watch (
  message_id TEXT    NOT NULL PRIMARY KEY,
  due_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS norm_watch_by_due ON norm_watch (due_at);
CREATE TABLE IF NOT EXISTS norm_recorded (
  key   TEXT    NOT NULL PRIMARY KEY,
  state INTEGER NOT NULL CHECK (state IN (1, 2))
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_by_contract ON messages (contract, seq);
)sql";

Error storage_error(std::string_view what, sqlite3* db) {
  return Error{ErrorCode::kStorage, std::string(what) + " : " + sqlite3_errmsg(db)};
}

// One use of a prepared statement; resets it on scope exit. Text is bound SQLITE_STATIC: it must
// outlive the Step, which it does as the calling function's argument.
class Step {
 public:
  Step(sqlite3* db, sqlite3_stmt* stmt, std::string_view what) : db_(db), stmt_(stmt), what_(what) {}
  ~Step() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Step(const Step&) = delete;
  Step& operator=(const Step&) = delete;
  Step& text(std::string_view v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_text64(stmt_, ++index_, v.data() ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8);
    return *this;
  }
  Step& int64(std::int64_t v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, ++index_, v);
    return *this;
  }
  Result<bool> next() {
    if (rc_ != SQLITE_OK) return Error{ErrorCode::kStorage, std::string(what_) + " : " + sqlite3_errstr(rc_)};
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return storage_error(what_, db_);
  }
  Result<void> run() {
    auto r = next();
    if (!r) return r.error();
    return {};
  }
  std::int64_t int64_at(int c) const { return sqlite3_column_int64(stmt_, c); }
  std::string text_at(int c) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c))) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string_view what_;
  int index_ = 0;
  int rc_ = SQLITE_OK;
};

}  // namespace

struct TrackingTables::Impl {
  sqlite3* db = nullptr;  // owned by the SqliteStore
  StmtHandle add_key, keys, watch, unwatch, watched, due, next_due, recorded, record;
  StmtHandle deliveries_of, backlog_counts;

  Result<void> prepare(StmtHandle& stmt, const char* sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
      return storage_error(std::string("prepare ") + sql, db);
    }
    stmt.reset(raw);
    return {};
  }
  Step step(const StmtHandle& s, std::string_view what) { return Step(db, s.get(), what); }
};

Result<TrackingTables> TrackingTables::open(SqliteStore& store) {
  auto impl = std::make_unique<Impl>();
  impl->db = store.connection();
  if (sqlite3_exec(impl->db, kTrackingSql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return storage_error("create tracking tables", impl->db);
  }
  struct { StmtHandle* stmt; const char* sql; } statements[] = {
      {&impl->add_key, "INSERT OR IGNORE INTO norm_keys (pointer, case_key, message_id, contract, accepted_at) VALUES (?, ?, ?, ?, ?)"},
      {&impl->keys, "SELECT contract, message_id, accepted_at FROM norm_keys WHERE pointer = ? AND case_key = ? ORDER BY accepted_at, message_id"},
      {&impl->watch, "INSERT INTO norm_watch (message_id, due_at) VALUES (?, ?) ON CONFLICT (message_id) DO UPDATE SET due_at = excluded.due_at"},
      {&impl->unwatch, "DELETE FROM norm_watch WHERE message_id = ?"},
      {&impl->watched, "SELECT 1 FROM norm_watch WHERE message_id = ?"},
      {&impl->due, "SELECT message_id FROM norm_watch WHERE due_at <= ? ORDER BY due_at LIMIT ?"},
      {&impl->next_due, "SELECT min(due_at) FROM norm_watch"},
      {&impl->recorded, "SELECT state FROM norm_recorded WHERE key = ?"},
      {&impl->record, "INSERT INTO norm_recorded (key, state) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state"},
      {&impl->deliveries_of, "SELECT d.recipient, d.attempts, d.last_attempt_at, d.acked_at FROM deliveries AS d "
                             "JOIN messages AS m ON m.seq = d.message_seq WHERE m.message_id = ? ORDER BY d.id"},
      {&impl->backlog_counts, "SELECT recipient, count(*) FROM deliveries WHERE state IN (0, 1) GROUP BY recipient"},
  };
  for (auto& s : statements) {
    if (auto r = impl->prepare(*s.stmt, s.sql); !r) return r.error();
  }
  return TrackingTables(std::move(impl));
}

TrackingTables::TrackingTables(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrackingTables::TrackingTables(TrackingTables&&) noexcept = default;
TrackingTables& TrackingTables::operator=(TrackingTables&&) noexcept = default;
TrackingTables::~TrackingTables() = default;

Result<void> TrackingTables::add_key(std::string_view pointer, std::string_view case_key, const NormKey& key) {
  return impl_->step(impl_->add_key, "add norm key")
      .text(pointer).text(case_key).text(key.message_id).text(key.contract).int64(key.accepted_at).run();
}

Result<std::vector<NormKey>> TrackingTables::keys(std::string_view pointer, std::string_view case_key) {
  auto q = impl_->step(impl_->keys, "read norm keys");
  q.text(pointer).text(case_key);
  std::vector<NormKey> out;
  for (;;) {
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back({q.text_at(0), q.text_at(1), q.int64_at(2)});
  }
}

Result<void> TrackingTables::watch(std::string_view message_id, Millis due_at) {
  return impl_->step(impl_->watch, "watch message").text(message_id).int64(due_at).run();
}

Result<void> TrackingTables::unwatch(std::string_view message_id) {
  return impl_->step(impl_->unwatch, "unwatch message").text(message_id).run();
}

Result<bool> TrackingTables::watched(std::string_view message_id) {
  return impl_->step(impl_->watched, "read watch").text(message_id).next();
}

Result<std::vector<std::string>> TrackingTables::due(Millis now, std::size_t limit) {
  auto q = impl_->step(impl_->due, "read due watches");
  q.int64(now).int64(static_cast<std::int64_t>(limit));
  std::vector<std::string> out;
  for (;;) {
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(q.text_at(0));
  }
}

Result<std::optional<Millis>> TrackingTables::next_due() {
  auto q = impl_->step(impl_->next_due, "read next due");
  auto row = q.next();
  if (!row) return row.error();
  if (!*row || sqlite3_column_type(impl_->next_due.get(), 0) == SQLITE_NULL) return std::optional<Millis>();
  return std::optional<Millis>(q.int64_at(0));
}

Result<RecordedViolation> TrackingTables::recorded(std::string_view key) {
  auto q = impl_->step(impl_->recorded, "read recorded violation");
  q.text(key);
  auto row = q.next();
  if (!row) return row.error();
  if (!*row) return RecordedViolation::kNone;
  return q.int64_at(0) == 2 ? RecordedViolation::kClosed : RecordedViolation::kOpen;
}

Result<void> TrackingTables::record(std::string_view key, RecordedViolation state) {
  const std::int64_t value = state == RecordedViolation::kClosed ? 2 : 1;
  return impl_->step(impl_->record, "record violation").text(key).int64(value).run();
}

Result<std::vector<DeliveryTimes>> TrackingTables::deliveries_of(std::string_view message_id) {
  auto q = impl_->step(impl_->deliveries_of, "read deliveries of message");
  q.text(message_id);
  std::vector<DeliveryTimes> out;
  for (;;) {
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back({q.text_at(0), static_cast<std::uint32_t>(q.int64_at(1)), q.int64_at(2), q.int64_at(3)});
  }
}

Result<std::map<std::string, std::uint64_t, std::less<>>> TrackingTables::backlog_counts() {
  auto q = impl_->step(impl_->backlog_counts, "count backlog");
  std::map<std::string, std::uint64_t, std::less<>> out;
  for (;;) {
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return out;
    out[q.text_at(0)] = static_cast<std::uint64_t>(q.int64_at(1));
  }
}

Result<std::vector<std::string>> TrackingTables::message_ids_of(const std::vector<std::string>& contracts) {
  std::vector<std::string> out;
  if (contracts.empty()) return out;
  std::string sql = "SELECT message_id FROM messages WHERE contract IN (";
  for (std::size_t i = 0; i < contracts.size(); ++i) sql += i ? ", ?" : "?";
  sql += ") ORDER BY seq";
  StmtHandle stmt;
  if (auto r = impl_->prepare(stmt, sql.c_str()); !r) return r.error();
  auto q = impl_->step(stmt, "read messages of contracts");
  for (const auto& c : contracts) q.text(c);
  for (;;) {
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(q.text_at(0));
  }
}

}  // namespace broker::store
