#include "broker/store/tracking.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/audit/signing.h"
#include "broker/store/log.h"
#include "broker/store/seal.h"
#include "broker/store/sql_step.h"
#include "broker/store/tracking_backend.h"
#include "broker/store/transaction.h"

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
-- The consent register is rebuilt at start from the consent messages. They were found through
-- messages_by_contract (contract, seq), which every commit wrote one or two pages of for every
-- contract's messages; this partial index holds only the consent messages' rows.
DROP INDEX IF EXISTS messages_by_contract;
CREATE INDEX IF NOT EXISTS messages_consent ON messages (seq)
  WHERE contract IN ('consent.registered', 'consent.withdrawn');
)sql";

Error storage_error(std::string_view what, sqlite3* db) { return sql_error(what, db); }

// The norm hash key from meta.norm_hash_key: read it, and store the one made at the first open
// with a payload key (norm_hash_key in tracking_backend.h decides).
Result<std::string> load_hash_key(sqlite3* db, std::string_view payload_key) {
  constexpr std::string_view what = "open tracking tables (norm hash key)";
  StmtHandle read;
  if (auto r = sql_prepare(db, read, "SELECT value FROM meta WHERE key = 'norm_hash_key'"); !r) return r.error();
  std::optional<std::string> stored;
  {
    SqlStep q(db, read, what);
    auto row = q.next();
    if (!row) return row.error();
    if (*row) stored = q.text_at(0);
  }
  auto key = norm_hash_key(stored, payload_key);
  if (!key) return key.error();
  if (!key->new_sealed_hex.empty()) {
    StmtHandle insert;
    if (auto r = sql_prepare(db, insert, "INSERT INTO meta (key, value) VALUES ('norm_hash_key', ?)"); !r) {
      return r.error();
    }
    SqlStep w(db, insert, what);
    w.text(key->new_sealed_hex);
    if (auto r = w.run(); !r) return r.error();
  }
  return std::move(key->key);
}

