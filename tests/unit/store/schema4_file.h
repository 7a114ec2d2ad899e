#pragma once
// A schema-4 store file as the broker before schema 5 wrote it: its tables (schema4_sql.h, that
// broker's SQL unchanged) and handover-log rows chained as docs/handover-log-format.md §2 says. What
// the conversion to schema 5 is tested on.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "broker/audit/hash_chain.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/schema4_sql.h"
#include "broker/store/sqlite_store.h"

namespace test_support {


// Writes a schema-4 file at `path` (which must not exist) holding `rows`, chained from genesis
// and given seqs 1, 2, 3, ...; returns the rows as stored (seq and hashes filled in).
inline std::vector<broker::store::LogEvent> write_schema4_store(const std::filesystem::path& path,
                                                               std::vector<broker::store::LogEvent> rows) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) == SQLITE_OK);
  broker::store::DbHandle db(raw);
  REQUIRE(sqlite3_exec(db.get(), "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db.get(), broker::store::kSchema4Sql, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db.get(),
                             "INSERT INTO handover_log (seq, at, event, message_id, contract, version, case_ref, sender,"
                             " recipient, delivery_id, payload_digest, detail, prev_hash, hash)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             -1, &st, nullptr) == SQLITE_OK);
  broker::store::StmtHandle insert(st);
  std::string prev = broker::audit::kGenesisHash;
  std::uint64_t seq = 0;
  for (auto& row : rows) {
    row.seq = ++seq;
    broker::audit::seal(row, prev);
    prev = row.hash;
    int i = 0;
    sqlite3_bind_int64(st, ++i, static_cast<sqlite3_int64>(row.seq));
    sqlite3_bind_int64(st, ++i, row.at);
    for (const std::string* text : {&row.event, &row.message_id, &row.contract}) {
      sqlite3_bind_text(st, ++i, text->c_str(), -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(st, ++i, row.version);
    for (const std::string* text : {&row.case_ref, &row.sender, &row.recipient}) {
      sqlite3_bind_text(st, ++i, text->c_str(), -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(st, ++i, row.delivery_id);
    for (const std::string* text : {&row.payload_digest, &row.detail, &row.prev_hash, &row.hash}) {
      sqlite3_bind_text(st, ++i, text->c_str(), -1, SQLITE_TRANSIENT);
    }
    REQUIRE(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_reset(st);
  }
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return rows;
}

}  // namespace test_support
