#include "bench/legacy_store.h"

#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "broker/audit/hash_chain.h"
#include "broker/store/schema4_sql.h"

namespace bench {
namespace {

contracts::Error sql_error(sqlite3* db, const std::string& what) {
  return contracts::Error{contracts::ErrorCode::kStorage, what + " : " + sqlite3_errmsg(db)};
}

constexpr const char* kRow = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr std::size_t kChunk = 16;

}  // namespace

struct LegacyStore::Impl {
  sqlite3* db = nullptr;
  sqlite3_stmt *begin = nullptr, *commit = nullptr, *insert_message = nullptr, *insert_delivery = nullptr,
               *mark_in_flight = nullptr, *mark_acked = nullptr, *append_one = nullptr, *append_chunk = nullptr;
  std::vector<broker::store::LogEvent> unwritten;
  std::uint64_t head_seq = 0;
  std::string head_hash = broker::audit::kGenesisHash;

  ~Impl() {
    for (auto* s : {begin, commit, insert_message, insert_delivery, mark_in_flight, mark_acked, append_one, append_chunk}) {
      sqlite3_finalize(s);
    }
    sqlite3_close(db);
  }
  contracts::Result<void> prepare(sqlite3_stmt*& stmt, const std::string& sql) {
    if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
      return sql_error(db, "prepare " + sql);
    }
    return {};
  }
  contracts::Result<void> step(sqlite3_stmt* stmt, const char* what) {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (rc != SQLITE_DONE) return sql_error(db, what);
    return {};
  }
  static void text(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.c_str(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  static int bind_row(sqlite3_stmt* s, int i, const broker::store::LogEvent& r) {
    sqlite3_bind_int64(s, ++i, static_cast<sqlite3_int64>(r.seq));
    sqlite3_bind_int64(s, ++i, r.at);
    text(s, ++i, r.event);
    text(s, ++i, r.message_id);
    text(s, ++i, r.contract);
    sqlite3_bind_int64(s, ++i, r.version);
    text(s, ++i, r.case_ref);
    text(s, ++i, r.sender);
    text(s, ++i, r.recipient);
    sqlite3_bind_int64(s, ++i, r.delivery_id);
    text(s, ++i, r.payload_digest);
    text(s, ++i, r.detail);
    text(s, ++i, r.prev_hash);
    text(s, ++i, r.hash);
    return i;
  }
  contracts::Result<void> write_log() {
    std::size_t i = 0;
    for (; unwritten.size() - i >= kChunk; i += kChunk) {
      int at = 0;
      for (std::size_t k = 0; k < kChunk; ++k) at = bind_row(append_chunk, at, unwritten[i + k]);
      if (auto r = step(append_chunk, "append_log"); !r) return r;
    }
    for (; i < unwritten.size(); ++i) {
      bind_row(append_one, 0, unwritten[i]);
      if (auto r = step(append_one, "append_log"); !r) return r;
    }
    unwritten.clear();
    return {};
  }
};

LegacyStore::LegacyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LegacyStore::LegacyStore(LegacyStore&&) noexcept = default;
LegacyStore::~LegacyStore() = default;

contracts::Result<LegacyStore> LegacyStore::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  if (sqlite3_open_v2(path.c_str(), &impl->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return sql_error(impl->db, "open " + path);
  }
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON",
                          broker::store::kSchema4Sql}) {
    if (sqlite3_exec(impl->db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return sql_error(impl->db, sql);
  }
  const std::string insert_log =
      "INSERT INTO handover_log (seq, at, event, message_id, contract, version, case_ref, sender,"
      " recipient, delivery_id, payload_digest, detail, prev_hash, hash) VALUES ";
  std::string chunk = insert_log + kRow;
  for (std::size_t k = 1; k < kChunk; ++k) chunk += std::string(", ") + kRow;
  const std::pair<sqlite3_stmt**, std::string> statements[] = {
      {&impl->begin, "BEGIN IMMEDIATE"},
      {&impl->commit, "COMMIT"},
      {&impl->insert_message,
       "INSERT INTO messages (message_id, contract, version, case_ref, sender, correlation_id,"
       " causation_id, supersedes, occurred_at, recorded_at, accepted_at, requested_recipients,"
       " recipients, payload, payload_digest, log_seq, origin, sealed)"
       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
      {&impl->insert_delivery,
       "INSERT INTO deliveries (message_seq, recipient, state, attempts, last_attempt_at,"
       " acked_at, dead_at) VALUES (?, ?, 0, 0, 0, 0, 0)"},
      {&impl->mark_in_flight, "UPDATE deliveries SET state = 1, attempts = ?, last_attempt_at = ? WHERE id = ?"},
      {&impl->mark_acked, "UPDATE deliveries SET state = 2, acked_at = ? WHERE id = ?"},
      {&impl->append_one, insert_log + kRow},
      {&impl->append_chunk, chunk},
  };
  for (const auto& [stmt, sql] : statements) {
    if (auto r = impl->prepare(*stmt, sql); !r) return r.error();
  }
  return LegacyStore(std::move(impl));
}

contracts::Result<void> LegacyStore::begin() { return impl_->step(impl_->begin, "begin"); }

contracts::Result<void> LegacyStore::commit() {
  if (auto r = impl_->write_log(); !r) return r;
  return impl_->step(impl_->commit, "commit");
}

contracts::Result<void> LegacyStore::write_message(const broker::store::NewMessage& m,
                                                   const broker::store::LogEvent (&rows)[6]) {
  auto* db = impl_->db;
  auto append = [&](broker::store::LogEvent row) {
    row.seq = ++impl_->head_seq;
    broker::audit::seal(row, impl_->head_hash);
    impl_->head_hash = row.hash;
    impl_->unwritten.push_back(std::move(row));
    return impl_->head_seq;
  };
  append(rows[0]);
  const auto log_seq = append(rows[1]);
  const std::string requested = nlohmann::json(m.header.recipients).dump();
  const std::string recipients = nlohmann::json(m.recipients).dump();
  auto* s = impl_->insert_message;
  int i = 0;
  const auto& h = m.header;
  Impl::text(s, ++i, h.message_id);
  Impl::text(s, ++i, h.contract);
  sqlite3_bind_int64(s, ++i, h.version);
  Impl::text(s, ++i, h.case_ref);
  Impl::text(s, ++i, m.sender);
  Impl::text(s, ++i, h.correlation_id);
  Impl::text(s, ++i, h.causation_id);
  Impl::text(s, ++i, h.supersedes);
  sqlite3_bind_int64(s, ++i, h.occurred_at);
  sqlite3_bind_int64(s, ++i, h.recorded_at);
  sqlite3_bind_int64(s, ++i, m.accepted_at);
  Impl::text(s, ++i, requested);
  Impl::text(s, ++i, recipients);
  sqlite3_bind_blob(s, ++i, m.payload.data(), static_cast<int>(m.payload.size()), SQLITE_STATIC);
  Impl::text(s, ++i, m.payload_digest);
  sqlite3_bind_int64(s, ++i, static_cast<sqlite3_int64>(log_seq));
  Impl::text(s, ++i, h.origin);
  sqlite3_bind_int64(s, ++i, 0);
  if (auto r = impl_->step(s, "insert_message"); !r) return r;
  const auto message_seq = sqlite3_last_insert_rowid(db);
  sqlite3_bind_int64(impl_->insert_delivery, 1, message_seq);
  Impl::text(impl_->insert_delivery, 2, m.recipients.front());
  if (auto r = impl_->step(impl_->insert_delivery, "insert_delivery"); !r) return r;
  const auto delivery = sqlite3_last_insert_rowid(db);
  sqlite3_bind_int64(impl_->mark_in_flight, 1, 1);
  sqlite3_bind_int64(impl_->mark_in_flight, 2, m.accepted_at + 1);
  sqlite3_bind_int64(impl_->mark_in_flight, 3, delivery);
  if (auto r = impl_->step(impl_->mark_in_flight, "mark_in_flight"); !r) return r;
  sqlite3_bind_int64(impl_->mark_acked, 1, m.accepted_at + 4);
  sqlite3_bind_int64(impl_->mark_acked, 2, delivery);
  if (auto r = impl_->step(impl_->mark_acked, "mark_acked"); !r) return r;
  for (int step = 2; step < 6; ++step) {
    auto row = rows[step];
    row.delivery_id = delivery;
    append(std::move(row));
  }
  return {};
}

}  // namespace bench
