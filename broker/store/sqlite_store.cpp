#include "broker/store/sqlite_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <system_error>
#include <tuple>
#include <utility>

#include "broker/audit/hash_chain.h"
#include "broker/store/log.h"
#include "broker/store/log_row.h"
#include "broker/store/seal.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/store_check.h"
#include "broker/store/store_lock.h"

namespace broker::store {

std::string_view to_string(DeliveryState state) {
  switch (state) {
    case DeliveryState::kPending:
      return "pending";
    case DeliveryState::kInFlight:
      return "in_flight";
    case DeliveryState::kAcked:
      return "acked";
    case DeliveryState::kDead:
      return "dead";
  }
  return "unknown";
}

namespace {

using contracts::Error;
using contracts::ErrorCode;

// 2: messages.sealed (sealed payloads). 3: partial delivery indexes, an index of `started` rows.
// 4: the CHECK on deliveries.state as equalities; until 3 it read `state IN (0, 1, 2, 3)`, and
// SQLite codes an IN list of more than two constants as a temporary B-tree built for every row
// written (docs/performance.md). Older files are upgraded when opened read-write.
constexpr int kSchemaVersion = 4;

// The whole layout; docs/store-format.md describes every table, column, index and trigger here and
// must change with it. Every column is NOT NULL: "absent" is '' or 0, so a row has exactly one
// representation, which the handover log's hash chain needs (docs/handover-log-format.md). AUTOINCREMENT keeps
// ids from ever being reused, even after the highest row is deleted: delivery ids are on the wire
// and log seqs are cited by inspectors.
constexpr const char* kSchemaSql = R"sql(
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
CREATE INDEX IF NOT EXISTS deliveries_dead_by_recipient ON deliveries (recipient, dead_at) WHERE state = 3;
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
)sql";

// One log row; append_log_chunk repeats its VALUES group.
constexpr const char* kAppendLogSql =
    "INSERT INTO handover_log (seq, at, event, message_id, contract, version, case_ref, sender,"
    " recipient, delivery_id, payload_digest, detail, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

// Shared by next_pending, find_outbound and find_delivery_header; read_outbound() follows its column
// order. Without the payload, an empty unsealed one is read in its place (nothing to decrypt).
std::string outbound_select(bool with_payload) {
  return std::string(
             "SELECT d.id, d.recipient, d.attempts, m.message_id, m.contract, m.version, m.case_ref,"
             " m.recipients, m.correlation_id, m.causation_id, m.supersedes, m.occurred_at, m.recorded_at,"
             " m.sender, ") +
         (with_payload ? "m.payload" : "x''") + ", m.payload_digest, m.accepted_at, m.origin, " +
         (with_payload ? "m.sealed" : "0") + " FROM deliveries AS d JOIN messages AS m ON m.seq = d.message_seq ";
}

Error storage_error(std::string_view what, std::string_view detail) {
  std::string text;
  text.reserve(what.size() + 3 + detail.size());
  text.append(what).append(" : ").append(detail);
  return Error{ErrorCode::kStorage, std::move(text)};
}

Error sqlite_error(std::string_view what, sqlite3* db) {
  return storage_error(what, sqlite3_errmsg(db));  // sqlite3_errmsg(nullptr) is "out of memory"
}

// SQLite integers are signed 64-bit; ids, seqs and limits above that cannot exist in the file.
std::int64_t clamp_to_int64(std::uint64_t value) {
  return static_cast<std::int64_t>(
      std::min<std::uint64_t>(value, std::numeric_limits<std::int64_t>::max()));
}

// One use of a cached prepared statement: binds parameters left to right, steps, reads columns,
// and resets the statement when it goes out of scope, so no read stays open between calls (an
// open read would pin the WAL and block checkpoints). Bound text and blobs are not copied
// (SQLITE_STATIC): they must outlive the Query, which they do as locals of the calling function.
class Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* stmt, std::string_view what)
      : db_(db), stmt_(stmt), what_(what) {}
  ~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& int64(std::int64_t value) {
    check_bind(sqlite3_bind_int64(stmt_, ++index_, value));
    return *this;
  }
  Query& text(std::string_view value) {
    // A null pointer would bind SQL NULL; every column is NOT NULL, so bind "" instead.
    check_bind(sqlite3_bind_text64(stmt_, ++index_, non_null(value), value.size(), SQLITE_STATIC,
                                   SQLITE_UTF8));
    return *this;
  }
  Query& blob(std::string_view value) {
    check_bind(sqlite3_bind_blob64(stmt_, ++index_, non_null(value), value.size(), SQLITE_STATIC));
    return *this;
  }

  // true: a row is ready to read; false: no more rows.
  [[nodiscard]] Result<bool> next() {
    // Later successful binds clear the connection's message, so describe the code itself.
    if (bind_rc_ != SQLITE_OK) return storage_error(what_, sqlite3_errstr(bind_rc_));
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_error(what_, db_);
  }
  // For statements that return no rows.
  [[nodiscard]] Result<void> run() {
    auto row = next();
    if (!row) return row.error();
    return {};
  }

  std::int64_t int64_at(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string text_at(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    const int size = sqlite3_column_bytes(stmt_, column);
    return data == nullptr ? std::string() : std::string(data, static_cast<std::size_t>(size));
  }
  std::string blob_at(int column) const {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
    const int size = sqlite3_column_bytes(stmt_, column);
    return data == nullptr ? std::string() : std::string(data, static_cast<std::size_t>(size));
  }

 private:
  static const char* non_null(std::string_view value) {
    return value.data() == nullptr ? "" : value.data();
  }
  void check_bind(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string_view what_;
  int index_ = 0;
  int bind_rc_ = SQLITE_OK;
};

Result<std::string> encode_strings(const std::vector<std::string>& items, std::string_view what) {
  try {
    return nlohmann::json(items).dump();  // strict: invalid UTF-8 throws rather than being altered
  } catch (const nlohmann::json::exception& e) {
    return storage_error(what, e.what());
  }
}

Result<std::vector<std::string>> decode_strings(std::string_view text, std::string_view what) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_array()) return storage_error(what, "not a JSON array");
  std::vector<std::string> items;
  items.reserve(json.size());
  for (auto& item : json) {
    if (!item.is_string()) return storage_error(what, "JSON array holds a non-string");
    items.push_back(std::move(item.get_ref<std::string&>()));
  }
  return items;
}

Result<DeliveryState> to_state(std::int64_t value, std::string_view what) {
  if (value < 0 || value > static_cast<std::int64_t>(DeliveryState::kDead)) {
    return storage_error(what, "unknown delivery state " + std::to_string(value));
  }
  return static_cast<DeliveryState>(value);
}

// The stored payload bytes as the reader gets them: opened with `key` when the row is sealed.
Result<std::string> stored_payload(std::string bytes, bool sealed, std::string_view key,
                                   std::string_view message_id, std::string_view digest,
                                   std::string_view what) {
  if (!sealed) return bytes;
  const std::string where = std::string(what) + " (message " + std::string(message_id) + ")";
  if (key.empty()) {
    return storage_error(where, "the payload is sealed and no payload key is configured (payload_key)");
  }
  auto plain = open_payload(key, bytes, payload_associated_data(message_id, digest));
  if (!plain) return storage_error(where, plain.error().detail);
  return plain;
}