// Rows written before values were hashed (or while the store had no payload key) are hashed in
// place, under secure_delete so the plaintext's bytes are overwritten in the file's pages.
// Returns how many rows were plaintext.
//
// This runs at every open with a payload key, so finding none must not read every row: a hashed
// value starts with "k1:", so the plaintext ones of a pointer are the two key ranges of the
// primary key (pointer, case_key, ...) on either side of that prefix (';' follows ':'). The
// pointers, a handful (one per norm `match`), are found by seeking past each in turn. So the
// search costs a few seeks per pointer, not a row per stored message.
Result<std::size_t> hash_plaintext_rows(sqlite3* db, const std::string& hash_key) {
  constexpr std::string_view what = "hash plaintext norm keys";
  StmtHandle first_pointer, next_pointer, select, update, drop;
  const std::pair<StmtHandle*, const char*> reads[] = {
      {&first_pointer, "SELECT pointer FROM norm_keys ORDER BY pointer LIMIT 1"},
      {&next_pointer, "SELECT pointer FROM norm_keys WHERE pointer > ? ORDER BY pointer LIMIT 1"},
      {&select,
       "SELECT pointer, case_key, message_id FROM norm_keys WHERE pointer = ?1 AND case_key < 'k1:' UNION ALL "
       "SELECT pointer, case_key, message_id FROM norm_keys WHERE pointer = ?1 AND case_key >= 'k1;'"},
  };
  for (const auto& [stmt, sql] : reads) {
    if (auto r = sql_prepare(db, *stmt, sql); !r) return r.error();
  }
  struct Row {
    std::string pointer, case_key, message_id;
  };
  std::vector<Row> rows;
  std::optional<std::string> pointer;
  {
    SqlStep q(db, first_pointer, what);
    auto row = q.next();
    if (!row) return row.error();
    if (*row) pointer = q.text_at(0);
  }
  while (pointer) {
    std::optional<std::string> next;
    {
      SqlStep q(db, select, what);
      q.text(*pointer);
      auto read = q.each_row([&](const SqlStep& s) { rows.push_back(Row{s.text_at(0), s.text_at(1), s.text_at(2)}); });
      if (!read) return read.error();
    }
    {
      SqlStep q(db, next_pointer, what);
      q.text(*pointer);
      auto row = q.next();
      if (!row) return row.error();
      if (*row) next = q.text_at(0);
    }
    pointer = std::move(next);
  }
  if (rows.empty()) return std::size_t{0};
  if (auto r = sql_prepare(db, update,
                           "UPDATE OR IGNORE norm_keys SET case_key = ? WHERE pointer = ? AND case_key = ? "
                           "AND message_id = ?");
      !r) {
    return r.error();
  }
  if (auto r = sql_prepare(db, drop, "DELETE FROM norm_keys WHERE substr(case_key, 1, 3) <> 'k1:'"); !r) {
    return r.error();
  }
  if (sqlite3_exec(db, "PRAGMA secure_delete = ON", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return storage_error(what, db);
  }
  auto body = [&]() -> Result<void> {
    for (const auto& row : rows) {
      const std::string digest = norm_key_digest(hash_key, row.case_key);
      SqlStep u(db, update, what);
      u.text(digest).text(row.pointer).text(row.case_key).text(row.message_id);
      if (auto r = u.run(); !r) return r;
    }
    SqlStep d(db, drop, what);  // a plaintext row whose hashed twin was there already
    return d.run();
  };
  auto done = body();
  const bool off = sqlite3_exec(db, "PRAGMA secure_delete = OFF", nullptr, nullptr, nullptr) == SQLITE_OK;
  if (!done) return done.error();
  if (!off) return storage_error(what, db);
  return rows.size();
}

// The SQLite backend: the tables in the store's file, through its connection.
struct SqliteTracking final : TrackingTables::Impl {
  sqlite3* db = nullptr;  // owned by the SqliteStore
  StmtHandle add_key_, keys_, watch_, unwatch_, watched_, due_, next_due_, recorded_, record_;
  StmtHandle deliveries_of_, backlog_counts_, consent_ids_;

  Result<void> prepare(StmtHandle& stmt, const char* sql) { return sql_prepare(db, stmt, sql); }
  SqlStep step(const StmtHandle& s, std::string_view what) { return SqlStep(db, s, what); }

  Result<void> add_key(std::string_view pointer, std::string_view stored_value, const NormKey& key) override {
    return step(add_key_, "add norm key")
        .text(pointer)
        .text(stored_value)
        .text(key.message_id)
        .text(key.contract)
        .int64(key.accepted_at)
        .run();
  }
  Result<std::vector<NormKey>> keys(std::string_view pointer, std::string_view stored_value) override {
    auto q = step(keys_, "read norm keys");
    q.text(pointer).text(stored_value);
    return q.collect([](const SqlStep& s) { return NormKey{s.text_at(0), s.text_at(1), s.int64_at(2)}; });
  }
  Result<void> watch(std::string_view message_id, Millis due_at) override {
    return step(watch_, "watch message").text(message_id).int64(due_at).run();
  }
  Result<void> unwatch(std::string_view message_id) override {
    return step(unwatch_, "unwatch message").text(message_id).run();
  }
  Result<bool> watched(std::string_view message_id) override {
    return step(watched_, "read watch").text(message_id).next();
  }
  Result<std::vector<std::string>> due(Millis now, std::size_t limit) override {
    auto q = step(due_, "read due watches");
    q.int64(now).int64(static_cast<std::int64_t>(limit));
    return q.collect([](const SqlStep& s) { return s.text_at(0); });
  }
  Result<std::optional<Millis>> next_due() override {
    auto q = step(next_due_, "read next due");
    auto row = q.next();
    if (!row) return row.error();
    if (!*row || sqlite3_column_type(next_due_.get(), 0) == SQLITE_NULL) return std::optional<Millis>();
    return std::optional<Millis>(q.int64_at(0));
  }
  Result<RecordedViolation> recorded(std::string_view key) override {
    auto q = step(recorded_, "read recorded violation");
    q.text(key);
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return RecordedViolation::kNone;
    return q.int64_at(0) == 2 ? RecordedViolation::kClosed : RecordedViolation::kOpen;
  }
  Result<void> record(std::string_view key, RecordedViolation state) override {
    const std::int64_t value = state == RecordedViolation::kClosed ? 2 : 1;
    return step(record_, "record violation").text(key).int64(value).run();
  }
  Result<std::vector<DeliveryTimes>> deliveries_of(std::string_view message_id) override {
    auto q = step(deliveries_of_, "read deliveries of message");
    q.text(message_id);
    return q.collect([](const SqlStep& s) {
      return DeliveryTimes{s.text_at(0), static_cast<std::uint32_t>(s.int64_at(1)), s.int64_at(2), s.int64_at(3)};
    });
  }
  Result<std::map<std::string, std::uint64_t, std::less<>>> backlog_counts() override {
    auto q = step(backlog_counts_, "count backlog");
    std::map<std::string, std::uint64_t, std::less<>> out;
    if (auto r = q.each_row([&](const SqlStep& s) { out[s.text_at(0)] = static_cast<std::uint64_t>(s.int64_at(1)); });
        !r) {
      return r.error();
    }
    return out;
  }
  Result<std::vector<std::string>> consent_message_ids() override {
    // The same IN list as messages_consent's WHERE, term for term: SQLite uses a partial index only
    // for a query whose WHERE implies the index's.
    return step(consent_ids_, "read consent messages").collect([](const SqlStep& s) { return s.text_at(0); });
  }
};

}  // namespace

