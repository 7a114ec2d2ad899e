#pragma once
// A schema-4 store file as the broker before schema 5 wrote it: its tables (the SQL below is that
// broker's, unchanged) and handover-log rows chained as docs/handover-log-format.md §2 says. What
// the conversion to schema 5 is tested on.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "broker/audit/hash_chain.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"

namespace test_support {

inline constexpr const char* kSchema4Sql = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
  seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id           TEXT    NOT NULL UNIQUE,
  contract             TEXT    NOT NULL,
  version              INTEGER NOT NULL,
  case_ref             TEXT    NOT NULL,
  sender               TEXT    NOT NULL,
  correlation_id       TEXT    NOT NULL,
  causation_id         TEXT    NOT NULL,
  supersedes           TEXT    NOT NULL,
  occurred_at          INTEGER NOT NULL,
  recorded_at          INTEGER NOT NULL,
  accepted_at          INTEGER NOT NULL,
  requested_recipients TEXT    NOT NULL,
  recipients           TEXT    NOT NULL,
  payload              BLOB    NOT NULL,
  payload_digest       TEXT    NOT NULL,
  log_seq              INTEGER NOT NULL,
  origin               TEXT    NOT NULL,
  sealed               INTEGER NOT NULL DEFAULT 0 CHECK (sealed IN (0, 1))
);
CREATE TABLE IF NOT EXISTS deliveries (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  message_seq     INTEGER NOT NULL REFERENCES messages(seq),
  recipient       TEXT    NOT NULL,
  state           INTEGER NOT NULL CHECK (state = 0 OR state = 1 OR state = 2 OR state = 3),
  attempts        INTEGER NOT NULL,
  last_attempt_at INTEGER NOT NULL,
  acked_at        INTEGER NOT NULL,
  dead_at         INTEGER NOT NULL,
  UNIQUE (message_seq, recipient)
);
CREATE INDEX IF NOT EXISTS deliveries_open_by_recipient ON deliveries (recipient, state, id)
  WHERE state IN (0, 1);
CREATE INDEX IF NOT EXISTS deliveries_open_by_state ON deliveries (state, recipient)
  WHERE state IN (0, 1);
CREATE TABLE IF NOT EXISTS handover_log (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  at             INTEGER NOT NULL,
  event          TEXT    NOT NULL CHECK (event <> ''),
  message_id     TEXT    NOT NULL,
  contract       TEXT    NOT NULL,
  version        INTEGER NOT NULL,
  case_ref       TEXT    NOT NULL,
  sender         TEXT    NOT NULL,
  recipient      TEXT    NOT NULL,
  delivery_id    INTEGER NOT NULL,
  payload_digest TEXT    NOT NULL,
  detail         TEXT    NOT NULL,
  prev_hash      TEXT    NOT NULL,
  hash           TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS handover_log_by_message ON handover_log (message_id, seq);
CREATE INDEX IF NOT EXISTS handover_log_by_case ON handover_log (case_ref, seq);
CREATE INDEX IF NOT EXISTS handover_log_started ON handover_log (seq) WHERE event = 'started';
CREATE TRIGGER IF NOT EXISTS handover_log_no_update BEFORE UPDATE ON handover_log
BEGIN SELECT RAISE(ABORT, 'handover_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS handover_log_no_delete BEFORE DELETE ON handover_log
BEGIN SELECT RAISE(ABORT, 'handover_log is append-only'); END;
CREATE TABLE IF NOT EXISTS checkpoints (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at         INTEGER NOT NULL,
  log_seq    INTEGER NOT NULL,
  head_hash  TEXT    NOT NULL,
  public_key TEXT    NOT NULL,
  signature  TEXT    NOT NULL
);
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
INSERT INTO meta (key, value) VALUES ('schema_version', '4');
)sql";

// Writes a schema-4 file at `path` (which must not exist) holding `rows`, chained from genesis
// and given seqs 1, 2, 3, ...; returns the rows as stored (seq and hashes filled in).
inline std::vector<broker::store::LogEvent> write_schema4_store(const std::filesystem::path& path,
                                                               std::vector<broker::store::LogEvent> rows) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) == SQLITE_OK);
  broker::store::DbHandle db(raw);
  REQUIRE(sqlite3_exec(db.get(), "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db.get(), kSchema4Sql, nullptr, nullptr, nullptr) == SQLITE_OK);
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
