#pragma once
// The SQL of store schema 4 (the last one with one hash-chained row per handover-log event),
// exactly as that broker created it: for the tests that build a schema-4 file to convert
// (tests/unit/store/schema4_file.h) and for bench/fill_store's schema-4 writer, which measures
// the old layout in the same run as the new one. Nothing in the store executes it.

namespace broker::store {

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

}  // namespace broker::store