// Reads a row of kOutboundSelect.
Result<OutboundDelivery> read_outbound(const Query& q, std::string_view what, std::string_view key) {
  OutboundDelivery out;
  out.delivery_id = q.int64_at(0);
  out.recipient = q.text_at(1);
  out.attempts = static_cast<std::uint32_t>(q.int64_at(2));
  out.header.message_id = q.text_at(3);
  out.header.contract = q.text_at(4);
  out.header.version = static_cast<std::uint32_t>(q.int64_at(5));
  out.header.case_ref = q.text_at(6);
  auto recipients = decode_strings(q.text_at(7), what);
  if (!recipients) return recipients.error();
  out.header.recipients = std::move(*recipients);
  out.header.correlation_id = q.text_at(8);
  out.header.causation_id = q.text_at(9);
  out.header.supersedes = q.text_at(10);
  out.header.occurred_at = q.int64_at(11);
  out.header.recorded_at = q.int64_at(12);
  out.sender = q.text_at(13);
  out.payload = q.blob_at(14);
  out.payload_digest = q.text_at(15);
  out.accepted_at = q.int64_at(16);
  out.header.origin = q.text_at(17);
  auto payload = stored_payload(std::move(out.payload), q.int64_at(18) != 0, key, out.header.message_id,
                                out.payload_digest, what);
  if (payload) {
    out.payload = std::move(*payload);
  } else {
    out.payload.clear();
    out.unreadable = payload.error().detail;
  }
  return out;
}

// Before SQLite touches a read-write path. A missing store file is created here, empty and 0600:
// SQLite gives the -wal and -shm it makes the mode of the database file, so none of the three is
// ever readable by others, whatever the umask. A file that is there is checked not to be an
// empty one, which SQLite would silently turn into a new store. Returns true when this call (or
// a process racing it) created the file, so that a new schema may be written into it.
Result<bool> prepare_file(const std::filesystem::path& file) {
  const std::string path = file.string();
  const std::string what = "open " + path;
  std::filesystem::path wal = file;
  wal += "-wal";
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  const bool wal_has_frames = std::filesystem::file_size(wal, ec) > 0 && !ec;
  if (!std::filesystem::exists(status)) {
    if (wal_has_frames) {
      return storage_error(what, "the store file is missing but its write-ahead log " + wal.string() +
                                     " is there: the store was removed or moved without it; restore the store "
                                     "from a backup, or remove " + wal.string() + " to start a new store");
    }
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST) return true;  // another process is creating it this instant
      return storage_error(what + " (create)", std::strerror(errno));
    }
    const bool mode_ok = ::fchmod(fd, 0600) == 0;  // 0600 whatever the umask took away
    ::close(fd);
    if (!mode_ok) return storage_error(what + " (chmod 0600)", std::strerror(errno));
    return true;
  }
  if (!std::filesystem::is_regular_file(status)) return storage_error(what, "not a regular file");
  // A new store's first pages may still all be in its WAL (not yet checkpointed): not empty then.
  if (std::filesystem::file_size(file, ec) == 0 && !ec && !wal_has_frames) {
    return storage_error(what, "the store file is empty (0 bytes), not a Keten store; a store is only created "
                               "where no file is. Restore it from a backup (docs/operations.md, \"Recovering a "
                               "damaged store\"), or remove it to start a new, empty store");
  }
  if ((static_cast<unsigned>(status.permissions()) & 0077) != 0) {
    log().warn("store file readable by others path={} mode={:o}; chmod 600 it (and its -wal, -shm)", path,
               static_cast<unsigned>(status.permissions()) & 0777);
  }
  return false;
}

// A read-only open of a WAL store needs the -shm (and -wal) beside it, or the right to create
// them. On write-protected media (a copy on a read-only disk, a folder and file without write
// permission) with neither there, SQLite refuses with SQLITE_READONLY or SQLITE_CANTOPEN. Such a
// store can still be read with the URI parameter immutable=1, which tells SQLite that nobody
// changes the file: it then takes no locks and never looks for a -wal or -shm. That is only
// true if no -wal with frames is there: those frames hold committed rows the main file lacks,
// which an immutable read would silently leave out, so that case is refused instead.
bool wal_index_unavailable(sqlite3* db) {
  const int code = sqlite3_errcode(db) & 0xff;
  return code == SQLITE_READONLY || code == SQLITE_CANTOPEN;
}

Result<DbHandle> open_immutable(const std::filesystem::path& file) {
  const std::string path = file.string();
  std::filesystem::path wal = file;
  wal += "-wal";
  std::error_code ec;
  if (std::filesystem::file_size(wal, ec) > 0 && !ec) {
    return storage_error("open " + path,
                         "the store is on write-protected media and its write-ahead log " + wal.string() +
                             " holds rows not yet in the main file, which SQLite can read only with write "
                             "access to the folder; copy the store with its -wal to a writable folder");
  }
  std::string uri = "file:";
  for (const char c : path) {  // the characters a URI path may not hold as they are
    if (c == '%' || c == '?' || c == '#') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      uri += kHex[static_cast<unsigned char>(c) & 0xf];
    } else {
      uri += c;
    }
  }
  uri += "?immutable=1";
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) return sqlite_error("open " + path + " (immutable)", db.get());
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

}  // namespace

struct SqliteStore::Impl {
  DbHandle db;  // declared before the statements, so it is destroyed after them
  std::string path;

  StmtHandle begin, commit, rollback;
  StmtHandle find_message, insert_message;
  StmtHandle insert_delivery, insert_delivery_sent, next_pending, find_outbound, find_delivery_header, find_delivery;
  StmtHandle mark_in_flight, mark_acked, mark_pending, mark_dead;
  StmtHandle reset_in_flight_one, reset_in_flight_all;
  StmtHandle count_one, count_all, recipients_with_pending;
  StmtHandle backlog, oldest_undelivered;
  StmtHandle append_log, read_log, read_case_log, last_started, read_head, read_high_water;
  StmtHandle log_times_before, accepted_event;
  StmtHandle find_message_content, append_checkpoint, read_checkpoints;
  bool read_only = false;
  bool immutable = false;      // read-only on write-protected media: SQLite's immutable=1, no locks
  bool allow_create = true;    // false for a file that was there before open(): never a new schema in it
  std::optional<StoreLock> lock;  // held by the owner (StoreOptions::owner) for the store's life
  std::string payload_key;     // 32 raw bytes, or "" (seal.h)
  audit::LogRecord head;       // seq and hash of the last row (seq 0, genesis hash when empty)
  std::uint64_t high_water = 0;  // highest seq ever assigned (sqlite_sequence)
  bool keep_committed = false;
  // Appended in the open transaction (sealed, seq assigned) but not yet inserted: they go in with
  // multi-row INSERTs at commit, or before anything reads the log (write_log). One statement per
  // kLogChunk rows saves the per-statement work, AUTOINCREMENT's sqlite_sequence update included.
  static constexpr std::size_t kLogChunk = 16;
  std::vector<audit::LogRecord> unwritten;
  StmtHandle append_log_chunk;
  std::vector<audit::LogRecord> uncommitted;  // appended in the open transaction (keep_committed)
  std::vector<audit::LogRecord> committed;    // committed, not yet taken

  ~Impl() {
    if (db && !sqlite3_get_autocommit(db.get())) {
      log().warn("store closed with an open transaction path={}; its writes are discarded", path);
    }
  }

