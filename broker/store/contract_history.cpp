#include "broker/store/contract_history.h"

#include <sqlite3.h>

#include <algorithm>

#include "broker/store/sqlite_handle.h"

namespace broker::store {
namespace {

using contracts::Error;
using contracts::ErrorCode;

// Every column NOT NULL, as in the main schema. The primary key is the digest under the name and
// version: a name and version with a second digest is refused by the broker at start, except for
// the built-ins, whose text follows the configured partners (docs/contracts.md, "Contract history").
constexpr const char* kHistorySql = R"sql(
CREATE TABLE IF NOT EXISTS contract_texts (
  contract        TEXT    NOT NULL,
  version         INTEGER NOT NULL,
  digest          TEXT    NOT NULL,
  text            TEXT    NOT NULL,
  file            TEXT    NOT NULL,
  builtin         INTEGER NOT NULL CHECK (builtin IN (0, 1)),
  first_loaded_at INTEGER NOT NULL,
  PRIMARY KEY (contract, version, digest)
) WITHOUT ROWID;
)sql";

constexpr const char* kSelectAll =
    "SELECT contract, version, digest, text, file, builtin, first_loaded_at FROM contract_texts "
    "ORDER BY contract, version, first_loaded_at, digest";

Error storage_error(std::string_view what, sqlite3* db) {
  return Error{ErrorCode::kStorage, std::string(what) + " : " + sqlite3_errmsg(db)};
}

std::string text_at(sqlite3_stmt* s, int c) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, c))) : std::string();
}

Result<StmtHandle> prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return storage_error(std::string("prepare ") + sql, db);
  return StmtHandle(raw);
}

Result<bool> has_table(sqlite3* db) {
  auto q = prepare(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'contract_texts'");
  if (!q) return q.error();
  const int rc = sqlite3_step(q->get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return storage_error("read contract history", db);
}

Result<std::vector<ContractText>> read_all(sqlite3* db) {
  std::vector<ContractText> out;
  auto table = has_table(db);
  if (!table) return table.error();
  if (!*table) return out;
  auto q = prepare(db, kSelectAll);
  if (!q) return q.error();
  for (;;) {
    const int rc = sqlite3_step(q->get());
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return storage_error("read contract history", db);
    sqlite3_stmt* s = q->get();
    out.push_back({text_at(s, 0), static_cast<std::uint32_t>(sqlite3_column_int64(s, 1)), text_at(s, 2), text_at(s, 3),
                   text_at(s, 4), sqlite3_column_int64(s, 5) != 0, sqlite3_column_int64(s, 6)});
  }
}

// The SQLite backend: the table in the store's file, through its connection.
struct SqliteHistory final : ContractHistory::Impl {
  sqlite3* db = nullptr;  // owned by the SqliteStore

  Result<bool> record(const ContractText& t) override {
    auto q = prepare(db,
                     "INSERT OR IGNORE INTO contract_texts (contract, version, digest, text, file, builtin, first_loaded_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!q) return q.error();
    sqlite3_stmt* s = q->get();
    sqlite3_bind_text64(s, 1, t.contract.data(), t.contract.size(), SQLITE_STATIC, SQLITE_UTF8);
    sqlite3_bind_int64(s, 2, t.version);
    sqlite3_bind_text64(s, 3, t.digest.data(), t.digest.size(), SQLITE_STATIC, SQLITE_UTF8);
    sqlite3_bind_text64(s, 4, t.text.data(), t.text.size(), SQLITE_STATIC, SQLITE_UTF8);
    sqlite3_bind_text64(s, 5, t.file.data(), t.file.size(), SQLITE_STATIC, SQLITE_UTF8);
    sqlite3_bind_int64(s, 6, t.builtin ? 1 : 0);
    sqlite3_bind_int64(s, 7, t.first_loaded_at);
    if (sqlite3_step(s) != SQLITE_DONE) return storage_error("record contract text", db);
    return sqlite3_changes(db) > 0;
  }

  Result<std::vector<ContractText>> all() override { return read_all(db); }

  Result<std::vector<CaseMessage>> case_messages(std::string_view case_ref, Millis until) override {
    auto q = prepare(db,
                     "SELECT message_id, contract, version, accepted_at FROM messages WHERE case_ref = ? AND accepted_at <= ? "
                     "ORDER BY seq");
    if (!q) return q.error();
    sqlite3_stmt* s = q->get();
    sqlite3_bind_text64(s, 1, case_ref.data() ? case_ref.data() : "", case_ref.size(), SQLITE_STATIC, SQLITE_UTF8);
    sqlite3_bind_int64(s, 2, until);
    std::vector<CaseMessage> out;
    for (;;) {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) return out;
      if (rc != SQLITE_ROW) return storage_error("read messages of case", db);
      out.push_back({text_at(s, 0), text_at(s, 1), static_cast<std::uint32_t>(sqlite3_column_int64(s, 2)),
                     sqlite3_column_int64(s, 3)});
    }
  }
};

}  // namespace

Result<ContractHistory> ContractHistory::open(SqliteStore& store, bool read_only) {
  auto impl = std::make_unique<SqliteHistory>();
  impl->db = store.connection();
  if (!read_only && sqlite3_exec(impl->db, kHistorySql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return storage_error("create contract history", impl->db);
  }
  return ContractHistory(std::move(impl));
}

ContractHistory::ContractHistory(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ContractHistory::ContractHistory(ContractHistory&&) noexcept = default;
ContractHistory& ContractHistory::operator=(ContractHistory&&) noexcept = default;
ContractHistory::~ContractHistory() = default;

Result<bool> ContractHistory::record(const ContractText& t) { return impl_->record(t); }

Result<std::vector<ContractText>> ContractHistory::all() { return impl_->all(); }

Result<std::vector<CaseMessage>> ContractHistory::case_messages(std::string_view case_ref, Millis until) {
  return impl_->case_messages(case_ref, until);
}

Result<std::vector<ContractText>> read_contract_history(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::vector<ContractText>{};
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) {
    return Error{ErrorCode::kStorage, "store " + path.string() + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc))};
  }
  sqlite3_busy_timeout(raw, 5'000);
  auto texts = read_all(raw);
  if (!texts) return Error{ErrorCode::kStorage, "store " + path.string() + ": " + texts.error().detail};
  return texts;
}

const ContractText* text_in_force(const std::vector<ContractText>& texts, std::string_view contract,
                                  std::uint32_t version, Millis at) {
  const ContractText* earliest = nullptr;
  const ContractText* in_force = nullptr;
  for (const auto& t : texts) {
    if (t.contract != contract || t.version != version) continue;
    if (!earliest || t.first_loaded_at < earliest->first_loaded_at) earliest = &t;
    if (t.first_loaded_at <= at && (!in_force || t.first_loaded_at >= in_force->first_loaded_at)) in_force = &t;
  }
  return in_force ? in_force : earliest;
}

const ContractText* newest_in_force(const std::vector<ContractText>& texts, std::string_view contract, Millis at) {
  std::uint32_t newest = 0;
  for (const auto& t : texts) {
    if (t.contract == contract && t.first_loaded_at <= at) newest = std::max(newest, t.version);
  }
  if (newest == 0) return nullptr;
  return text_in_force(texts, contract, newest, at);
}

}  // namespace broker::store