Result<TrackingTables> TrackingTables::open(SqliteStore& store, std::string_view payload_key) {
  auto impl = std::make_unique<SqliteTracking>();
  impl->db = store.connection();
  if (sqlite3_exec(impl->db, kTrackingSql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return storage_error("create tracking tables", impl->db);
  }
  struct {
    StmtHandle* stmt;
    const char* sql;
  } statements[] = {
      {&impl->add_key_,
       "INSERT OR IGNORE INTO norm_keys (pointer, case_key, message_id, contract, accepted_at) VALUES (?, ?, ?, ?, ?)"},
      {&impl->keys_,
       "SELECT contract, message_id, accepted_at FROM norm_keys WHERE pointer = ? AND case_key = ? ORDER BY "
       "accepted_at, message_id"},
      {&impl->watch_,
       "INSERT INTO norm_watch (message_id, due_at) VALUES (?, ?) ON CONFLICT (message_id) DO UPDATE SET due_at = "
       "excluded.due_at"},
      {&impl->unwatch_, "DELETE FROM norm_watch WHERE message_id = ?"},
      {&impl->watched_, "SELECT 1 FROM norm_watch WHERE message_id = ?"},
      {&impl->due_, "SELECT message_id FROM norm_watch WHERE due_at <= ? ORDER BY due_at LIMIT ?"},
      {&impl->next_due_, "SELECT min(due_at) FROM norm_watch"},
      {&impl->recorded_, "SELECT state FROM norm_recorded WHERE key = ?"},
      {&impl->record_,
       "INSERT INTO norm_recorded (key, state) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state"},
      {&impl->deliveries_of_,
       "SELECT d.recipient, d.attempts, d.last_attempt_at, d.acked_at FROM deliveries AS d "
       "JOIN messages AS m ON m.seq = d.message_seq WHERE m.message_id = ? ORDER BY d.id"},
      {&impl->backlog_counts_, "SELECT recipient, count(*) FROM deliveries WHERE state IN (0, 1) GROUP BY recipient"},
      {&impl->consent_ids_,
       "SELECT message_id FROM messages WHERE contract IN ('consent.registered', 'consent.withdrawn') ORDER BY seq"},
  };
  for (auto& s : statements) {
    if (auto r = impl->prepare(*s.stmt, s.sql); !r) return r.error();
  }
  // The hash key and the rows still plaintext: in a transaction of their own unless the caller
  // has one open.
  std::optional<Transaction> own;
  if (sqlite3_get_autocommit(impl->db) != 0) {
    auto t = Transaction::begin(store);
    if (!t) return t.error();
    own.emplace(std::move(*t));
  }
  auto key = load_hash_key(impl->db, payload_key);
  if (!key) return key.error();
  impl->hash_key = std::move(*key);
  std::size_t hashed = 0;
  if (!impl->hash_key.empty()) {
    auto n = hash_plaintext_rows(impl->db, impl->hash_key);
    if (!n) return n.error();
    hashed = *n;
  }
  if (own) {
    if (auto r = own->commit(); !r) return r.error();
    if (hashed > 0) {
      // The plaintext may still be in the WAL's older frames: move everything into the file.
      if (auto r = store.truncate_wal(); !r) log().warn("norm keys hashed but wal not truncated: {}", r.error().detail);
    }
  }
  if (hashed > 0) log().info("norm keys hashed rows={}", hashed);
  return TrackingTables(std::move(impl));
}

Result<NormHashKey> norm_hash_key(const std::optional<std::string>& stored_hex, std::string_view payload_key) {
  constexpr std::string_view what = "open tracking tables (norm hash key)";
  if (payload_key.empty()) {
    if (!stored_hex) return NormHashKey{};
    return Error{ErrorCode::kStorage, std::string(what) +
                                          " : the store's norm keys are hashed under its payload key (meta "
                                          "norm_hash_key): open it with the payload key"};
  }
  if (stored_hex) {
    std::string sealed;
    if (!audit::from_hex(*stored_hex, sealed)) {
      return Error{ErrorCode::kStorage, std::string(what) + " : meta norm_hash_key is not hex"};
    }
    auto key = open_payload(payload_key, sealed, kNormHashKeyAssociatedData);
    if (!key) {
      return Error{ErrorCode::kStorage,
                   std::string(what) + " : the payload key does not open meta norm_hash_key: " + key.error().detail};
    }
    return NormHashKey{std::move(*key), {}};
  }
  NormHashKey made{generate_case_key(), {}};
  if (made.key.empty()) return Error{ErrorCode::kStorage, std::string(what) + " : libsodium failed to initialise"};
  auto sealed = seal_payload(payload_key, made.key, kNormHashKeyAssociatedData);
  if (!sealed) return sealed.error();  // `made` wipes its key
  made.new_sealed_hex = audit::to_hex(*sealed);
  return made;
}

NormHashKey::~NormHashKey() { wipe(key); }

TrackingTables::Impl::~Impl() { wipe(hash_key); }

TrackingTables::TrackingTables(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrackingTables::TrackingTables(TrackingTables&&) noexcept = default;
TrackingTables& TrackingTables::operator=(TrackingTables&&) noexcept = default;
TrackingTables::~TrackingTables() = default;

std::string TrackingTables::stored(std::string_view value) const {
  return impl_->hash_key.empty() ? std::string(value) : norm_key_digest(impl_->hash_key, value);
}

Result<void> TrackingTables::add_key(std::string_view pointer, std::string_view case_key, const NormKey& key) {
  return impl_->add_key(pointer, stored(case_key), key);
}
Result<std::vector<NormKey>> TrackingTables::keys(std::string_view pointer, std::string_view case_key) {
  return impl_->keys(pointer, stored(case_key));
}
Result<void> TrackingTables::watch(std::string_view message_id, Millis due_at) {
  return impl_->watch(message_id, due_at);
}
Result<void> TrackingTables::unwatch(std::string_view message_id) { return impl_->unwatch(message_id); }
Result<bool> TrackingTables::watched(std::string_view message_id) { return impl_->watched(message_id); }
Result<std::vector<std::string>> TrackingTables::due(Millis now, std::size_t limit) { return impl_->due(now, limit); }
Result<std::optional<Millis>> TrackingTables::next_due() { return impl_->next_due(); }
Result<RecordedViolation> TrackingTables::recorded(std::string_view key) { return impl_->recorded(key); }
Result<void> TrackingTables::record(std::string_view key, RecordedViolation state) { return impl_->record(key, state); }
Result<std::vector<DeliveryTimes>> TrackingTables::deliveries_of(std::string_view message_id) {
  return impl_->deliveries_of(message_id);
}
Result<std::map<std::string, std::uint64_t, std::less<>>> TrackingTables::backlog_counts() {
  return impl_->backlog_counts();
}
Result<std::vector<std::string>> TrackingTables::consent_message_ids() { return impl_->consent_message_ids(); }

}  // namespace broker::store