  Query query(const StmtHandle& stmt, std::string_view what) {
    return Query(db.get(), stmt.get(), what);
  }

  Result<void> exec(const char* sql, std::string_view what) {
    if (sqlite3_exec(db.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return sqlite_error(what, db.get());
    }
    return {};
  }

  // First column of the first row as text; nullopt when there is no row.
  Result<std::optional<std::string>> query_text(const char* sql, std::string_view what) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db.get(), sql, -1, &raw, nullptr) != SQLITE_OK) {
      return sqlite_error(what, db.get());
    }
    StmtHandle stmt(raw);
    Query q(db.get(), stmt.get(), what);
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(q.text_at(0));
  }

  Result<void> configure(const StoreOptions& options, bool in_memory) {
    const std::string what = "open " + path;
    // The first statement that reads the file: a file that is not a database fails here.
    auto mode = query_text(read_only ? "PRAGMA journal_mode" : "PRAGMA journal_mode=WAL",
                           what + " (journal_mode=WAL)");
    if (!mode) return mode.error();
    // An immutable connection (write-protected media, open_immutable) reads no WAL and says "delete".
    const std::string expected = in_memory ? "memory" : immutable ? "delete" : "wal";
    if (!*mode || **mode != expected) {
      return storage_error(what, "journal_mode is " + mode->value_or("?") + ", not " + expected);
    }
    if (read_only) return {};
    const char* sync = options.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    if (auto r = exec(sync, what + " (synchronous)"); !r) return r;
    if (auto r = exec("PRAGMA foreign_keys=ON", what + " (foreign_keys)"); !r) return r;
    auto fk = query_text("PRAGMA foreign_keys", what + " (foreign_keys)");
    if (!fk) return fk.error();
    if (!*fk || **fk != "1") return storage_error(what, "foreign keys cannot be enabled");
    return {};
  }

  // Creates the schema in a new file, or checks the version of an existing one. One IMMEDIATE
  // transaction, so two processes opening a new file at once do not both create it.
  Result<void> ensure_schema() {
    const std::string what = "open " + path;
    if (read_only) return check_read_only_schema(what);
    if (auto r = exec("BEGIN IMMEDIATE", what + " (begin)"); !r) return r;
    auto result = check_or_create_schema(what);
    if (!result) {
      sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      return result;
    }
    return exec("COMMIT", what + " (commit schema)");
  }

  Result<void> check_or_create_schema(const std::string& what) {
    auto has_meta = query_text(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'", what);
    if (!has_meta) return has_meta.error();
    if (has_meta->value_or("0") == "0") {
      auto tables = query_text(
          "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
          "ESCAPE '\\'",
          what);
      if (!tables) return tables.error();
      if (tables->value_or("0") != "0") {
        return storage_error(what, "the database has tables but no meta table: not a Keten store");
      }
      if (!allow_create) {
        return storage_error(what, "an SQLite database without Keten's tables, not a Keten store; a store is "
                                   "only created where no file is");
      }
      if (auto r = exec(kSchemaSql, what + " (create schema)"); !r) return r;
      const std::string insert = "INSERT INTO meta (key, value) VALUES ('schema_version', '" +
                                 std::to_string(kSchemaVersion) + "')";
      if (auto r = exec(insert.c_str(), what + " (create schema)"); !r) return r;
      log().info("store created path={} schema_version={}", path, kSchemaVersion);
      return {};
    }
    auto stored = query_text("SELECT value FROM meta WHERE key = 'schema_version'", what);
    if (!stored) return stored.error();
    if (!*stored) return storage_error(what, "meta has no schema_version");
    const std::string& text = **stored;
    long long version = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
    if (ec != std::errc() || end != text.data() + text.size() || version < 1) {
      return storage_error(what, "unrecognised schema version '" + text + "'");
    }
    if (version > kSchemaVersion) {
      return storage_error(what, "schema version " + text +
                                     " is newer than this broker supports (" +
                                     std::to_string(kSchemaVersion) + "); use a newer keten");
    }
    // One step per version, in order, inside the schema transaction.
    // A step whose `sql` edits sqlite_master (writable_schema) also needs the schema cookie bumped
    // before `then`, so that every connection, this one included, parses the tables again.
    struct Upgrade {
      long long from;
      const char* sql;
      const char* then = nullptr;
    };
    static constexpr Upgrade kUpgrades[] = {
        // 1 -> 2: every stored payload is plaintext, which sealed = 0 says.
        {1, "ALTER TABLE messages ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0 CHECK (sealed IN (0, 1));"
            "UPDATE meta SET value = '2' WHERE key = 'schema_version'"},
        // 2 -> 3: the delivery indexes become partial (undelivered rows only) and the log gets an
        // index of its `started` rows. Only indexes change; kSchemaSql below creates the new ones.
        {2, "DROP INDEX IF EXISTS deliveries_by_recipient; DROP INDEX IF EXISTS deliveries_by_state;"
            "UPDATE meta SET value = '3' WHERE key = 'schema_version'"},
        // 3 -> 4: the same rule on deliveries.state, written as equalities. An equivalent CHECK
        // changes no row, so the table's text is edited in place: SQLite's documented procedure
        // for changing a constraint (sqlite.org/lang_altertable.html, "other kinds of changes").
        {3, "PRAGMA writable_schema = ON;"
            "UPDATE sqlite_master SET sql = replace(sql, 'CHECK (state IN (0, 1, 2, 3))',"
            " 'CHECK (state = 0 OR state = 1 OR state = 2 OR state = 3)')"
            " WHERE type = 'table' AND name = 'deliveries'",
         "PRAGMA writable_schema = OFF; UPDATE meta SET value = '4' WHERE key = 'schema_version'"},
    };
    for (const auto& step : kUpgrades) {
      if (step.from < version) continue;
      const std::string from = std::to_string(step.from), to = std::to_string(step.from + 1);
      const std::string where = what + " (upgrade schema " + from + " to " + to + ")";
      if (auto r = exec(step.sql, where); !r) return r;
      if (step.then) {
        auto cookie = query_text("PRAGMA schema_version", where);
        if (!cookie) return cookie.error();
        const std::string cookie_text = cookie->value_or("");
        long long value = 0;
        if (std::from_chars(cookie_text.data(), cookie_text.data() + cookie_text.size(), value).ec != std::errc()) {
          return storage_error(where, "unreadable schema cookie '" + cookie_text + "'");
        }
        const std::string bump = "PRAGMA schema_version = " + std::to_string(value + 1);
        if (auto r = exec(bump.c_str(), where); !r) return r;
        if (auto r = exec(step.then, where); !r) return r;
      }
      log().info("store upgraded path={} schema_version={}->{}", path, from, to);
    }
    // Same version: recreates any index or trigger that went missing; a no-op otherwise.
    return exec(kSchemaSql, what + " (check schema)");
  }

  // A read-only connection cannot create anything: it only checks the version.
  Result<void> check_read_only_schema(const std::string& what) {
    auto stored = query_text(
        "SELECT value FROM meta WHERE key = 'schema_version' AND "
        "EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'checkpoints')",
        what);
    if (!stored) return storage_error(what, "not a Keten store of this version: " + stored.error().detail);
    if (*stored && **stored == "1") {
      return storage_error(what, "schema version 1, and this keten reads versions 2 to " +
                                     std::to_string(kSchemaVersion) +
                                     " read-only; start the broker (keten serve) on it once to upgrade it");
    }
    // Versions 2 and 3 differ from 4 only in indexes and a CHECK, which no read here depends on.
    if (!*stored || (**stored != std::to_string(kSchemaVersion) && **stored != "2" && **stored != "3")) {
      return storage_error(what, "not a Keten store of schema version 2 to " + std::to_string(kSchemaVersion));
    }
    return {};
  }

  // With a payload key: a wrong key is found when the store opens, not at the first delivery.
  // The first open with a key seals a fixed text into meta (payload_key_check); later opens only
  // open that. A store without it (from before) is checked once against its newest sealed
  // payload, which may read far back through the messages, and then gets it.
  Result<void> check_payload_key() {
    if (payload_key.empty()) return {};
    const std::string what = "open " + path + " (check payload key)";
    auto stored = query_text("SELECT value FROM meta WHERE key = 'payload_key_check'", what);
    if (!stored) return stored.error();
    if (*stored) {
      if (!key_check_opens(payload_key, **stored)) {
        return storage_error("open " + path,
                             "payload_key does not open the store's key check (meta payload_key_check): "
                             "not the key this store's payloads are sealed with");
      }
      return {};
    }
    auto q = newest_sealed_row();
    if (!q) return q.error();
    if (*q) {
      const auto& [message_id, sealed, digest] = **q;
      auto plain = open_payload(payload_key, sealed, payload_associated_data(message_id, digest));
      if (!plain) {
        return storage_error("open " + path, "payload_key does not open the newest sealed payload (message " +
                                                 message_id + "): wrong key, or that row was altered");
      }
    }
    if (read_only) return {};
    auto check = make_key_check(payload_key);
    if (!check) return check.error();
    const std::string insert = "INSERT INTO meta (key, value) VALUES ('payload_key_check', '" + *check + "')";
    return exec(insert.c_str(), what);
  }

  // message_id, payload and payload_digest of the newest sealed message, or nullopt.
  Result<std::optional<std::tuple<std::string, std::string, std::string>>> newest_sealed_row() {
    const std::string what = "open " + path + " (check payload key)";
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db.get(),
                           "SELECT message_id, payload, payload_digest FROM messages WHERE sealed = 1 "
                           "ORDER BY seq DESC LIMIT 1",
                           -1, &raw, nullptr) != SQLITE_OK) {
      return sqlite_error(what, db.get());
    }
    StmtHandle stmt(raw);
    Query q(db.get(), stmt.get(), what);
    auto row = q.next();
    if (!row) return row.error();
    using Row = std::tuple<std::string, std::string, std::string>;
    if (!*row) return std::optional<Row>();
    return std::optional<Row>(Row{q.text_at(0), q.blob_at(1), q.text_at(2)});
  }

  // Reloads the head and the high-water mark from the file (another process may have appended).
  Result<void> load_head() {
    {
      auto q = query(read_head, "read log head");
      auto row = q.next();
      if (!row) return row.error();
      head = audit::LogRecord{};
      head.hash = audit::kGenesisHash;
      if (*row) {
        head.seq = static_cast<std::uint64_t>(q.int64_at(0));
        head.hash = q.text_at(1);
      }
    }
    auto q = query(read_high_water, "read log high water");
    auto row = q.next();
    if (!row) return row.error();
    high_water = *row ? static_cast<std::uint64_t>(q.int64_at(0)) : 0;
    return {};
  }

  Result<void> prepare(StmtHandle& stmt, const char* sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) !=
        SQLITE_OK) {
      return sqlite_error(std::string("open ") + path + " (prepare '" + sql + "')", db.get());
    }
    stmt.reset(raw);
    return {};
  }

  Result<std::optional<OutboundDelivery>> find_one_outbound(const StmtHandle& stmt, std::int64_t delivery_id,
                                                           std::string_view what) {
    auto q = query(stmt, what);
    q.int64(delivery_id);
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return std::optional<OutboundDelivery>();
    auto delivery = read_outbound(q, what, payload_key);
    if (!delivery) return delivery.error();
    return std::optional<OutboundDelivery>(std::move(*delivery));
  }

  Result<void> prepare_all() {
    // The delivery indexes hold only undelivered rows (WHERE state IN (0, 1)), so they stay the
    // size of the backlog however long the history grows. SQLite uses a partial index only when
    // the query repeats its WHERE term literally ("state = 0" alone does not imply it), hence the
    // redundant "state IN (0, 1)" in the statements below.
    const std::string next_pending_sql =
        outbound_select(true) +
        "WHERE d.recipient = ? AND d.state = 0 AND d.state IN (0, 1) AND d.id < ? ORDER BY d.id LIMIT ?";
    const std::string find_outbound_sql = outbound_select(true) + "WHERE d.id = ?";
    const std::string find_delivery_header_sql = outbound_select(false) + "WHERE d.id = ?";
    const std::pair<StmtHandle*, const char*> statements[] = {
        {&begin, "BEGIN IMMEDIATE"},
        {&commit, "COMMIT"},
        {&rollback, "ROLLBACK"},
        {&find_message,
         "SELECT seq, message_id, sender, payload_digest, recipients, log_seq, accepted_at"
         " FROM messages WHERE message_id = ?"},
        {&insert_message,
         "INSERT INTO messages (message_id, contract, version, case_ref, sender, correlation_id,"
         " causation_id, supersedes, occurred_at, recorded_at, accepted_at, requested_recipients,"
         " recipients, payload, payload_digest, log_seq, origin, sealed)"
         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
        {&insert_delivery,
         "INSERT INTO deliveries (message_seq, recipient, state, attempts, last_attempt_at,"
         " acked_at, dead_at) VALUES (?, ?, 0, 0, 0, 0, 0)"},
        {&insert_delivery_sent,
         "INSERT INTO deliveries (message_seq, recipient, state, attempts, last_attempt_at,"
         " acked_at, dead_at) VALUES (?, ?, 1, 1, ?, 0, 0)"},
        {&next_pending, next_pending_sql.c_str()},
        {&find_outbound, find_outbound_sql.c_str()},
        {&find_delivery_header, find_delivery_header_sql.c_str()},
        {&find_delivery,
         "SELECT id, message_seq, recipient, state, attempts, last_attempt_at, acked_at, dead_at"
         " FROM deliveries WHERE id = ?"},
        {&mark_in_flight,
         "UPDATE deliveries SET state = 1, attempts = ?, last_attempt_at = ? WHERE id = ?"},
        {&mark_acked, "UPDATE deliveries SET state = 2, acked_at = ? WHERE id = ?"},
        {&mark_pending, "UPDATE deliveries SET state = 0 WHERE id = ?"},
        {&mark_dead, "UPDATE deliveries SET state = 3, dead_at = ? WHERE id = ?"},
        {&reset_in_flight_one, "UPDATE deliveries SET state = 0 WHERE state = 1 AND state IN (0, 1) AND recipient = ?"},
        {&reset_in_flight_all, "UPDATE deliveries SET state = 0 WHERE state = 1 AND state IN (0, 1)"},
        {&count_one, "SELECT state, count(*) FROM deliveries WHERE recipient = ? GROUP BY state"},
        {&count_all, "SELECT state, count(*) FROM deliveries GROUP BY state"},
        {&recipients_with_pending,
         "SELECT DISTINCT recipient FROM deliveries WHERE state = 0 AND state IN (0, 1) ORDER BY recipient"},
        {&backlog,
         "SELECT d.recipient, count(*), min(m.accepted_at) FROM deliveries d"
         " JOIN messages m ON m.seq = d.message_seq WHERE d.state IN (0, 1)"
         " GROUP BY d.recipient ORDER BY d.recipient"},
        // Delivery ids grow with acceptance, so the lowest id in a state is its oldest message.
        {&oldest_undelivered,
         "SELECT m.accepted_at FROM deliveries d JOIN messages m ON m.seq = d.message_seq"
         " WHERE d.recipient = ? AND d.state = ? AND d.state IN (0, 1) ORDER BY d.id LIMIT 1"},
        {&append_log, kAppendLogSql},
        {&read_log,
         "SELECT " KETEN_LOG_ROW_COLUMNS " FROM handover_log WHERE seq >= ?"
         " ORDER BY seq LIMIT ?"},
        {&read_case_log,
         "SELECT " KETEN_LOG_ROW_COLUMNS " FROM handover_log WHERE case_ref = ?"
         " ORDER BY seq"},
        // Through the partial index handover_log_started: no scan of the log at start.
        {&last_started,
         "SELECT " KETEN_LOG_ROW_COLUMNS " FROM handover_log"
         " WHERE event = 'started' ORDER BY seq DESC LIMIT 1"},
        {&read_head, "SELECT seq, hash FROM handover_log ORDER BY seq DESC LIMIT 1"},
        {&log_times_before, "SELECT seq, at FROM handover_log WHERE seq < ? ORDER BY seq DESC LIMIT ?"},
        {&accepted_event,
         "SELECT " KETEN_LOG_ROW_COLUMNS " FROM handover_log"
         " WHERE message_id = ? AND event = 'accepted' ORDER BY seq LIMIT 1"},
        {&read_high_water, "SELECT seq FROM sqlite_sequence WHERE name = 'handover_log'"},
        {&find_message_content,
         "SELECT message_id, contract, version, case_ref, recipients, correlation_id, causation_id,"
         " supersedes, occurred_at, recorded_at, origin, requested_recipients, sender, payload,"
         " payload_digest, log_seq, accepted_at, sealed FROM messages WHERE message_id = ?"},
        {&append_checkpoint,
         "INSERT INTO checkpoints (at, log_seq, head_hash, public_key, signature)"
         " VALUES (?, ?, ?, ?, ?)"},
        {&read_checkpoints,
         "SELECT id, at, log_seq, head_hash, public_key, signature FROM checkpoints ORDER BY id"},
    };
    for (const auto& [stmt, sql] : statements) {
      if (auto r = prepare(*stmt, sql); !r) return r;
    }
    std::string chunk = kAppendLogSql;
    for (std::size_t k = 1; k < kLogChunk; ++k) chunk += ", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    return prepare(append_log_chunk, chunk.c_str());
  }

  static void bind_log_row(Query& q, const audit::LogRecord& row) {
    q.int64(clamp_to_int64(row.seq))
        .int64(row.at)
        .text(row.event)
        .text(row.message_id)
        .text(row.contract)
        .int64(row.version)
        .text(row.case_ref)
        .text(row.sender)
        .text(row.recipient)
        .int64(row.delivery_id)
        .text(row.payload_digest)
        .text(row.detail)
        .text(row.prev_hash)
        .text(row.hash);
  }

  // Inserts the unwritten log rows, kLogChunk per statement, the rest one by one. Written rows
  // are kept for take_committed_log() when asked. On failure the transaction must be rolled back.
  Result<void> write_log() {
    std::size_t i = 0;
    Result<void> result;
    for (; result && unwritten.size() - i >= kLogChunk; i += kLogChunk) {
      auto q = query(append_log_chunk, "append_log");
      for (std::size_t k = 0; k < kLogChunk; ++k) bind_log_row(q, unwritten[i + k]);
      result = q.run();
    }
    for (; result && i < unwritten.size(); ++i) {
      auto q = query(append_log, "append_log");
      bind_log_row(q, unwritten[i]);
      result = q.run();
    }
    if (result && keep_committed) {
      // Outside a transaction the rows committed with their own statements.
      auto& list = sqlite3_get_autocommit(db.get()) ? committed : uncommitted;
      std::move(unwritten.begin(), unwritten.end(), std::back_inserter(list));
    }
    unwritten.clear();
    return result;
  }

  // Runs an UPDATE of one delivery by id and fails when no row has that id.
  Result<void> update_delivery(Query& q, std::int64_t delivery_id, std::string_view what) {
    if (auto r = q.run(); !r) return r;
    if (sqlite3_changes64(db.get()) == 0) {
      return storage_error(what, "no delivery with id " + std::to_string(delivery_id));
    }
    return {};
  }

  Result<DeliveryCounts> count(Query& q) {
    DeliveryCounts counts;
    for (;;) {
      auto row = q.next();
      if (!row) return row.error();
      if (!*row) return counts;
      auto state = to_state(q.int64_at(0), "count_deliveries");
      if (!state) return state.error();
      const std::int64_t n = q.int64_at(1);
      switch (*state) {
        case DeliveryState::kPending:
          counts.pending = n;
          break;
        case DeliveryState::kInFlight:
          counts.in_flight = n;
          break;
        case DeliveryState::kAcked:
          counts.acked = n;
          break;
        case DeliveryState::kDead:
          counts.dead = n;
          break;
      }
    }
  }
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::SqliteStore(SqliteStore&&) noexcept = default;
SqliteStore& SqliteStore::operator=(SqliteStore&&) noexcept = default;
SqliteStore::~SqliteStore() = default;

Result<SqliteStore> SqliteStore::open(const StoreOptions& options) {
  const std::string path = options.path.string();
  if (path.empty()) return storage_error("open", "empty path");
  const bool in_memory = path == ":memory:";
  if (!in_memory && !options.read_only && options.path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(options.path.parent_path(), ec);
    if (ec) return storage_error("open " + path + " (create folder)", ec.message());
  }

  // The lock comes first: nothing at the path is touched while another broker serves it.
  const bool owner = options.owner && !in_memory;
  std::optional<StoreLock> lock;
  if (owner) {
    auto taken = StoreLock::acquire(options.path);
    if (!taken) return taken.error();
    lock.emplace(std::move(*taken));
  }
  bool created = in_memory;
  if (!in_memory && !options.read_only) {
    auto made = prepare_file(options.path);
    if (!made) return made.error();
    created = *made;
  }

  sqlite3* raw = nullptr;
  // SQLite's memory statistics take a global mutex around every allocation it makes, and nothing
  // here reads them. Only possible before SQLite initialises (the first open in the process); a
  // later call is refused by SQLite and changes nothing.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  // A file path exists by now (prepare_file), so SQLite never creates one with its own mode.
  const int flags = options.read_only ? SQLITE_OPEN_READONLY
                                      : SQLITE_OPEN_READWRITE | (in_memory ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  DbHandle db(raw);  // sqlite3_open_v2 may hand back a handle even when it fails
  if (rc != SQLITE_OK) return sqlite_error("open " + path, db.get());
  sqlite3_extended_result_codes(db.get(), 1);
  const auto timeout =
      std::clamp<std::chrono::milliseconds::rep>(options.busy_timeout.count(), 0, INT_MAX);
  sqlite3_busy_timeout(db.get(), static_cast<int>(timeout));

  auto impl = std::make_unique<Impl>();
  impl->db = std::move(db);
  impl->path = path;
  impl->read_only = options.read_only;
  if (!options.payload_key.empty() && options.payload_key.size() != kPayloadKeyBytes) {
    return storage_error("open " + path, "payload key must be " + std::to_string(kPayloadKeyBytes) +
                                             " bytes, not " + std::to_string(options.payload_key.size()));
  }
  impl->payload_key = options.payload_key;
  impl->allow_create = created;
  // Until the owner's checks pass, closing must not checkpoint: a refused store keeps its WAL as
  // found (the frames after a bad checksum are what a recovery by hand could still read).
  if (owner) sqlite3_db_config(impl->db.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  if (auto r = impl->configure(options, in_memory); !r) {
    if (!options.read_only || in_memory || !wal_index_unavailable(impl->db.get())) return r.error();
    auto db = open_immutable(options.path);
    if (!db) return db.error();
    impl->db = std::move(*db);
    impl->immutable = true;
    if (auto again = impl->configure(options, in_memory); !again) return again.error();
    log().info("store opened immutable path={}: write-protected media, no -wal or -shm", path);
  }
  // Before the schema is checked or upgraded: nothing is written into a damaged file.
  if (owner && options.quick_check) {
    const auto started = std::chrono::steady_clock::now();
    if (auto r = quick_check(impl->db.get(), path); !r) return r.error();
    log().info("store quick_check ok path={} ms={}", path,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  }
  if (auto r = impl->ensure_schema(); !r) return r.error();
  if (auto r = impl->prepare_all(); !r) return r.error();
  if (auto r = impl->load_head(); !r) return r.error();
  if (auto r = impl->check_payload_key(); !r) return r.error();
  SqliteStore store(std::move(impl));
  if (owner) {
    TailCheck check;
    check.mark = lock->previous_mark();
    check.lock_path = lock->path().string();
    if (!lock->unreadable().empty()) {
      log().warn("store lock file unreadable path={} detail={}; the committed high-water mark is not checked",
                 check.lock_path, lock->unreadable());
    }
    const auto started = std::chrono::steady_clock::now();
    if (auto r = check_log_tail(store, path, check); !r) return r.error();
    log().info("store log tail ok path={} head={} ms={}", path, store.log_head().seq,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
    const LogHead head = store.log_head();
    if (auto r = lock->claim({head.seq, head.hash}, contracts::now_millis()); !r) return r.error();
    store.impl_->lock = std::move(lock);
    sqlite3_db_config(store.impl_->db.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, nullptr);
  }
  log().info("store opened path={} schema_version={} synchronous={} owner={}", path, kSchemaVersion,
             options.sync_full ? "full" : "normal", owner);
  return store;
}

Result<void> SqliteStore::begin() {
  impl_->uncommitted.clear();
  impl_->unwritten.clear();
  if (auto r = impl_->query(impl_->begin, "begin").run(); !r) return r;
  // The write lock is ours now; another process may have appended since our last transaction.
  return impl_->load_head();
}

Result<void> SqliteStore::commit() {
  if (auto r = impl_->write_log(); !r) return r;
  if (auto r = impl_->query(impl_->commit, "commit").run(); !r) return r;
  if (impl_->lock) impl_->lock->record({impl_->head.seq, impl_->head.hash});
  if (impl_->committed.empty()) {
    impl_->committed.swap(impl_->uncommitted);
  } else {
    std::move(impl_->uncommitted.begin(), impl_->uncommitted.end(), std::back_inserter(impl_->committed));
  }
  impl_->uncommitted.clear();
  return {};
}

void SqliteStore::keep_committed_log(bool keep) {
  impl_->keep_committed = keep;
  impl_->uncommitted.clear();
  impl_->committed.clear();
}

std::vector<LogEvent> SqliteStore::take_committed_log() {
  std::vector<LogEvent> rows;
  rows.swap(impl_->committed);
  return rows;
}

void SqliteStore::rollback() {
  impl_->uncommitted.clear();
  impl_->unwritten.clear();
  if (sqlite3_get_autocommit(impl_->db.get())) return;  // no transaction open
  if (auto r = impl_->query(impl_->rollback, "rollback").run(); !r) {
    log().error("rollback failed path={} detail={}", impl_->path, r.error().detail);
  }
  // The rolled-back rows are gone, and so is the head they made.
  if (auto r = impl_->load_head(); !r) {
    log().error("reloading the log head failed path={} detail={}", impl_->path, r.error().detail);
  }
}

Result<std::optional<AcceptedMessage>> SqliteStore::find_message(std::string_view message_id) {
  auto q = impl_->query(impl_->find_message, "find_message");
  q.text(message_id);
  auto row = q.next();
  if (!row) return row.error();
  if (!*row) return std::optional<AcceptedMessage>();
  AcceptedMessage message;
  message.seq = q.int64_at(0);
  message.message_id = q.text_at(1);
  message.sender = q.text_at(2);
  message.payload_digest = q.text_at(3);
  auto recipients = decode_strings(q.text_at(4), "find_message (recipients)");
  if (!recipients) return recipients.error();
  message.recipients = std::move(*recipients);
  message.log_seq = static_cast<std::uint64_t>(q.int64_at(5));
  message.accepted_at = q.int64_at(6);
  return std::optional<AcceptedMessage>(std::move(message));
}

Result<IdClaim> SqliteStore::find_own_message(std::string_view producer, std::string_view message_id) {
  auto first = find_message(message_id);
  if (!first) return first.error();
  IdClaim claim;
  if (!*first) return claim;
  if ((*first)->sender == producer) {
    claim.own = std::move(*first);
  } else {
    claim.taken = true;  // the other producer's message stays here: no field of it leaves
  }
  return claim;
}

Result<std::int64_t> SqliteStore::insert_message(const NewMessage& message) {
  auto requested =
      encode_strings(message.header.recipients, "insert_message (requested recipients)");
  if (!requested) return requested.error();
  auto recipients = encode_strings(message.recipients, "insert_message (recipients)");
  if (!recipients) return recipients.error();
  const contracts::Header& h = message.header;
  std::string sealed;
  if (message.seal) {
    const std::string what = "insert_message (message " + h.message_id + ")";
    if (impl_->payload_key.empty()) {
      return storage_error(what, "the payload must be sealed and no payload key is configured (payload_key)");
    }
    auto box = seal_payload(impl_->payload_key, message.payload,
                            payload_associated_data(h.message_id, message.payload_digest));
    if (!box) return storage_error(what, box.error().detail);
    sealed = std::move(*box);
  }
  auto q = impl_->query(impl_->insert_message, "insert_message");
  q.text(h.message_id)
      .text(h.contract)
      .int64(h.version)
      .text(h.case_ref)
      .text(message.sender)
      .text(h.correlation_id)
      .text(h.causation_id)
      .text(h.supersedes)
      .int64(h.occurred_at)
      .int64(h.recorded_at)
      .int64(message.accepted_at)
      .text(*requested)
      .text(*recipients)
      .blob(message.seal ? std::string_view(sealed) : std::string_view(message.payload))
      .text(message.payload_digest)
      .int64(clamp_to_int64(message.log_seq))
      .text(h.origin)
      .int64(message.seal ? 1 : 0);
  if (auto r = q.run(); !r) return r.error();
  return sqlite3_last_insert_rowid(impl_->db.get());
}

Result<std::int64_t> SqliteStore::insert_delivery(std::int64_t message_seq,
                                                  std::string_view recipient) {
  auto q = impl_->query(impl_->insert_delivery, "insert_delivery");
  q.int64(message_seq).text(recipient);
  if (auto r = q.run(); !r) return r.error();
  return sqlite3_last_insert_rowid(impl_->db.get());
}

Result<std::int64_t> SqliteStore::insert_delivery_sent(std::int64_t message_seq, std::string_view recipient,
                                                       Millis at) {
  auto q = impl_->query(impl_->insert_delivery_sent, "insert_delivery_sent");
  q.int64(message_seq).text(recipient).int64(at);
  if (auto r = q.run(); !r) return r.error();
  return sqlite3_last_insert_rowid(impl_->db.get());
}

Result<std::vector<OutboundDelivery>> SqliteStore::next_pending(std::string_view recipient,
                                                                std::size_t limit, std::int64_t before_id) {
  std::vector<OutboundDelivery> out;
  if (limit == 0) return out;
  auto q = impl_->query(impl_->next_pending, "next_pending");
  q.text(recipient).int64(before_id).int64(clamp_to_int64(limit));
  for (;;) {
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return out;
    auto delivery = read_outbound(q, "next_pending", impl_->payload_key);
    if (!delivery) return delivery.error();
    out.push_back(std::move(*delivery));
  }
}

Result<std::optional<OutboundDelivery>> SqliteStore::find_outbound(std::int64_t delivery_id) {
  return impl_->find_one_outbound(impl_->find_outbound, delivery_id, "find_outbound");
}

Result<std::optional<OutboundDelivery>> SqliteStore::find_delivery_header(std::int64_t delivery_id) {
  return impl_->find_one_outbound(impl_->find_delivery_header, delivery_id, "find_delivery_header");
}

Result<std::optional<Delivery>> SqliteStore::find_delivery(std::int64_t delivery_id) {
  auto q = impl_->query(impl_->find_delivery, "find_delivery");
  q.int64(delivery_id);
  auto row = q.next();
  if (!row) return row.error();
  if (!*row) return std::optional<Delivery>();
  Delivery delivery;
  delivery.id = q.int64_at(0);
  delivery.message_seq = q.int64_at(1);
  delivery.recipient = q.text_at(2);
  auto state = to_state(q.int64_at(3), "find_delivery");
  if (!state) return state.error();
  delivery.state = *state;
  delivery.attempts = static_cast<std::uint32_t>(q.int64_at(4));
  delivery.last_attempt_at = q.int64_at(5);
  delivery.acked_at = q.int64_at(6);
  delivery.dead_at = q.int64_at(7);
  return std::optional<Delivery>(std::move(delivery));
}

Result<void> SqliteStore::mark_in_flight(std::int64_t delivery_id, std::uint32_t attempts,
                                         Millis at) {
  auto q = impl_->query(impl_->mark_in_flight, "mark_in_flight");
  q.int64(attempts).int64(at).int64(delivery_id);
  return impl_->update_delivery(q, delivery_id, "mark_in_flight");
}

Result<void> SqliteStore::mark_acked(std::int64_t delivery_id, Millis at) {
  auto q = impl_->query(impl_->mark_acked, "mark_acked");
  q.int64(at).int64(delivery_id);
  return impl_->update_delivery(q, delivery_id, "mark_acked");
}

Result<void> SqliteStore::mark_pending(std::int64_t delivery_id) {
  auto q = impl_->query(impl_->mark_pending, "mark_pending");
  q.int64(delivery_id);
  return impl_->update_delivery(q, delivery_id, "mark_pending");
}

Result<void> SqliteStore::mark_dead(std::int64_t delivery_id, Millis at) {
  auto q = impl_->query(impl_->mark_dead, "mark_dead");
  q.int64(at).int64(delivery_id);
  return impl_->update_delivery(q, delivery_id, "mark_dead");
}

Result<std::int64_t> SqliteStore::reset_in_flight(std::string_view recipient) {
  auto q = recipient.empty() ? impl_->query(impl_->reset_in_flight_all, "reset_in_flight")
                             : impl_->query(impl_->reset_in_flight_one, "reset_in_flight");
  if (!recipient.empty()) q.text(recipient);
  if (auto r = q.run(); !r) return r.error();
  return static_cast<std::int64_t>(sqlite3_changes64(impl_->db.get()));
}

Result<DeliveryCounts> SqliteStore::count_deliveries(std::string_view recipient) {
  if (recipient.empty()) {
    auto q = impl_->query(impl_->count_all, "count_deliveries");
    return impl_->count(q);
  }
  auto q = impl_->query(impl_->count_one, "count_deliveries");
  q.text(recipient);
  return impl_->count(q);
}

Result<std::vector<std::string>> SqliteStore::recipients_with_pending() {
  auto q = impl_->query(impl_->recipients_with_pending, "recipients_with_pending");
  std::vector<std::string> recipients;
  for (;;) {
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return recipients;
    recipients.push_back(q.text_at(0));
  }
}

Result<std::vector<RecipientBacklog>> SqliteStore::backlog() {
  auto q = impl_->query(impl_->backlog, "backlog");
  std::vector<RecipientBacklog> out;
  for (;;) {
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back({q.text_at(0), q.int64_at(1), q.int64_at(2)});
  }
}

Result<std::optional<Millis>> SqliteStore::oldest_undelivered(std::string_view recipient) {
  std::optional<Millis> oldest;
  for (auto state : {DeliveryState::kPending, DeliveryState::kInFlight}) {
    auto q = impl_->query(impl_->oldest_undelivered, "oldest_undelivered");
    q.text(recipient).int64(static_cast<std::int64_t>(state));
    auto row = q.next();
    if (!row) return row.error();
    if (*row) oldest = std::min(oldest.value_or(q.int64_at(0)), q.int64_at(0));
  }
  return oldest;
}


Result<std::optional<StoredMessage>> SqliteStore::find_message_content(std::string_view message_id) {
  auto q = impl_->query(impl_->find_message_content, "find_message_content");
  q.text(message_id);
  auto row = q.next();
  if (!row) return row.error();
  if (!*row) return std::optional<StoredMessage>();
  StoredMessage m;
  m.header.message_id = q.text_at(0);
  m.header.contract = q.text_at(1);
  m.header.version = static_cast<std::uint32_t>(q.int64_at(2));
  m.header.case_ref = q.text_at(3);
  auto recipients = decode_strings(q.text_at(4), "find_message_content (recipients)");
  if (!recipients) return recipients.error();
  m.header.recipients = std::move(*recipients);
  m.header.correlation_id = q.text_at(5);
  m.header.causation_id = q.text_at(6);
  m.header.supersedes = q.text_at(7);
  m.header.occurred_at = q.int64_at(8);
  m.header.recorded_at = q.int64_at(9);
  m.header.origin = q.text_at(10);
  auto requested = decode_strings(q.text_at(11), "find_message_content (requested recipients)");
  if (!requested) return requested.error();
  m.requested_recipients = std::move(*requested);
  m.sender = q.text_at(12);
  m.payload = q.blob_at(13);
  m.payload_digest = q.text_at(14);
  m.log_seq = static_cast<std::uint64_t>(q.int64_at(15));
  m.accepted_at = q.int64_at(16);
  auto payload = stored_payload(std::move(m.payload), q.int64_at(17) != 0, impl_->payload_key,
                                m.header.message_id, m.payload_digest, "find_message_content");
  if (payload) {
    m.payload = std::move(*payload);
  } else {
    m.payload.clear();
    m.unreadable = payload.error().detail;
  }
  return std::optional<StoredMessage>(std::move(m));
}

Result<std::uint64_t> SqliteStore::append_log(LogEvent row) {
  // The table's CHECK, at the call: inside a transaction the row is inserted only at commit.
  if (row.event.empty()) return storage_error("append_log", "an event needs a name (CHECK event <> '')");
  if (sqlite3_get_autocommit(impl_->db.get())) {
    if (auto r = impl_->load_head(); !r) return r.error();
  }
  // AUTOINCREMENT would hand out max(highest row, sqlite_sequence) + 1; the store picks the same
  // number itself because the hash covers the seq.
  row.seq = std::max(impl_->head.seq, impl_->high_water) + 1;
  audit::seal(row, impl_->head.hash);
  impl_->head.seq = row.seq;
  impl_->head.hash = row.hash;
  impl_->high_water = row.seq;
  const std::uint64_t seq = row.seq;
  impl_->unwritten.push_back(std::move(row));
  if (sqlite3_get_autocommit(impl_->db.get())) {
    // Outside a transaction the row commits with its own statement, now.
    if (auto r = impl_->write_log(); !r) {
      if (auto reload = impl_->load_head(); !reload) return reload.error();
      return r.error();
    }
    if (impl_->lock) impl_->lock->record({impl_->head.seq, impl_->head.hash});
  }
  return seq;
}

Result<std::vector<LogEvent>> SqliteStore::read_log(std::uint64_t from_seq, std::size_t limit) {
  if (auto r = impl_->write_log(); !r) return r.error();  // this transaction's own rows too
  std::vector<LogEvent> events;
  // No stored seq can exceed INT64_MAX; binding a larger value would wrap to a negative one.
  if (limit == 0 ||
      from_seq > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return events;
  }
  auto q = impl_->query(impl_->read_log, "read_log");
  q.int64(static_cast<std::int64_t>(from_seq)).int64(clamp_to_int64(limit));
  for (;;) {
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return events;
    events.push_back(read_log_row(q));
  }
}

Result<std::vector<LogEvent>> SqliteStore::read_case_log(std::string_view case_ref) {
  if (auto r = impl_->write_log(); !r) return r.error();
  std::vector<LogEvent> events;
  auto q = impl_->query(impl_->read_case_log, "read_case_log");
  q.text(case_ref);
  for (;;) {
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return events;
    events.push_back(read_log_row(q));
  }
}

Result<std::optional<LogEvent>> SqliteStore::last_started_event() {
  if (auto r = impl_->write_log(); !r) return r.error();
  auto q = impl_->query(impl_->last_started, "last_started_event");
  auto row = q.next();
  if (!row) return row.error();
  if (!*row) return std::optional<LogEvent>();
  return std::optional<LogEvent>(read_log_row(q));
}

Result<std::uint64_t> SqliteStore::log_seq_since(Millis at) {
  if (auto r = impl_->write_log(); !r) return r.error();
  constexpr std::int64_t kPage = 4096;
  std::int64_t below = std::numeric_limits<std::int64_t>::max();
  std::uint64_t first = 0;  // the oldest row seen so far that is at or after `at`; 0 = none yet
  for (;;) {
    auto q = impl_->query(impl_->log_times_before, "log_seq_since");
    q.int64(below).int64(kPage);
    std::int64_t rows = 0;
    for (;;) {
      auto row = q.next();
      if (!row) return row.error();
      if (!*row) break;
      ++rows;
      const auto seq = static_cast<std::uint64_t>(q.int64_at(0));
      if (q.int64_at(1) < at) return seq + 1;
      first = seq;
      below = q.int64_at(0);
    }
    if (rows < kPage) return first == 0 ? impl_->head.seq + 1 : first;
  }
}

Result<std::optional<LogEvent>> SqliteStore::accepted_event(std::string_view message_id) {
  if (auto r = impl_->write_log(); !r) return r.error();
  auto q = impl_->query(impl_->accepted_event, "accepted_event");
  q.text(message_id);
  auto row = q.next();
  if (!row) return row.error();
  if (!*row) return std::optional<LogEvent>();
  return std::optional<LogEvent>(read_log_row(q));
}

LogHead SqliteStore::log_head() const { return LogHead{impl_->head.seq, impl_->head.hash}; }

Result<std::int64_t> SqliteStore::append_checkpoint(const audit::Checkpoint& cp) {
  auto q = impl_->query(impl_->append_checkpoint, "append_checkpoint");
  q.int64(cp.at).int64(clamp_to_int64(cp.log_seq)).text(cp.head_hash).text(cp.public_key).text(cp.signature);
  if (auto r = q.run(); !r) return r.error();
  return sqlite3_last_insert_rowid(impl_->db.get());
}

Result<std::vector<audit::Checkpoint>> SqliteStore::read_checkpoints() {
  auto q = impl_->query(impl_->read_checkpoints, "read_checkpoints");
  std::vector<audit::Checkpoint> out;
  for (;;) {
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return out;
    audit::Checkpoint& cp = out.emplace_back();
    cp.id = q.int64_at(0);
    cp.at = q.int64_at(1);
    cp.log_seq = static_cast<std::uint64_t>(q.int64_at(2));
    cp.head_hash = q.text_at(3);
    cp.public_key = q.text_at(4);
    cp.signature = q.text_at(5);
  }
}

Result<audit::LogData> SqliteStore::read_log_data() {
  audit::LogData data;
  // One read transaction, so rows, checkpoints and the high-water mark are one snapshot.
  const bool own_transaction = sqlite3_get_autocommit(impl_->db.get()) != 0;
  if (own_transaction) {
    if (auto r = impl_->exec("BEGIN", "read_log_data (begin)"); !r) return r.error();
  }
  auto result = [&]() -> Result<void> {
    constexpr std::size_t kPage = 10'000;
    std::uint64_t from = 1;
    for (;;) {
      auto page = read_log(from, kPage);
      if (!page) return page.error();
      if (page->empty()) break;
      from = page->back().seq + 1;
      for (auto& row : *page) data.rows.push_back(std::move(row));
      if (page->size() < kPage) break;
    }
    auto checkpoints = read_checkpoints();
    if (!checkpoints) return checkpoints.error();
    data.checkpoints = std::move(*checkpoints);
    if (!data.checkpoints.empty()) data.public_key = data.checkpoints.back().public_key;
    auto q = impl_->query(impl_->read_high_water, "read log high water");
    auto row = q.next();
    if (!row) return row.error();
    data.high_water = *row ? static_cast<std::uint64_t>(q.int64_at(0)) : 0;
    return {};
  }();
  if (own_transaction) sqlite3_exec(impl_->db.get(), "COMMIT", nullptr, nullptr, nullptr);
  if (!result) return result.error();
  return data;
}

sqlite3* SqliteStore::connection() { return impl_->db.get(); }

}  // namespace broker::store
