#include "broker/store/retention.h"

#include "broker/audit/signing.h"
#include "broker/store/seal.h"
#include "broker/store/sql_step.h"
#include "broker/store/transaction.h"

namespace broker::store {
namespace {

using contracts::Error;
using contracts::ErrorCode;

Result<StmtHandle> prepared(sqlite3* db, const char* sql) {
  StmtHandle stmt;
  if (auto r = sql_prepare(db, stmt, sql); !r) return r.error();
  return stmt;
}

Error no_case_keys(std::string_view what) {
  return Error{ErrorCode::kStorage, std::string(what) + " : the store has no case keys (open it read-write once)"};
}

// Runs `body` in a transaction of its own (rolled back when it fails).
template <typename Body>
Result<void> in_transaction(SqliteStore& store, Body body) {
  auto transaction = Transaction::begin(store);
  if (!transaction) return transaction.error();
  if (auto r = body(); !r) return r;
  return transaction->commit();
}

// meta.norm_hash_key (tracking.h), when there is one: wrapped under the new key. Left when it opens
// with the new key already (a resumed rotation).
Result<void> rewrap_norm_hash_key(sqlite3* db, std::string_view old_key, std::string_view new_key) {
  constexpr std::string_view what = "rotate payload key (norm hash key)";
  auto read = prepared(db, "SELECT value FROM meta WHERE key = 'norm_hash_key'");
  if (!read) return read.error();
  std::string sealed;
  {
    SqlStep q(db, *read, what);
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return {};
    if (!audit::from_hex(q.text_at(0), sealed)) {
      return Error{ErrorCode::kStorage, std::string(what) + " : meta norm_hash_key is not hex"};
    }
  }
  if (open_payload(new_key, sealed, kNormHashKeyAssociatedData)) return {};
  auto key = open_payload(old_key, sealed, kNormHashKeyAssociatedData);
  if (!key) {
    return Error{ErrorCode::kStorage, std::string(what) + " : opens with neither key: " + key.error().detail};
  }
  auto resealed = seal_payload(new_key, *key, kNormHashKeyAssociatedData);
  wipe(*key);
  if (!resealed) return resealed.error();
  auto update = prepared(db, "UPDATE meta SET value = ? WHERE key = 'norm_hash_key'");
  if (!update) return update.error();
  const std::string hex = audit::to_hex(*resealed);
  SqlStep u(db, *update, what);
  u.text(hex);
  return u.run();
}

}  // namespace

Result<std::vector<LiveCaseKey>> live_case_keys(SqliteStore& store, Millis created_before, std::int64_t from_id) {
  constexpr std::string_view what = "read live case keys";
  if (!store.has_case_keys()) return std::vector<LiveCaseKey>{};
  auto stmt = prepared(store.connection(),
                       "SELECT id, case_ref, message_id, created_at FROM case_keys WHERE shredded_at = 0 "
                       "AND id >= ? AND created_at <= ? ORDER BY id");
  if (!stmt) return stmt.error();
  SqlStep q(store.connection(), *stmt, what);
  q.int64(from_id).int64(created_before);
  return q.collect([](const SqlStep& s) {
    return LiveCaseKey{s.int64_at(0), s.text_at(1), s.text_at(2), s.int64_at(3)};
  });
}

Result<std::vector<KeyMessages>> case_key_messages(SqliteStore& store, const LiveCaseKey& key) {
  constexpr std::string_view what = "read a case key's messages";
  // Through messages_by_case, or the message id's unique index for a message without a case.
  auto stmt =
      prepared(store.connection(),
               key.case_ref.empty()
                   ? "SELECT contract, version, max(accepted_at), count(*) FROM messages "
                     "WHERE message_id = ? AND case_key = ? GROUP BY contract, version ORDER BY contract, version"
                   : "SELECT contract, version, max(accepted_at), count(*) FROM messages "
                     "WHERE case_ref = ? AND case_key = ? GROUP BY contract, version ORDER BY contract, version");
  if (!stmt) return stmt.error();
  SqlStep q(store.connection(), *stmt, what);
  q.text(key.case_ref.empty() ? key.message_id : key.case_ref).int64(key.id);
  return q.collect([](const SqlStep& s) {
    return KeyMessages{s.text_at(0), static_cast<std::uint32_t>(s.int64_at(1)), s.int64_at(2),
                       static_cast<std::uint32_t>(s.int64_at(3))};
  });
}

Result<std::uint64_t> count_shredded(SqliteStore& store) {
  if (!store.has_case_keys()) return std::uint64_t{0};
  auto stmt = prepared(store.connection(), "SELECT count(*) FROM case_keys WHERE shredded_at <> 0");
  if (!stmt) return stmt.error();
  SqlStep q(store.connection(), *stmt, "count shredded case keys");
  auto row = q.next();
  if (!row) return row.error();
  return static_cast<std::uint64_t>(*row ? q.int64_at(0) : 0);
}

Result<bool> hold_case(SqliteStore& store, const CaseHold& hold) {
  constexpr std::string_view what = "hold case";
  if (!store.has_case_keys()) return no_case_keys(what);
  auto stmt = prepared(store.connection(),
                       "INSERT OR IGNORE INTO case_holds (case_ref, since, reason, who) VALUES (?, ?, ?, ?)");
  if (!stmt) return stmt.error();
  SqlStep q(store.connection(), *stmt, what);
  q.text(hold.case_ref).int64(hold.since).text(hold.reason).text(hold.who);
  if (auto r = q.run(); !r) return r.error();
  return sqlite3_changes64(store.connection()) > 0;
}

Result<bool> release_case(SqliteStore& store, std::string_view case_ref) {
  constexpr std::string_view what = "release case";
  if (!store.has_case_keys()) return no_case_keys(what);
  auto stmt = prepared(store.connection(), "DELETE FROM case_holds WHERE case_ref = ?");
  if (!stmt) return stmt.error();
  SqlStep q(store.connection(), *stmt, what);
  q.text(case_ref);
  if (auto r = q.run(); !r) return r.error();
  return sqlite3_changes64(store.connection()) > 0;
}

Result<std::vector<CaseHold>> case_holds(SqliteStore& store) {
  if (!store.has_case_keys()) return std::vector<CaseHold>{};
  auto stmt = prepared(store.connection(), "SELECT case_ref, since, reason, who FROM case_holds ORDER BY case_ref");
  if (!stmt) return stmt.error();
  SqlStep q(store.connection(), *stmt, "read case holds");
  return q.collect([](const SqlStep& s) { return CaseHold{s.text_at(0), s.int64_at(1), s.text_at(2), s.text_at(3)}; });
}

Result<Rotation> rotate_payload_key(SqliteStore& store, std::string_view old_key, std::string_view new_key,
                                    std::size_t batch) {
  constexpr std::string_view what = "rotate payload key";
  if (old_key.size() != kPayloadKeyBytes || new_key.size() != kPayloadKeyBytes) {
    return Error{ErrorCode::kStorage, std::string(what) + " : keys must be 32 bytes"};
  }
  if (!store.has_case_keys()) return no_case_keys(what);
  sqlite3* db = store.connection();
  const std::string old_id = payload_key_id(old_key), new_id = payload_key_id(new_key);
  Rotation out;
  {
    auto stmt = prepared(db, "SELECT count(*) FROM case_keys WHERE shredded_at = 0 AND key_id = ?");
    if (!stmt) return stmt.error();
    SqlStep q(db, *stmt, what);
    q.text(new_id);
    auto row = q.next();
    if (!row) return row.error();
    out.already = static_cast<std::uint64_t>(*row ? q.int64_at(0) : 0);
  }
  auto select = prepared(db,
                         "SELECT id, case_ref, message_id, wrapped_key FROM case_keys "
                         "WHERE shredded_at = 0 AND key_id = ? ORDER BY id LIMIT ?");
  auto update = prepared(db, "UPDATE case_keys SET wrapped_key = ?, key_id = ? WHERE id = ?");
  if (!select) return select.error();
  if (!update) return update.error();
  for (;;) {
    std::size_t done = 0;
    auto r = in_transaction(store, [&]() -> Result<void> {
      struct Row {
        std::int64_t id;
        std::string case_ref, message_id, wrapped;
      };
      std::vector<Row> rows;
      {
        SqlStep q(db, *select, what);
        q.text(old_id).int64(static_cast<std::int64_t>(batch));
        auto read = q.collect([](const SqlStep& s) {
          return Row{s.int64_at(0), s.text_at(1), s.text_at(2), s.blob_at(3)};
        });
        if (!read) return read.error();
        rows = std::move(*read);
      }
      for (auto& row : rows) {
        const std::string ad = case_key_associated_data(row.case_ref, row.message_id);
        auto key = open_payload(old_key, row.wrapped, ad);
        if (!key) {
          return Error{ErrorCode::kStorage, std::string(what) + " : case key " + std::to_string(row.id) +
                                                " does not open with the old key: " + key.error().detail};
        }
        auto wrapped = seal_payload(new_key, *key, ad);
        wipe(*key);
        if (!wrapped) return Error{ErrorCode::kStorage, std::string(what) + " : " + wrapped.error().detail};
        SqlStep u(db, *update, what);
        u.blob(*wrapped).text(new_id).int64(row.id);
        if (auto ran = u.run(); !ran) return ran;
      }
      done = rows.size();
      return {};
    });
    if (!r) return r.error();
    out.rewrapped += done;
    if (done < batch) break;
  }
  // Payloads from before case keys, sealed directly under the old key: sealed again (the only
  // payload bytes a rotation rewrites). Those already under the new key open with it and are left.
  auto legacy = prepared(db,
                         "SELECT seq, message_id, payload_digest, payload FROM messages "
                         "WHERE sealed = 1 AND case_key = 0 ORDER BY seq");
  auto reseal = prepared(db, "UPDATE messages SET payload = ? WHERE seq = ?");
  if (!legacy) return legacy.error();
  if (!reseal) return reseal.error();
  auto r = in_transaction(store, [&]() -> Result<void> {
    struct Row {
      std::int64_t seq;
      std::string message_id, digest, sealed;
    };
    std::vector<Row> rows;
    {
      SqlStep q(db, *legacy, what);
      auto read = q.collect([](const SqlStep& s) {
        return Row{s.int64_at(0), s.text_at(1), s.text_at(2), s.blob_at(3)};
      });
      if (!read) return read.error();
      rows = std::move(*read);
    }
    for (auto& row : rows) {
      const std::string ad = payload_associated_data(row.message_id, row.digest);
      if (open_payload(new_key, row.sealed, ad)) continue;
      auto plain = open_payload(old_key, row.sealed, ad);
      if (!plain) {
        return Error{ErrorCode::kStorage, std::string(what) + " : message " + row.message_id +
                                              " opens with neither key: " + plain.error().detail};
      }
      auto sealed = seal_payload(new_key, *plain, ad);
      wipe(*plain);
      if (!sealed) return Error{ErrorCode::kStorage, std::string(what) + " : " + sealed.error().detail};
      SqlStep u(db, *reseal, what);
      u.blob(*sealed).int64(row.seq);
      if (auto ran = u.run(); !ran) return ran;
      ++out.resealed_legacy;
    }
    auto check = make_key_check(new_key);
    if (!check) return check.error();
    auto meta = prepared(db,
                         "INSERT INTO meta (key, value) VALUES ('payload_key_check', ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    if (!meta) return meta.error();
    SqlStep m(db, *meta, what);
    m.text(*check);
    if (auto ran = m.run(); !ran) return ran;
    return rewrap_norm_hash_key(db, old_key, new_key);
  });
  if (!r) return r.error();
  return out;
}

}  // namespace broker::store
