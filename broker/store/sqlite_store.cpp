#include "broker/store/sqlite_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <system_error>
#include <tuple>
#include <utility>

#include "broker/audit/hash_chain.h"
#include "broker/audit/log_source.h"
#include "broker/events/codec.h"
#include "broker/events/legacy.h"
#include "broker/store/blob_reader.h"
#include "broker/store/event_block.h"
#include "broker/store/log.h"
#include "broker/store/row_values.h"
#include "broker/store/case_keys.h"
#include "broker/store/seal.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/store_check.h"
#include "broker/store/store_lock.h"
#include "broker/store/wal_gathering.h"
#include "broker/store/stored_events.h"
#include "broker/store/transaction.h"
#include "broker/store/tree_tiles.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/proof.h"
#include "broker/tlog/note.h"

namespace broker::store {

namespace {

using contracts::Error;
using contracts::ErrorCode;

// 2: messages.sealed (sealed payloads). 3: partial delivery indexes, an index of `started` rows.
// 4: the CHECK on deliveries.state as equalities; until 3 it read `state IN (0, 1, 2, 3)`, and
// SQLite codes an IN list of more than two constants as a temporary B-tree built for every row
// written (docs/performance.md). 5: the handover log as blocks of typed events with a Merkle tree
// and signed checkpoints (log_blocks, log_case_blocks, log_tree_nodes, tree_checkpoints) in place
// of one hash-chained row per event (handover_log). Older files are upgraded when opened
// read-write; schema 4's log rows are converted event by event (migrate_v4).
constexpr int kSchemaVersion = 5;

// A transaction's events are written as blocks of at most this many bytes (an event larger than
// that alone in its block). SQLite keeps a large value as a chain of overflow pages that a read at
// an offset walks from the start, so the block size bounds what reading one event or one tile's
// leaf hashes costs: at most eight 4 KiB pages walked (docs/store-format.md, "log_blocks").
constexpr std::size_t kBlockBytes = 32 * 1024;

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
CREATE INDEX IF NOT EXISTS deliveries_dead_by_recipient ON deliveries (recipient, dead_at) WHERE state = 3;
CREATE INDEX IF NOT EXISTS messages_by_case ON messages (case_ref, seq);
CREATE TABLE IF NOT EXISTS log_blocks (
  first_seq INTEGER NOT NULL PRIMARY KEY CHECK (first_seq >= 1),
  count     INTEGER NOT NULL CHECK (count >= 1),
  first_at  INTEGER NOT NULL,
  last_at   INTEGER NOT NULL,
  events    BLOB    NOT NULL
);
CREATE TABLE IF NOT EXISTS log_case_blocks (
  case_ref  TEXT    NOT NULL,
  first_seq INTEGER NOT NULL,
  positions BLOB    NOT NULL DEFAULT x'',
  PRIMARY KEY (case_ref, first_seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_tree_nodes (
  level INTEGER NOT NULL,
  idx   INTEGER NOT NULL,
  hash  BLOB    NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tree_checkpoints (
  id   INTEGER PRIMARY KEY AUTOINCREMENT,
  at   INTEGER NOT NULL,
  size INTEGER NOT NULL,
  note TEXT    NOT NULL
);
CREATE TRIGGER IF NOT EXISTS log_blocks_no_update BEFORE UPDATE ON log_blocks
BEGIN SELECT RAISE(ABORT, 'log_blocks is append-only'); END;
CREATE TRIGGER IF NOT EXISTS log_blocks_no_delete BEFORE DELETE ON log_blocks
BEGIN SELECT RAISE(ABORT, 'log_blocks is append-only'); END;
CREATE TRIGGER IF NOT EXISTS log_case_blocks_no_update BEFORE UPDATE ON log_case_blocks
BEGIN SELECT RAISE(ABORT, 'log_case_blocks is append-only'); END;
CREATE TRIGGER IF NOT EXISTS log_case_blocks_no_delete BEFORE DELETE ON log_case_blocks
BEGIN SELECT RAISE(ABORT, 'log_case_blocks is append-only'); END;
CREATE TRIGGER IF NOT EXISTS log_tree_nodes_no_update BEFORE UPDATE ON log_tree_nodes
BEGIN SELECT RAISE(ABORT, 'log_tree_nodes is append-only'); END;
CREATE TRIGGER IF NOT EXISTS log_tree_nodes_no_delete BEFORE DELETE ON log_tree_nodes
BEGIN SELECT RAISE(ABORT, 'log_tree_nodes is append-only'); END;
CREATE TRIGGER IF NOT EXISTS tree_checkpoints_no_update BEFORE UPDATE ON tree_checkpoints
BEGIN SELECT RAISE(ABORT, 'tree_checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS tree_checkpoints_no_delete BEFORE DELETE ON tree_checkpoints
BEGIN SELECT RAISE(ABORT, 'tree_checkpoints are append-only'); END;
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

// Case keys and legal holds (docs/store-format.md, "Case keys"), added to a schema-5 file at its
// first read-write open by this version (ensure_case_key_schema), as the satellite tables are: the
// file stays schema 5, and a reader of an older file sees no case key (every message.case_key 0).
// messages.case_key: 0 = the payload is plaintext (sealed 0) or sealed directly under the payload
// key (sealed 1, as before case keys); otherwise the id of the case_keys row whose key seals it.
// One live (unshredded) key per case, or per message without a case (case_ref '', message_id set).
constexpr const char* kCaseKeySql = R"sql(
CREATE TABLE IF NOT EXISTS case_keys (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  case_ref     TEXT    NOT NULL,
  message_id   TEXT    NOT NULL,
  wrapped_key  BLOB    NOT NULL,
  key_id       TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  shredded_at  INTEGER NOT NULL,
  shred_reason TEXT    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS case_keys_live ON case_keys (case_ref, message_id) WHERE shredded_at = 0;
CREATE INDEX IF NOT EXISTS case_keys_live_by_id ON case_keys (id, created_at) WHERE shredded_at = 0;
CREATE TABLE IF NOT EXISTS case_holds (
  case_ref TEXT    NOT NULL PRIMARY KEY,
  since    INTEGER NOT NULL,
  reason   TEXT    NOT NULL,
  who      TEXT    NOT NULL
);
)sql";

// The event index (docs/store-format.md, "log_case_blocks" and "log_leaves"), added to a schema-5
// file at its first read-write open by this version (ensure_event_index_schema): where each case's
// events sit inside their blocks (log_case_blocks.positions, event_block.h), and per block the tree
// hashes its appends completed below level 8 (its leaves, then levels 1 to 7), so that a case's
// replay reads its own events' bytes and proves each from stored hashes without reading or hashing
// the events around them. Rows written before have no positions and no hashes: the readers fall
// back to reading those blocks whole. With them, each complete tile of stored tree nodes folded
// (log_node_tiles: its 256 nodes and the 254 above them inside it), written when the tile
// completes, so that a proof reads one row instead of 256 and hashes none of them; tiles completed
// before (filled in at the owner's open, fill_node_tiles) and the last, incomplete one are
// folded from log_tree_nodes.
constexpr const char* kEventIndexSql = R"sql(
CREATE TABLE IF NOT EXISTS log_leaves (
  first_seq INTEGER NOT NULL PRIMARY KEY,
  hashes    BLOB    NOT NULL CHECK (length(hashes) >= 32 AND length(hashes) % 32 = 0)
);
CREATE TRIGGER IF NOT EXISTS log_leaves_no_update BEFORE UPDATE ON log_leaves
BEGIN SELECT RAISE(ABORT, 'log_leaves is append-only'); END;
CREATE TRIGGER IF NOT EXISTS log_leaves_no_delete BEFORE DELETE ON log_leaves
BEGIN SELECT RAISE(ABORT, 'log_leaves is append-only'); END;
CREATE TABLE IF NOT EXISTS log_node_tiles (
  id     INTEGER PRIMARY KEY CHECK (id = (level << 40) + idx),
  level  INTEGER NOT NULL CHECK (level >= 8 AND level % 8 = 0),
  idx    INTEGER NOT NULL CHECK (idx >= 0 AND idx < (1 << 40)),
  hashes BLOB    NOT NULL CHECK (length(hashes) = 16320)
);
CREATE TRIGGER IF NOT EXISTS log_node_tiles_no_update BEFORE UPDATE ON log_node_tiles
BEGIN SELECT RAISE(ABORT, 'log_node_tiles is append-only'); END;
CREATE TRIGGER IF NOT EXISTS log_node_tiles_no_delete BEFORE DELETE ON log_node_tiles
BEGIN SELECT RAISE(ABORT, 'log_node_tiles is append-only'); END;
)sql";

// Schema 4's handover log, read once to convert it (migrate_v4).
constexpr const char* kV4LogSelect =
    "SELECT seq, at, event, message_id, contract, version, case_ref, sender, recipient, delivery_id,"
    " payload_digest, detail, prev_hash, hash FROM handover_log WHERE seq > ? ORDER BY seq LIMIT 4096";

// Shared by next_pending, find_outbound and find_delivery_header; read_outbound() follows its column
// order. Without the payload, an empty unsealed one is read in its place (nothing to decrypt).
// The case index's key for the blocks that hold a broker start (`started` events carry no case but
// concern every case: replay shows them). No case reference is empty, so it is never a case's key.
constexpr std::string_view kStartsKey = "";
// meta: present once every start in the log is indexed under kStartsKey (set when the store is
// created, or by index_starts). The schema's creation writes it as a literal.
constexpr std::string_view kStartsIndexedMeta = "starts_indexed";

std::string outbound_select(bool with_payload, bool case_keys) {
  return std::string(
             "SELECT d.id, d.recipient, d.attempts, m.message_id, m.contract, m.version, m.case_ref,"
             " m.recipients, m.correlation_id, m.causation_id, m.supersedes, m.occurred_at, m.recorded_at,"
             " m.sender, ") +
         (with_payload ? "m.payload" : "x''") + ", m.payload_digest, m.accepted_at, m.origin, " +
         (with_payload ? "m.sealed" : "0") + ", " + (with_payload && case_keys ? "m.case_key" : "0") +
         " FROM deliveries AS d JOIN messages AS m ON m.seq = d.message_seq ";
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
  // The blob without a copy: valid until the next step or reset.
  std::string_view blob_view_at(int column) const {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
    const int size = sqlite3_column_bytes(stmt_, column);
    return data == nullptr ? std::string_view() : std::string_view(data, static_cast<std::size_t>(size));
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

// The stored payload bytes as the reader gets them: opened when the row is sealed, under its case
// key (case_key > 0; a shredded one gives the shredding's sentence as the error's detail) or else
// directly under the payload `key`.
Result<std::string> stored_payload(std::string bytes, bool sealed, std::int64_t case_key, CaseKeyring* keyring,
                                   std::string_view key, std::string_view message_id, std::string_view digest,
                                   std::string_view what) {
  if (!sealed) return bytes;
  if (case_key > 0) {
    if (keyring == nullptr) {
      return storage_error(std::string(what) + " (message " + std::string(message_id) + ")",
                           "the payload is sealed under a case key and the store has no case keys");
    }
    auto got = keyring->key_for_reading(case_key);
    if (!got) return storage_error(std::string(what) + " (message " + std::string(message_id) + ")", got.error().detail);
    if (!got->shredded.empty()) return Error{ErrorCode::kStorage, got->shredded};
    auto plain = open_payload(got->key, bytes, payload_associated_data(message_id, digest));
    if (!plain) return storage_error(std::string(what) + " (message " + std::string(message_id) + ")", plain.error().detail);
    return plain;
  }
  const std::string where = std::string(what) + " (message " + std::string(message_id) + ")";
  if (key.empty()) {
    return storage_error(where, "the payload is sealed and no payload key is configured (payload_key)");
  }
  auto plain = open_payload(key, bytes, payload_associated_data(message_id, digest));
  if (!plain) return storage_error(where, plain.error().detail);
  return plain;
}

// Reads a row of kOutboundSelect.
Result<OutboundDelivery> read_outbound(const Query& q, std::string_view what, std::string_view key,
                                       CaseKeyring* keyring) {
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
  auto payload = stored_payload(std::move(out.payload), q.int64_at(18) != 0, q.int64_at(19), keyring, key,
                                out.header.message_id, out.payload_digest, what);
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
  StmtHandle insert_block, insert_case_block, insert_leaves, insert_node, insert_node_tile, insert_tree_checkpoint;
  StmtHandle read_blocks_from, read_case_index, read_block, leaf_blocks, read_nodes, read_node_tile, node_tiles_at,
      read_tree_end, blocks_before;
  StmtHandle message_log_seq;
  StmtHandle latest_note, all_notes, set_meta, get_meta, legacy_anchor;
  StmtHandle find_message_content, append_checkpoint, read_checkpoints;
  bool read_only = false;
  bool immutable = false;      // read-only on write-protected media: SQLite's immutable=1, no locks
  bool allow_create = true;    // false for a file that was there before open(): never a new schema in it
  std::optional<StoreLock> lock;  // held by the owner (StoreOptions::owner) for the store's life
  // Extension lines for the checkpoint this transaction's commit signs (extend_next_checkpoint).
  std::vector<std::string> next_extensions;
  // The owner's newest checkpoint note, kept after its commit (latest_checkpoint_note without a
  // read: receipts ask for it after every commit); signed_note until then.
  std::string signed_note;
  std::optional<std::string> committed_note;
  std::string payload_key;     // 32 raw bytes, or "" (seal.h)
  // messages.case_key and case_keys are in the file (always after a read-write open).
  bool has_case_keys = false;
  bool has_node_tiles = false;  // log_node_tiles is there (kEventIndexSql)
  // log_case_blocks.positions and log_leaves are in the file (always after a read-write open).
  bool has_event_index = false;
  int busy_timeout_ms = 0;  // StoreOptions::busy_timeout, restored after truncate_wal
  std::optional<CaseKeyring> keyring;  // with has_case_keys
  CaseKeyring* ring() { return keyring ? &*keyring : nullptr; }
  // The log's Merkle tree over every event written (committed, and flushed in the open
  // transaction); as it was at begin(), for rollback().
  tlog::CompactTree tree, tree_at_begin;
  std::string root_hex;  // hex of tree.root()
  // Appended in the open transaction, not yet written: they become one block at commit() (or
  // before anything reads the log: write_block).
  struct Pending {
    std::string bytes;  // events::encode_event
    Millis at = 0;
    std::string case_ref;
    bool started = false;
  };
  std::vector<Pending> pending;
  bool wrote_in_transaction = false;  // a block was written since begin(): commit() signs
  bool keep_committed = false;
  std::vector<events::LoggedEvent> unwritten_kept;  // pending's events (keep_committed)
  std::vector<events::LoggedEvent> uncommitted;     // written in the open transaction (keep_committed)
  std::vector<events::LoggedEvent> committed;       // committed, not yet taken
  std::string origin;                  // "keten/<log_id>"
  std::optional<tlog::NoteSigner> signer;
  std::function<std::int64_t()> clock;  // StoreOptions::clock; empty: the system clock
  std::uint64_t last_signed_size = 0;  // size of the newest tree checkpoint
  bool has_tree_checkpoint = false;
  // The schema-4 chain's value after the newest event it was computed for (seq 0: genesis).
  LogHead legacy_cursor{0, audit::kGenesisHash};
  std::optional<LogHead> legacy_anchor_meta;  // the schema-4 head recorded at conversion

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
    bool convert = false;
    auto result = check_or_create_schema(what, convert);
    if (result) result = ensure_case_key_schema(what);
    if (result) result = ensure_event_index_schema(what);
    // Made by versions before: its queries (all at start: recipients with pending work, the
    // in-flight deliveries to reset, the backlog counts) scan deliveries_open_by_recipient, which
    // is as large; dropping it saves a page per commit (docs/store-format.md).
    if (result) result = exec("DROP INDEX IF EXISTS deliveries_open_by_state", what + " (drop index)");
    if (result) result = prepare_all();
    if (result && convert) result = migrate_v4(what + " (convert schema 4 to 5)");
    if (!result) {
      sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      return result;
    }
    return exec("COMMIT", what + " (commit schema)");
  }

  // Adds messages.case_key and the case key tables when missing (kCaseKeySql).
  Result<void> ensure_case_key_schema(const std::string& what) {
    auto has = query_text("SELECT count(*) FROM pragma_table_info('messages') WHERE name = 'case_key'", what);
    if (!has) return has.error();
    if (has->value_or("0") == "0") {
      if (auto r = exec("ALTER TABLE messages ADD COLUMN case_key INTEGER NOT NULL DEFAULT 0", what + " (case keys)"); !r) {
        return r;
      }
    }
    if (auto r = exec(kCaseKeySql, what + " (case keys)"); !r) return r;
    has_case_keys = true;
    return {};
  }

  // Adds log_case_blocks.positions and log_leaves when missing (kEventIndexSql).
  Result<void> ensure_event_index_schema(const std::string& what) {
    auto has = query_text("SELECT count(*) FROM pragma_table_info('log_case_blocks') WHERE name = 'positions'", what);
    if (!has) return has.error();
    if (has->value_or("0") == "0") {
      if (auto r = exec("ALTER TABLE log_case_blocks ADD COLUMN positions BLOB NOT NULL DEFAULT x''",
                        what + " (event index)");
          !r) {
        return r;
      }
    }
    if (auto r = exec(kEventIndexSql, what + " (event index)"); !r) return r;
    has_event_index = true;
    has_node_tiles = true;
    return {};
  }

  // A read-only connection uses the event index when the file has it.
  Result<void> detect_event_index(const std::string& what) {
    auto has = query_text(
        "SELECT (SELECT count(*) FROM pragma_table_info('log_case_blocks') WHERE name = 'positions') +"
        " (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'log_leaves')",
        what);
    if (!has) return has.error();
    has_event_index = has->value_or("0") == "2";
    auto tiles = query_text("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'log_node_tiles'", what);
    if (!tiles) return tiles.error();
    has_node_tiles = tiles->value_or("0") == "1";
    return {};
  }

  // A read-only connection uses the case keys when the file has them.
  Result<void> detect_case_keys(const std::string& what) {
    auto has = query_text(
        "SELECT (SELECT count(*) FROM pragma_table_info('messages') WHERE name = 'case_key') +"
        " (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'case_keys')",
        what);
    if (!has) return has.error();
    has_case_keys = has->value_or("0") == "2";
    return {};
  }

  // `convert`: set when the file is of schema 4 (after the steps up to it) and its handover log
  // must be converted (migrate_v4) before the transaction commits.
  Result<void> check_or_create_schema(const std::string& what, bool& convert) {
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
      // A new log indexes every start from its first event on (kStartsKey).
      if (auto r = exec("INSERT INTO meta (key, value) VALUES ('starts_indexed', '1')", what + " (create schema)"); !r) {
        return r;
      }
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
    // Same version: recreates any index or trigger that went missing; a no-op otherwise. For a
    // file below 5 it creates the schema-5 tables, which migrate_v4 then fills.
    convert = version < 5;
    return exec(kSchemaSql, what + " (check schema)");
  }

  // A read-only connection cannot create anything: it only checks the version. A file of an older
  // schema is not read: the handover log changed form in 5, and converting it is a write.
  Result<void> check_read_only_schema(const std::string& what) {
    auto stored = query_text(
        "SELECT value FROM meta WHERE key = 'schema_version' AND "
        "EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'checkpoints')",
        what);
    if (!stored) return storage_error(what, "not a Keten store of this version: " + stored.error().detail);
    if (*stored && **stored != std::to_string(kSchemaVersion)) {
      long long version = 0;
      std::from_chars((*stored)->data(), (*stored)->data() + (*stored)->size(), version);
      if (version >= 1 && version < kSchemaVersion) {
        return storage_error(what, "schema version " + **stored + ", and this keten reads only version " +
                                       std::to_string(kSchemaVersion) +
                                       " read-only; start the broker (keten serve) on it once to convert it");
      }
    }
    if (!*stored || **stored != std::to_string(kSchemaVersion)) {
      return storage_error(what, "not a Keten store of schema version " + std::to_string(kSchemaVersion));
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
      const auto& [message_id, sealed, digest, case_key] = **q;
      // Under a case key: the key is unwrapped with the payload key first (a shredded one says
      // nothing about the payload key, and is let through).
      auto key = case_key > 0 ? case_key_for_check(case_key, message_id)
                              : Result<std::optional<std::string>>(std::optional<std::string>(payload_key));
      if (!key) return key.error();
      auto plain = *key ? open_payload(**key, sealed, payload_associated_data(message_id, digest))
                        : Result<std::string>(std::string());
      if (key->has_value() && case_key > 0) wipe(**key);
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

  // message_id, payload, payload_digest and case_key of the newest sealed message, or nullopt.
  Result<std::optional<std::tuple<std::string, std::string, std::string, std::int64_t>>> newest_sealed_row() {
    const std::string what = "open " + path + " (check payload key)";
    sqlite3_stmt* raw = nullptr;
    const char* sql = has_case_keys ? "SELECT message_id, payload, payload_digest, case_key FROM messages "
                                      "WHERE sealed = 1 ORDER BY seq DESC LIMIT 1"
                                    : "SELECT message_id, payload, payload_digest, 0 FROM messages WHERE sealed = 1 "
                                      "ORDER BY seq DESC LIMIT 1";
    if (sqlite3_prepare_v2(db.get(), sql, -1, &raw, nullptr) != SQLITE_OK) {
      return sqlite_error(what, db.get());
    }
    StmtHandle stmt(raw);
    Query q(db.get(), stmt.get(), what);
    auto row = q.next();
    if (!row) return row.error();
    using Row = std::tuple<std::string, std::string, std::string, std::int64_t>;
    if (!*row) return std::optional<Row>();
    return std::optional<Row>(Row{q.text_at(0), q.blob_at(1), q.text_at(2), q.int64_at(3)});
  }

  // Case key `id` unwrapped with the payload key; nullopt when it was shredded. Only for
  // check_payload_key: the keyring does the unwrapping everywhere else.
  Result<std::optional<std::string>> case_key_for_check(std::int64_t id, const std::string& message_id) {
    const std::string what = "open " + path + " (check payload key)";
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db.get(), "SELECT case_ref, message_id, wrapped_key, shredded_at FROM case_keys WHERE id = ?",
                           -1, &raw, nullptr) != SQLITE_OK) {
      return sqlite_error(what, db.get());
    }
    StmtHandle stmt(raw);
    Query q(db.get(), stmt.get(), what);
    q.int64(id);
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return storage_error(what, "no case key " + std::to_string(id));
    if (q.int64_at(3) != 0) return std::optional<std::string>();
    auto key = open_payload(payload_key, q.blob_at(2), case_key_associated_data(q.text_at(0), q.text_at(1)));
    if (!key) {
      return storage_error("open " + path, "payload_key does not open the newest sealed payload (message " + message_id +
                                               ", its case key " + std::to_string(id) +
                                               "): wrong key, or that row was altered");
    }
    return std::optional<std::string>(std::move(*key));
  }

  // --- the handover log's tree ---
  // The seq of the last event in the file (0 when none).
  Result<std::uint64_t> file_tree_size() {
    auto q = query(read_tree_end, "read log size");
    auto row = q.next();
    if (!row) return row.error();
    return *row ? static_cast<std::uint64_t>(q.int64_at(0)) : std::uint64_t{0};
  }
  // Rebuilds the in-memory tree from the file when it does not have the file's size (at open,
  // and at begin() after another process appended): popcount(size) node reads.
  Result<void> load_tree() {
    auto size = file_tree_size();
    if (!size) return size.error();
    return restore_tree(*size);
  }
  Result<void> restore_tree(std::uint64_t size) {
    tree_deferred = false;
    if (size == tree.size() && !root_hex.empty()) return {};
    if (size == 0) {
      tree = tlog::CompactTree();
    } else {
      TileCache cache;
      auto restored = tlog::CompactTree::restore(size, [&](unsigned level, std::uint64_t index) {
        return read_node(cache, level, index, size, Leaves::kFromEvents);
      });
      if (!restored) return storage_error("read the log's tree", restored.error().detail);
      tree = std::move(*restored);
    }
    root_hex = contracts::hex_of(tree.root());
    return {};
  }
  // A read-only store has its tree's right edge restored only when its root is asked for
  // (log_head): the tools read events and proofs by the tree's size alone, and the restore reads
  // and hashes up to 255 events of the last tile (about a third of a read-only open). When the
  // restore fails (a corrupt block in the tail) the root is "", as for a tool's open before.
  bool tree_deferred = false;
  std::uint64_t deferred_size = 0;  // the file's tree size at open, while tree_deferred
  std::uint64_t tree_size_now() const { return tree_deferred ? deferred_size : tree.size(); }
  void restore_deferred_tree() {
    if (!tree_deferred) return;
    if (auto r = restore_tree(deferred_size); !r) {
      log().warn("store log tree unreadable path={} detail={}", path, r.error().detail);
      root_hex.clear();
    }
  }
  // Calls f(seq, bytes) for each event with from <= seq <= to, ascending, from the blocks; stops
  // early when f returns false.
  template <class F>
  Result<void> each_event_bytes(std::uint64_t from, std::uint64_t to, std::string_view what, F&& f) {
    if (from > to || from > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return {};
    auto q = query(read_blocks_from, what);
    q.int64(static_cast<std::int64_t>(from));
    for (;;) {
      auto row = q.next();
      if (!row) return row.error();
      if (!*row) return {};
      const auto first = static_cast<std::uint64_t>(q.int64_at(0));
      const auto count = static_cast<std::uint64_t>(q.int64_at(1));
      if (first > to) return {};
      const auto* data = static_cast<const char*>(sqlite3_column_blob(read_blocks_from.get(), 2));
      const std::string_view blob(data == nullptr ? "" : data,
                                  static_cast<std::size_t>(sqlite3_column_bytes(read_blocks_from.get(), 2)));
      auto parts = split_block(first, count, blob);
      if (!parts) return storage_error(what, parts.error().detail);
      for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t seq = first + i;
        if (seq < from) continue;
        if (seq > to) return {};
        if (!f(seq, (*parts)[i])) return {};
      }
    }
  }
  // The entries the case index lists under `key`, ascending seq. Where an index row has positions
  // (event_block.h) only those events' bytes are read (BlobReader), each checked against the length
  // prefix before it; a row without them (written before the event index), or whose positions do
  // not match its block, has its block read whole and the events `keep` accepts taken from it (an
  // event that does not decode is taken too, for the caller to name). The bytes are as stored:
  // nothing here decodes what positions point at (verification does).
  template <class Keep>
  Result<std::vector<audit::LogEntry>> indexed_entries(std::string_view key, std::string_view what, Keep&& keep) {
    std::vector<audit::LogEntry> out;
    BlobReader blocks(db.get(), "log_blocks", "events");
    auto q = query(read_case_index, what);
    q.text(key);
    for (;;) {
      auto row = q.next();
      if (!row) return row.error();
      if (!*row) return out;
      const auto first = static_cast<std::uint64_t>(q.int64_at(0));
      const auto count = static_cast<std::uint64_t>(q.int64_at(2));
      if (count == 0) continue;  // a case row whose block is gone: verification names the loss
      const std::size_t kept = out.size();
      if (read_positioned(blocks, first, count, q.blob_at(1), out)) continue;
      out.resize(kept);  // what a mismatched row had added
      if (auto r = whole_block_entries(first, what, keep, out); !r) return r.error();
    }
  }
  // The events `positions` names in the block at `first`, appended to `out`; false when the row
  // has no positions or they do not match the block (the caller reads it whole instead).
  bool read_positioned(BlobReader& blocks, std::uint64_t first, std::uint64_t count, const std::string& positions,
                       std::vector<audit::LogEntry>& out) {
    if (positions.empty()) return false;
    auto parsed = parse_positions(first, positions);
    if (!parsed || !blocks.open(clamp_to_int64(first))) return false;
    for (const auto& p : *parsed) {
      if (p.index >= count) return false;
      // The event with its length prefix in one read: the prefix must say what the positions say.
      audit::LogEntry entry{first + p.index, {}};
      if (!blocks.read(p.offset - 4, std::uint64_t{p.length} + 4, entry.bytes)) return false;
      if (length_prefix(std::string_view(entry.bytes).substr(0, 4)) != p.length) return false;
      entry.bytes.erase(0, 4);
      out.push_back(std::move(entry));
    }
    return true;
  }
  // The events of the block at `first` that `keep` accepts (or that do not decode); none when the
  // block is not there.
  template <class Keep>
  Result<void> whole_block_entries(std::uint64_t first, std::string_view what, Keep& keep,
                                   std::vector<audit::LogEntry>& out) {
    auto q = query(read_block, what);
    q.int64(clamp_to_int64(first));
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return {};
    const auto count = static_cast<std::uint64_t>(q.int64_at(0));
    const std::string blob = q.blob_at(1);
    auto parts = split_block(first, count, blob);
    if (!parts) return storage_error(what, parts.error().detail);
    for (std::uint64_t i = 0; i < count; ++i) {
      auto event = events::decode_event((*parts)[i]);
      if (!event || keep(*event)) out.push_back({first + i, std::string((*parts)[i])});
    }
    return {};
  }
  // indexed_entries decoded; kStorage naming the first event that does not decode.
  template <class Keep>
  Result<std::vector<events::LoggedEvent>> indexed_events(std::string_view key, std::string_view what, Keep&& keep) {
    auto entries = indexed_entries(key, what, keep);
    if (!entries) return entries.error();
    std::vector<events::LoggedEvent> out;
    out.reserve(entries->size());
    for (auto& e : *entries) {
      auto event = decode_stored_event(e.seq, e.bytes, what);
      if (!event) return event.error();
      if (keep(*event)) out.push_back({e.seq, std::move(*event)});
    }
    return out;
  }
  // The complete tiles of stored nodes without their log_node_tiles row (completed before the
  // table was kept), folded and stored, at the owner's open: a 60M-event log has 915 at level 8.
  Result<void> fill_node_tiles() {
    if (!has_node_tiles) return {};
    const std::uint64_t size = tree.size();
    std::uint64_t filled = 0;
    for (unsigned base = kTileLevels; base + kTileLevels < 64 && (size >> (base + kTileLevels)) > 0;
         base += kTileLevels) {
      const std::uint64_t complete = size >> (base + kTileLevels);
      std::vector<std::uint64_t> missing;
      {
        auto q = query(node_tiles_at, "fill tree node tiles");
        q.int64(base);
        std::uint64_t next = 0;  // the first tile index not yet seen
        for (;;) {
          auto row = q.next();
          if (!row) return row.error();
          if (!*row) break;
          const auto t = static_cast<std::uint64_t>(q.int64_at(0));
          for (; next < std::min(t, complete); ++next) missing.push_back(next);
          next = std::max(next, t + 1);
        }
        for (; next < complete; ++next) missing.push_back(next);
      }
      for (const std::uint64_t t : missing) {
        if (auto r = store_node_tile(base, t); !r) return r;
      }
      filled += missing.size();
    }
    if (filled > 0) log().info("tree node tiles stored path={} tiles={}", path, filled);
    return {};
  }
  // Indexes the blocks that hold a `started` event under kStartsKey, once per store: a store
  // whose broker started before starts were indexed is read whole here (at the owner's open).
  Result<void> index_starts() {
    auto indexed = meta(kStartsIndexedMeta);
    if (!indexed) return indexed.error();
    if (*indexed) return {};
    std::vector<std::pair<std::uint64_t, std::string>> blocks;  // first_seq, positions of its starts
    auto q = query(read_blocks_from, "index broker starts");
    q.int64(1);
    for (;;) {
      auto row = q.next();
      if (!row) return row.error();
      if (!*row) break;
      const auto first = static_cast<std::uint64_t>(q.int64_at(0));
      const auto count = static_cast<std::uint64_t>(q.int64_at(1));
      const std::string blob = q.blob_at(2);
      auto parts = split_block(first, count, blob);
      if (!parts) return storage_error("index broker starts", parts.error().detail);
      std::string positions;
      for (std::size_t i = 0; i < parts->size(); ++i) {
        const std::string_view bytes = (*parts)[i];
        auto event = events::decode_event(bytes);
        if (event && event->kind() == events::Kind::kStarted) {
          append_position(positions, {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(bytes.data() - blob.data()),
                                      static_cast<std::uint32_t>(bytes.size())});
        }
      }
      if (!positions.empty()) blocks.emplace_back(first, std::move(positions));
    }
    for (const auto& [first, positions] : blocks) {
      auto insert = query(insert_case_block, "index broker starts");
      insert.text(kStartsKey).int64(clamp_to_int64(first));
      if (has_event_index) insert.blob(positions);
      if (auto r = insert.run(); !r) return r;
    }
    if (auto r = put_meta(kStartsIndexedMeta, "1"); !r) return r;
    log().info("broker starts indexed path={} blocks={}", path, blocks.size());
    return {};
  }
  Result<std::vector<events::LoggedEvent>> events_between(std::uint64_t from, std::uint64_t to, std::string_view what) {
    return decode_stored_events([&](auto&& f) { return each_event_bytes(from, to, what, f); }, what);
  }

  // Where the leaves' tiles come from: log_leaves when a block has its row there (proofs: a wrong
  // stored hash only makes a proof fail), or always the events' own bytes (load_tree: the check at
  // start that the blocks match the last checkpoint must hash what the blocks hold). kFromSources
  // also folds every higher tile from log_tree_nodes, never from log_node_tiles: no shortcut at all
  // (source_tree_reader).
  enum class Leaves { kStored, kFromEvents, kFromSources };

  // Fills tile t at level `base` (tree_tiles.h): the leaves' tile from `leaves`, a higher one
  // from the stored nodes of log_tree_nodes.
  Result<void> read_tile(Tile& tile, unsigned base, std::uint64_t t, std::uint64_t size, Leaves leaves) {
    if (base == 0) {
      const std::uint64_t from = t * kTileWidth + 1;
      const std::uint64_t to = std::min(size, (t + 1) * kTileWidth);
      if (leaves == Leaves::kStored) {
        auto stored = stored_tile(tile, t, from, to);
        if (!stored) return stored.error();
        if (*stored) return {};
        tile = Tile{};  // a block without its hashes (written before log_leaves): hashed from the events
      }
      auto& hashes = tile.levels[0];
      auto r = each_event_bytes(from, to, "read tree leaves", [&](std::uint64_t, std::string_view bytes) {
        hashes.push_back(tlog::leaf_hash(bytes));
        return true;
      });
      if (!r) return r;
      fold(tile);
      return {};
    }
    if (has_node_tiles && leaves != Leaves::kFromSources) {
      auto folded = stored_node_tile(tile, base, t);
      if (!folded) return folded.error();
      if (*folded) return {};
    }
    auto& hashes = tile.levels[0];
    auto q = query(read_nodes, "read tree nodes");
    q.int64(base).int64(clamp_to_int64(t * kTileWidth)).int64(clamp_to_int64((t + 1) * kTileWidth));
    for (;;) {
      auto row = q.next();
      if (!row) return row.error();
      if (!*row) break;
      if (static_cast<std::uint64_t>(q.int64_at(0)) != t * kTileWidth + hashes.size()) break;  // a gap
      auto hash = tlog::hash_from_bytes(q.blob_at(1), "tree node");
      if (!hash) return storage_error("read tree nodes", hash.error().detail);
      hashes.push_back(*hash);
    }
    fold(tile);
    return {};
  }
  // Tile t of stored nodes at level `base` as log_node_tiles keeps it once complete: its levels
  // one after the other, 256, 128, ..., 2 hashes. false when there is no row (the tile is not
  // complete, or completed before the table): then the caller folds it from log_tree_nodes.
  Result<bool> stored_node_tile(Tile& tile, unsigned base, std::uint64_t t) {
    auto q = query(read_node_tile, "read tree node tile");
    q.int64(base).int64(clamp_to_int64(t));
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return false;
    const std::string_view bytes = q.blob_view_at(0);
    if (bytes.size() != kNodeTileBytes) return false;
    std::size_t at = 0;
    for (unsigned j = 0; j < kTileLevels; ++j) {
      auto& level = tile.levels[j];
      level.resize(kTileWidth >> j);
      for (auto& h : level) {
        std::memcpy(h.data(), bytes.data() + at, h.size());
        at += h.size();
      }
    }
    return true;
  }
  // Writes tile t of stored nodes at level `base` folded (log_node_tiles), once the node above
  // it (level base + 8, index t) is stored: its 256 nodes are all in log_tree_nodes then.
  Result<void> store_node_tile(unsigned base, std::uint64_t t) {
    Tile tile;
    if (auto r = read_tile(tile, base, t, 0, Leaves::kStored); !r) return r;
    std::string bytes;
    bytes.reserve(kNodeTileBytes);
    for (unsigned j = 0; j < kTileLevels; ++j) {
      if (tile.levels[j].size() != (kTileWidth >> j)) {
        return storage_error("store tree node tile", "level " + std::to_string(base) + " tile " + std::to_string(t) +
                                                          " is not complete in log_tree_nodes");
      }
      for (const auto& h : tile.levels[j]) bytes.append(reinterpret_cast<const char*>(h.data()), h.size());
    }
    auto q = query(insert_node_tile, "store tree node tile");
    q.int64(base).int64(clamp_to_int64(t)).blob(bytes);
    return q.run();
  }
  // The shortcut rows a proof of leaf `leaf` in a tree of `size` events reads (its leaves' tile in
  // log_leaves, the tiles above it in log_node_tiles) that differ from what they stand for: the
  // tile hashed from the events, folded from log_tree_nodes. Each named by its row, into `out`.
  Result<void> name_damaged_shortcuts(std::uint64_t leaf, std::uint64_t size, std::vector<std::string>& out) {
    auto add = [&](std::string row) {
      if (std::find(out.begin(), out.end(), row) == out.end()) out.push_back(std::move(row));
    };
    // The first level and position where two tiles differ; nullopt when they are the same.
    auto first_difference = [](const Tile& a, const Tile& b) -> std::optional<std::pair<unsigned, std::uint64_t>> {
      for (unsigned j = 0; j < kTileLevels; ++j) {
        const auto& x = a.levels[j];
        const auto& y = b.levels[j];
        for (std::uint64_t p = 0; p < std::max(x.size(), y.size()); ++p) {
          if (p >= x.size() || p >= y.size() || x[p] != y[p]) return std::make_pair(j, p);
        }
      }
      return std::nullopt;
    };
    const std::uint64_t t = leaf / kTileWidth;
    Tile stored;
    auto has_rows = stored_tile(stored, t, t * kTileWidth + 1, std::min(size, (t + 1) * kTileWidth));
    if (!has_rows) return has_rows.error();
    if (*has_rows) {
      Tile hashed;
      if (auto r = read_tile(hashed, 0, t, size, Leaves::kFromEvents); !r) return r;
      if (auto at = first_difference(stored, hashed)) {
        // A node is kept in the row of the block whose append completed it: its last leaf's.
        const std::uint64_t last_seq = t * kTileWidth + ((at->second + 1) << at->first);
        auto q = query(leaf_blocks, "name a damaged log_leaves row");
        q.int64(clamp_to_int64(last_seq)).int64(clamp_to_int64(last_seq));
        auto row = q.next();
        if (!row) return row.error();
        const std::string first = *row ? std::to_string(q.int64_at(0)) : "?";
        add("log_leaves row first_seq=" + first + " (its level-" + std::to_string(at->first) +
            " hash for events up to seq " + std::to_string(last_seq) + " is not the events' own)");
      }
    }
    if (!has_node_tiles) return {};
    for (unsigned base = kTileLevels; base < 64 && (size >> base) != 0; base += kTileLevels) {
      const std::uint64_t nt = base + kTileLevels < 64 ? leaf >> (base + kTileLevels) : 0;
      Tile kept;
      auto found = stored_node_tile(kept, base, nt);
      if (!found) return found.error();
      if (!*found) continue;
      Tile folded;
      if (auto r = read_tile(folded, base, nt, size, Leaves::kFromSources); !r) return r;
      if (first_difference(kept, folded)) {
        add("log_node_tiles row id=" + std::to_string((static_cast<std::uint64_t>(base) << 40) + nt) + " (level " +
            std::to_string(base) + ", tile " + std::to_string(nt) + ": not the fold of its log_tree_nodes)");
      }
    }
    return {};
  }
  // The leaves' tile t (seqs from..to) from the stored tree hashes of the blocks holding those seqs
  // (log_leaves, docs/store-format.md): a block's row holds, level by level from 0 to 7, the hashes
  // its appends completed; the nodes of tile t are in the rows of the blocks holding its seqs. Only
  // log_leaves is read: a row's length gives its block's event count, and the rows of consecutive
  // blocks follow each other without a gap (log_blocks' pages, a third of a tile's reads, are not
  // needed). false when a block has no row, or one of a length no block has, or the rows leave a
  // gap: then the caller hashes the events.
  Result<bool> stored_tile(Tile& tile, std::uint64_t t, std::uint64_t from, std::uint64_t to) {
    if (!has_event_index) return false;
    BlobReader rows(db.get(), "log_leaves", "hashes");
    std::string bytes;
    auto q = query(leaf_blocks, "read tree hashes");
    q.int64(clamp_to_int64(from)).int64(clamp_to_int64(to));
    std::uint64_t next = 0;  // the first seq of the block after the last row read
    for (;;) {
      auto row = q.next();
      if (!row) return row.error();
      if (!*row) break;
      const auto first = static_cast<std::uint64_t>(q.int64_at(0));
      if (first == 0 || (next != 0 && first != next)) return false;  // a block without its row
      auto stored = rows.open(clamp_to_int64(first));
      if (!stored) return stored.error();
      const std::uint64_t a = first - 1;  // the block's leaf indexes a..b
      const std::uint64_t events = *stored % 32 == 0 ? block_events_from_hash_count(a, *stored / 32) : 0;
      if (events == 0) return false;
      const std::uint64_t b = a + events - 1;
      next = first + events;
      std::uint64_t segment = 0;  // where level j's hashes start in the row, in hashes
      for (unsigned j = 0; j < kTileLevels; ++j) {
        const std::uint64_t first_index = a >> j;
        const std::uint64_t count = ((b + 1) >> j) - first_index;
        // The tile's complete nodes at level j, within the tree of `to` leaves.
        const std::uint64_t lo = std::max(first_index, (t * kTileWidth) >> j);
        const std::uint64_t hi = std::min({first_index + count, ((t + 1) * kTileWidth) >> j, to >> j});
        if (lo < hi) {
          auto& level = tile.levels[j];
          if (lo != ((t * kTileWidth) >> j) + level.size()) return false;  // a gap
          if (auto r = rows.read((segment + lo - first_index) * 32, (hi - lo) * 32, bytes); !r) return r.error();
          for (std::size_t at = 0; at < bytes.size(); at += 32) {
            tlog::Hash h;
            std::memcpy(h.data(), bytes.data() + at, h.size());
            level.push_back(h);
          }
        }
        segment += count;
      }
    }
    return tile.levels[0].size() == to - from + 1;
  }
  // A NodeReader over this store (SqliteStore::tree_reader). The tree size its nodes are read in is
  // fixed at its first read: a writer's own tree (with the blocks of its open transaction); for a
  // read-only store the file's size then, which a checkpoint another process (the broker) signed
  // after this store was opened may need: a proof against it reads nodes and leaves past the size
  // this store saw at open.
  tlog::NodeReader node_reader(Leaves leaves);
  // The hash of the complete subtree (level, index) in a tree of `size` events.
  Result<tlog::Hash> read_node(TileCache& cache, unsigned level, std::uint64_t index, std::uint64_t size,
                               Leaves leaves = Leaves::kStored) {
    return cache.node(
        level, index, [&](Tile& tile, unsigned base, std::uint64_t t) { return read_tile(tile, base, t, size, leaves); },
        "log_tree_nodes");
  }

  // Writes the pending events as blocks of at most kBlockBytes (an event larger than that alone):
  // per block its row, one case index row per case with the case's positions, and its tree hashes
  // (leaves and the subtrees below level 8 its appends completed); the tree's new stored nodes; the
  // latest `started` seq. On failure the transaction must be rolled back (rollback() puts the tree
  // back as it was at begin()).
  Result<void> write_block() {
    if (pending.empty()) return {};
    std::uint64_t started = 0;
    std::size_t from = 0;
    while (from < pending.size()) {
      std::size_t to = from + 1;
      std::size_t bytes = pending[from].bytes.size() + 4;
      while (to < pending.size() && bytes + pending[to].bytes.size() + 4 <= kBlockBytes) {
        bytes += pending[to].bytes.size() + 4;
        ++to;
      }
      if (auto r = write_one_block(from, to, bytes, started); !r) return r;
      from = to;
    }
    if (started != 0) {
      if (auto r = put_meta("last_started_seq", std::to_string(started)); !r) return r;
    }
    root_hex = contracts::hex_of(tree.root());
    pending.clear();
    wrote_in_transaction = true;
    if (keep_committed) {
      std::move(unwritten_kept.begin(), unwritten_kept.end(), std::back_inserter(uncommitted));
      unwritten_kept.clear();
    }
    return {};
  }
  // The block of pending[from, to) (`bytes` long): the events appended to the tree, the block's
  // row, its case index rows, its tree hashes (log_leaves), the stored nodes its appends completed.
  Result<void> write_one_block(std::size_t from, std::size_t to, std::size_t bytes, std::uint64_t& started) {
    const std::uint64_t first = tree.size() + 1;
    std::string blob;
    blob.reserve(bytes);
    // Where each case's events (and the starts, under kStartsKey) sit in the block.
    std::map<std::string_view, std::string> positions;
    // The hashes the appends complete at levels 0 to 7, each level's in index order.
    std::array<std::string, kTileLevels> hashes;
    hashes[0].reserve((to - from) * 32);
    Result<void> nodes;
    for (std::size_t i = from; i < to; ++i) {
      const auto& p = pending[i];
      const EventPosition at{static_cast<std::uint32_t>(i - from), append_to_block(blob, p.bytes),
                             static_cast<std::uint32_t>(p.bytes.size())};
      if (!p.case_ref.empty()) append_position(positions[p.case_ref], at);
      if (p.started) append_position(positions[kStartsKey], at);  // a broker start concerns every case
      tree.append(tlog::leaf_hash(p.bytes), [&](unsigned level, std::uint64_t index, const tlog::Hash& h) {
        const std::string_view bytes(reinterpret_cast<const char*>(h.data()), h.size());
        if (level < kTileLevels) {
          hashes[level].append(bytes);
          return;
        }
        if (level % kTileLevels != 0 || !nodes) return;
        auto q = query(insert_node, "append_event (tree node)");
        q.int64(level).int64(clamp_to_int64(index)).blob(bytes);
        nodes = q.run();
        // The tile of nodes below this one is complete: kept folded.
        if (nodes && has_node_tiles && level >= 2 * kTileLevels) nodes = store_node_tile(level - kTileLevels, index);
      });
      if (p.started) started = tree.size();
    }
    if (!nodes) return nodes;
    {
      auto q = query(insert_block, "append_event (write block)");
      q.int64(clamp_to_int64(first))
          .int64(static_cast<std::int64_t>(to - from))
          .int64(pending[from].at)
          .int64(pending[to - 1].at)
          .blob(blob);
      if (auto r = q.run(); !r) return r;
    }
    for (const auto& [c, at] : positions) {
      auto q = query(insert_case_block, "append_event (case index)");
      q.text(c).int64(clamp_to_int64(first)).blob(at);
      if (auto r = q.run(); !r) return r;
    }
    std::string all;
    all.reserve(hashes[0].size() * 2);
    for (const auto& level : hashes) all += level;
    auto q = query(insert_leaves, "append_event (tree hashes)");
    q.int64(clamp_to_int64(first)).blob(all);
    return q.run();
  }
  Result<void> put_meta(std::string_view key, std::string_view value) {
    auto q = query(set_meta, "write meta");
    q.text(key).text(value);
    return q.run();
  }
  Result<std::optional<std::string>> meta(std::string_view key) {
    auto q = query(get_meta, "read meta");
    q.text(key);
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(q.text_at(0));
  }
  // Signs a checkpoint of the tree as it is now and stores it (inside the caller's transaction).
  Result<void> sign_tree(Millis at) {
    if (!signer) return {};
    tlog::Checkpoint cp{origin, tree.size(), tree.root(), std::exchange(next_extensions, {})};
    // The first checkpoint of a converted schema-4 store names the old chain's head.
    if (!has_tree_checkpoint && legacy_anchor_meta) {
      cp.extensions.insert(cp.extensions.begin(), "keten-schema4-head " + std::to_string(legacy_anchor_meta->seq) +
                                                      " " + legacy_anchor_meta->hash);
    }
    auto note = tlog::sign_checkpoint(cp, *signer);
    if (!note) return storage_error("sign checkpoint", note.error().detail);
    auto q = query(insert_tree_checkpoint, "store checkpoint");
    q.int64(at).int64(clamp_to_int64(tree.size())).text(*note);
    if (auto r = q.run(); !r) return r;
    signed_note = std::move(*note);
    return {};
  }

  // The schema-4 chain's value after event `seq` (docs/handover-log-format.md §2), from the
  // nearest known value at or before it: the cursor, the head recorded at conversion, a signed
  // schema-4 checkpoint, or genesis.
  Result<std::string> legacy_hash_at(std::uint64_t seq) {
    LogHead start{0, audit::kGenesisHash};
    if (legacy_cursor.seq <= seq && legacy_cursor.seq >= start.seq) start = legacy_cursor;
    if (legacy_anchor_meta && legacy_anchor_meta->seq <= seq && legacy_anchor_meta->seq > start.seq) {
      start = *legacy_anchor_meta;
    }
    {
      auto q = query(legacy_anchor, "read schema-4 checkpoints");
      q.int64(clamp_to_int64(seq));
      auto row = q.next();
      if (!row) return row.error();
      if (*row && static_cast<std::uint64_t>(q.int64_at(0)) > start.seq) {
        start = LogHead{static_cast<std::uint64_t>(q.int64_at(0)), q.text_at(1)};
      }
    }
    std::string hash = start.hash;
    Result<void> bad;
    auto r = each_event_bytes(start.seq + 1, seq, "schema-4 chain", [&](std::uint64_t at, std::string_view bytes) {
      auto event = decode_stored_event(at, bytes, "schema-4 chain");
      if (!event) {
        bad = event.error();
        return false;
      }
      auto row = legacy_row(at, *event);
      audit::seal(row, hash);
      hash = std::move(row.hash);
      return true;
    });
    if (!r) return r.error();
    if (!bad) return bad.error();
    legacy_cursor = LogHead{seq, hash};
    return hash;
  }
  static LogEvent legacy_row(std::uint64_t seq, const events::Event& event) {
    const events::LegacyRow l = events::to_legacy_row(event);
    LogEvent row;
    row.seq = seq;
    row.at = l.at;
    row.event = l.event;
    row.message_id = l.message_id;
    row.contract = l.contract;
    row.version = l.version;
    row.case_ref = l.case_ref;
    row.sender = l.sender;
    row.recipient = l.recipient;
    row.delivery_id = l.delivery_id;
    row.payload_digest = l.payload_digest;
    row.detail = l.detail;
    return row;
  }
  // Rows of `events` (ascending seq) with the schema-4 chain filled in.
  Result<std::vector<LogEvent>> chained_rows(const std::vector<events::LoggedEvent>& events) {
    std::vector<LogEvent> rows;
    rows.reserve(events.size());
    std::string prev;
    std::uint64_t prev_seq = 0;
    for (const auto& e : events) {
      if (prev.empty() || e.seq != prev_seq + 1) {
        auto h = legacy_hash_at(e.seq - 1);
        if (!h) return h.error();
        prev = std::move(*h);
      }
      auto row = legacy_row(e.seq, e.event);
      audit::seal(row, prev);
      prev = row.hash;
      prev_seq = e.seq;
      rows.push_back(std::move(row));
    }
    if (!rows.empty() && rows.back().seq >= legacy_cursor.seq) legacy_cursor = LogHead{rows.back().seq, rows.back().hash};
    return rows;
  }

  // Schema 4 -> 5, inside the schema transaction: every handover_log row, in seq order, becomes
  // a typed event (events::from_legacy_row) in blocks of up to 4096, after its hash is checked
  // against the chain (a log that no longer verifies is not converted); the old chain's head is
  // kept in meta (schema4_head) for the first checkpoint; the old table is dropped.
  Result<void> migrate_v4(const std::string& what) {
    auto has_log = query_text("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'handover_log'", what);
    if (!has_log) return has_log.error();
    if (has_log->value_or("0") == "0") return exec("UPDATE meta SET value = '5' WHERE key = 'schema_version'", what);
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db.get(), kV4LogSelect, -1, &raw, nullptr) != SQLITE_OK) return sqlite_error(what, db.get());
    StmtHandle select(raw);
    std::string head = audit::kGenesisHash;
    std::uint64_t seq = 0;
    for (;;) {
      std::vector<Pending> batch;
      {
        Query q(db.get(), select.get(), what);
        q.int64(clamp_to_int64(seq));
        for (;;) {
          auto row = q.next();
          if (!row) return row.error();
          if (!*row) break;
          LogEvent r;
          r.seq = static_cast<std::uint64_t>(q.int64_at(0));
          r.at = q.int64_at(1);
          r.event = q.text_at(2);
          r.message_id = q.text_at(3);
          r.contract = q.text_at(4);
          r.version = static_cast<std::uint32_t>(q.int64_at(5));
          r.case_ref = q.text_at(6);
          r.sender = q.text_at(7);
          r.recipient = q.text_at(8);
          r.delivery_id = q.int64_at(9);
          r.payload_digest = q.text_at(10);
          r.detail = q.text_at(11);
          r.prev_hash = q.text_at(12);
          r.hash = q.text_at(13);
          const std::string at_row = " (schema-4 row seq " + std::to_string(r.seq) + ")";
          if (r.seq != seq + 1) {
            return storage_error(what, "the schema-4 handover log has no row seq " + std::to_string(seq + 1) +
                                           " (the next is " + std::to_string(r.seq) +
                                           "): rows were removed; the store is not converted");
          }
          LogEvent check = r;
          audit::seal(check, head);
          if (check.hash != r.hash) {
            return storage_error(what, "the schema-4 handover log's row seq " + std::to_string(r.seq) +
                                           " does not match its chain: the row was altered; the store is not converted");
          }
          auto event = events::from_legacy_row(events::LegacyRow{r.at, r.event, r.message_id, r.contract, r.version,
                                                                 r.case_ref, r.sender, r.recipient, r.delivery_id,
                                                                 r.payload_digest, r.detail});
          if (!event) return storage_error(what + at_row, event.error().detail);
          head = r.hash;
          seq = r.seq;
          batch.push_back({events::encode_event(*event), r.at, r.case_ref, event->kind() == events::Kind::kStarted});
        }
      }
      if (batch.empty()) break;
      pending = std::move(batch);
      if (auto r = write_block(); !r) return r;
    }
    wrote_in_transaction = false;
    if (seq > 0) {
      legacy_anchor_meta = LogHead{seq, head};
      if (auto r = put_meta("schema4_head", std::to_string(seq) + " " + head); !r) return r;
    }
    log().info("store converted path={} schema-4 handover log rows={} head={}", path, seq, head);
    return exec(
        "DROP TABLE handover_log; DELETE FROM sqlite_sequence WHERE name = 'handover_log'; "
        "UPDATE meta SET value = '5' WHERE key = 'schema_version'",
        what + " (drop handover_log)");
  }
  // The log's origin from meta (log_id), made when missing and the store is writable.
  Result<void> load_origin() {
    auto id = meta("log_id");
    if (!id) return id.error();
    if (!*id) {
      if (read_only) {
        origin = "keten/unnamed";
        return {};
      }
      std::random_device random;
      char text[17];
      std::snprintf(text, sizeof text, "%08x%08x", random(), random());
      if (auto r = put_meta("log_id", text); !r) return r;
      *id = text;
    }
    origin = "keten/" + **id;
    auto anchor = meta("schema4_head");
    if (!anchor) return anchor.error();
    if (*anchor) {
      const auto space = (*anchor)->find(' ');
      std::uint64_t seq = 0;
      if (space != std::string::npos) std::from_chars((*anchor)->data(), (*anchor)->data() + space, seq);
      if (space == std::string::npos || seq == 0) return storage_error("open " + path, "unreadable meta schema4_head");
      legacy_anchor_meta = LogHead{seq, (*anchor)->substr(space + 1)};
    }
    auto latest = query(latest_note, "read checkpoints");
    auto row = latest.next();
    if (!row) return row.error();
    has_tree_checkpoint = *row;
    if (*row) last_signed_size = static_cast<std::uint64_t>(latest.int64_at(1));
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
    auto delivery = read_outbound(q, what, payload_key, ring());
    if (!delivery) return delivery.error();
    return std::optional<OutboundDelivery>(std::move(*delivery));
  }

  Result<void> prepare_all() {
    // The delivery indexes hold only undelivered rows (WHERE state IN (0, 1)), so they stay the
    // size of the backlog however long the history grows. SQLite uses a partial index only when
    // the query repeats its WHERE term literally ("state = 0" alone does not imply it), hence the
    // redundant "state IN (0, 1)" in the statements below.
    const std::string next_pending_sql =
        outbound_select(true, has_case_keys) +
        "WHERE d.recipient = ? AND d.state = 0 AND d.state IN (0, 1) AND d.id < ? ORDER BY d.id LIMIT ?";
    const std::string find_outbound_sql = outbound_select(true, has_case_keys) + "WHERE d.id = ?";
    const std::string find_delivery_header_sql = outbound_select(false, has_case_keys) + "WHERE d.id = ?";
    const std::string insert_message_sql = std::string(
        "INSERT INTO messages (message_id, contract, version, case_ref, sender, correlation_id,"
        " causation_id, supersedes, occurred_at, recorded_at, accepted_at, requested_recipients,"
        " recipients, payload, payload_digest, log_seq, origin, sealed") +
        (has_case_keys ? ", case_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                       : ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    const std::string find_message_content_sql = std::string(
        "SELECT message_id, contract, version, case_ref, recipients, correlation_id, causation_id,"
        " supersedes, occurred_at, recorded_at, origin, requested_recipients, sender, payload,"
        " payload_digest, log_seq, accepted_at, sealed, ") +
        (has_case_keys ? "case_key" : "0") + " FROM messages WHERE message_id = ?";
    const std::pair<StmtHandle*, const char*> statements[] = {
        {&begin, "BEGIN IMMEDIATE"},
        {&commit, "COMMIT"},
        {&rollback, "ROLLBACK"},
        {&find_message,
         "SELECT seq, message_id, sender, payload_digest, recipients, log_seq, accepted_at"
         " FROM messages WHERE message_id = ?"},
        {&insert_message, insert_message_sql.c_str()},
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
        {&insert_block, "INSERT INTO log_blocks (first_seq, count, first_at, last_at, events) VALUES (?, ?, ?, ?, ?)"},
        // OR REPLACE: a row of the same block can only be left from a log cut back behind the store's
        // back (docs/store-format.md, "Checks at start"); the new block's index replaces it.
        {&insert_case_block, has_event_index
                                 ? "INSERT OR REPLACE INTO log_case_blocks (case_ref, first_seq, positions) VALUES (?, ?, ?)"
                                 : "INSERT OR IGNORE INTO log_case_blocks (case_ref, first_seq) VALUES (?, ?)"},
        {&insert_leaves,
         has_event_index ? "INSERT OR REPLACE INTO log_leaves (first_seq, hashes) VALUES (?, ?)" : "SELECT 1"},
        {&insert_node, "INSERT INTO log_tree_nodes (level, idx, hash) VALUES (?, ?, ?)"},
        {&insert_node_tile, has_node_tiles ? "INSERT OR REPLACE INTO log_node_tiles (id, level, idx, hashes) VALUES ((?1 << 40) + ?2, ?1, ?2, ?3)"
                                           : "SELECT 1"},
        {&insert_tree_checkpoint, "INSERT INTO tree_checkpoints (at, size, note) VALUES (?, ?, ?)"},
        // From the block holding ?1 on, through the primary key.
        {&read_blocks_from,
         "SELECT first_seq, count, events FROM log_blocks WHERE first_seq >= "
         "coalesce((SELECT max(first_seq) FROM log_blocks WHERE first_seq <= ?1), 1) ORDER BY first_seq"},
        // With each block's count (0: no such block, as a truncated log has); first_seq and count
        // come from the block row's first page, never its events.
        {&read_case_index, has_event_index
                               ? "SELECT c.first_seq, c.positions, coalesce(b.count, 0) FROM log_case_blocks c"
                                 " LEFT JOIN log_blocks b ON b.first_seq = c.first_seq WHERE c.case_ref = ?"
                                 " ORDER BY c.first_seq"
                               : "SELECT c.first_seq, x'', coalesce(b.count, 0) FROM log_case_blocks c"
                                 " LEFT JOIN log_blocks b ON b.first_seq = c.first_seq WHERE c.case_ref = ?"
                                 " ORDER BY c.first_seq"},
        {&read_block, "SELECT count, events FROM log_blocks WHERE first_seq = ?"},
        // The log_leaves rows of the blocks holding seqs ?1..?2, from the last row at or before ?1.
        {&leaf_blocks, has_event_index
                           ? "SELECT first_seq FROM log_leaves WHERE first_seq >= "
                             "coalesce((SELECT max(first_seq) FROM log_leaves WHERE first_seq <= ?1), 1)"
                             " AND first_seq <= ?2 ORDER BY first_seq"
                           : "SELECT 1"},
        {&read_nodes, "SELECT idx, hash FROM log_tree_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx"},
        {&read_node_tile,
         has_node_tiles ? "SELECT hashes FROM log_node_tiles WHERE id = (?1 << 40) + ?2" : "SELECT NULL WHERE 0"},
        {&node_tiles_at,
         has_node_tiles ? "SELECT idx FROM log_node_tiles WHERE id >= (?1 << 40) AND id < ((?1 + 1) << 40) ORDER BY id" : "SELECT NULL WHERE 0"},
        {&read_tree_end, "SELECT first_seq + count - 1 FROM log_blocks ORDER BY first_seq DESC LIMIT 1"},
        {&blocks_before, "SELECT first_seq, count, events FROM log_blocks WHERE first_seq < ? ORDER BY first_seq DESC"},
        {&message_log_seq, "SELECT log_seq FROM messages WHERE message_id = ?"},
        {&latest_note, "SELECT note, size FROM tree_checkpoints ORDER BY id DESC LIMIT 1"},
        {&all_notes, "SELECT note FROM tree_checkpoints ORDER BY id"},
        {&set_meta,
         "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"},
        {&get_meta, "SELECT value FROM meta WHERE key = ?"},
        {&legacy_anchor,
         "SELECT log_seq, head_hash FROM checkpoints WHERE log_seq <= ? ORDER BY log_seq DESC, id DESC LIMIT 1"},
        {&find_message_content, find_message_content_sql.c_str()},
        {&append_checkpoint,
         "INSERT INTO checkpoints (at, log_seq, head_hash, public_key, signature)"
         " VALUES (?, ?, ?, ?, ?)"},
        {&read_checkpoints,
         "SELECT id, at, log_seq, head_hash, public_key, signature FROM checkpoints ORDER BY id"},
    };
    for (const auto& [stmt, sql] : statements) {
      if (auto r = prepare(*stmt, sql); !r) return r;
    }
    return {};
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
  // A writer that syncs every commit gathers its log writes into one per commit (wal_gathering.h).
  const char* vfs = !options.read_only && options.sync_full && !in_memory ? wal_gathering_vfs() : nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, vfs);
  DbHandle db(raw);  // sqlite3_open_v2 may hand back a handle even when it fails
  if (rc != SQLITE_OK) return sqlite_error("open " + path, db.get());
  sqlite3_extended_result_codes(db.get(), 1);
  const auto timeout =
      std::clamp<std::chrono::milliseconds::rep>(options.busy_timeout.count(), 0, INT_MAX);
  sqlite3_busy_timeout(db.get(), static_cast<int>(timeout));

  auto impl = std::make_unique<Impl>();
  impl->busy_timeout_ms = static_cast<int>(timeout);
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
  if (impl->read_only) {  // ensure_schema prepared them for a writer
    if (auto r = impl->detect_case_keys("open " + path); !r) return r.error();
    if (auto r = impl->detect_event_index("open " + path); !r) return r.error();
    if (auto r = impl->prepare_all(); !r) return r.error();
  }
  if (impl->has_case_keys) {
    auto ring = CaseKeyring::open(impl->db.get(), impl->payload_key);
    if (!ring) return storage_error("open " + path, ring.error().detail);
    impl->keyring.emplace(std::move(*ring));
  }
  if (auto r = impl->load_origin(); !r) return r.error();
  if (!options.signing_seed.empty()) {
    auto signer = tlog::make_signer(impl->origin, options.signing_seed);
    if (!signer) return storage_error("open " + path + " (signing key)", signer.error().detail);
    impl->signer = std::move(*signer);
  }
  impl->clock = options.clock;
  if (impl->read_only) {
    auto size = impl->file_tree_size();
    if (!size) return storage_error("open " + path, size.error().detail);
    impl->tree_deferred = true;
    impl->deferred_size = *size;
  } else if (auto r = impl->load_tree(); !r) {
    // The broker refuses the store (a corrupt block in the tail it must extend). A tool still
    // opens it to read what can be read: every write fails until the tree loads (begin()).
    // A file SQLite itself cannot read (damaged pages) is refused to everyone, as before.
    const bool block_only = r.error().detail.find("handover log block at seq") != std::string::npos;
    if (owner || !block_only) {
      return storage_error(owner ? "store " + path : "open " + path,
                           r.error().detail +
                               "; restore the store from a backup (docs/operations.md, \"Recovering a damaged store\")");
    }
    log().warn("store log tree unreadable path={} detail={}; writes to the log will fail", path, r.error().detail);
    impl->root_hex.clear();
  }
  if (auto r = impl->check_payload_key(); !r) return r.error();
  SqliteStore store(std::move(impl));
  if (owner) {
    TailCheck check;
    check.mark = lock->previous_mark();
    check.lock_path = lock->path().string();
    if (const auto& head = store.impl_->legacy_anchor_meta) check.schema4_head = CommitMark{head->seq, head->hash};
    if (!lock->unreadable().empty()) {
      log().warn("store lock file unreadable path={} detail={}; the committed high-water mark is not checked",
                 check.lock_path, lock->unreadable());
    }
    const auto started = std::chrono::steady_clock::now();
    if (auto r = check_log_tail(store, path, check); !r) return r.error();
    log().info("store log tail ok path={} head={} ms={}", path, store.log_head().seq,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
    // Events a tool appended after the last checkpoint (check_log_tail let them through), or a
    // log never signed before: signed now, so that the log's whole length is covered.
    if (store.impl_->signer && store.impl_->tree.size() > 0 &&
        (!store.impl_->has_tree_checkpoint || store.impl_->last_signed_size != store.impl_->tree.size())) {
      auto transaction = Transaction::begin(store);
      if (!transaction) return transaction.error();
      store.impl_->wrote_in_transaction = true;
      if (auto r = transaction->commit(); !r) return r.error();
    }
    if (auto r = store.begin(); !r) return r.error();
    if (auto r = store.impl_->index_starts();
        !r || !(r = store.impl_->fill_node_tiles()) || !(r = store.commit())) {
      store.rollback();
      return r.error();
    }
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
  impl_->unwritten_kept.clear();
  impl_->pending.clear();
  impl_->wrote_in_transaction = false;
  if (auto r = impl_->query(impl_->begin, "begin").run(); !r) return r;
  // The write lock is ours now; another process may have appended since our last transaction.
  if (auto r = impl_->load_tree(); !r) {
    rollback();
    return r;
  }
  impl_->tree_at_begin = impl_->tree;
  return {};
}

Result<void> SqliteStore::commit() {
  if (auto r = impl_->write_block(); !r) return r;
  const bool sign = impl_->wrote_in_transaction && impl_->signer;
  if (sign) {
    if (auto r = impl_->sign_tree(impl_->clock ? impl_->clock() : contracts::now_millis()); !r) return r;
  }
  if (auto r = impl_->query(impl_->commit, "commit").run(); !r) return r;
  if (impl_->keyring) impl_->keyring->transaction_ended(true);
  impl_->wrote_in_transaction = false;
  impl_->next_extensions.clear();
  impl_->tree_at_begin = impl_->tree;
  if (sign) {
    impl_->has_tree_checkpoint = true;
    impl_->last_signed_size = impl_->tree.size();
    // Only the owner is the one signer of its store; anyone else reads the table.
    if (impl_->lock) impl_->committed_note = std::move(impl_->signed_note);
  }
  if (impl_->lock) impl_->lock->record({impl_->tree.size(), impl_->root_hex});
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
  impl_->unwritten_kept.clear();
  impl_->uncommitted.clear();
  impl_->committed.clear();
}

std::vector<events::LoggedEvent> SqliteStore::take_committed_events() {
  return std::exchange(impl_->committed, {});
}

void SqliteStore::rollback() {
  impl_->next_extensions.clear();
  impl_->uncommitted.clear();
  impl_->unwritten_kept.clear();
  impl_->pending.clear();
  impl_->wrote_in_transaction = false;
  // The rolled-back blocks are gone, and so are the leaves they added.
  impl_->tree = impl_->tree_at_begin;
  impl_->root_hex = contracts::hex_of(impl_->tree.root());
  if (impl_->keyring) impl_->keyring->transaction_ended(false);
  if (sqlite3_get_autocommit(impl_->db.get())) return;  // no transaction open
  if (auto r = impl_->query(impl_->rollback, "rollback").run(); !r) {
    log().error("rollback failed path={} detail={}", impl_->path, r.error().detail);
  }
}

Result<SqliteStore::ReadSnapshot> SqliteStore::read_snapshot() {
  if (sqlite3_get_autocommit(impl_->db.get()) == 0) return ReadSnapshot(nullptr);
  if (auto r = impl_->exec("BEGIN", "read_snapshot (begin)"); !r) return r.error();
  return ReadSnapshot(impl_->db.get());
}

SqliteStore::ReadSnapshot::~ReadSnapshot() {
  if (db_ == nullptr || sqlite3_get_autocommit(db_) != 0) return;
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    log().warn("read snapshot: COMMIT failed, rolled back detail={}", sqlite3_errmsg(db_));
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
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

Result<std::int64_t> SqliteStore::insert_message(const NewMessage& message) {
  auto requested =
      encode_strings(message.header.recipients, "insert_message (requested recipients)");
  if (!requested) return requested.error();
  auto recipients = encode_strings(message.recipients, "insert_message (recipients)");
  if (!recipients) return recipients.error();
  const contracts::Header& h = message.header;
  // With a payload key every payload is sealed, under its case's key (case_keys.h).
  std::string sealed;
  std::int64_t case_key = 0;
  const bool seal = message.seal || (impl_->keyring && impl_->keyring->enabled());
  if (seal) {
    const std::string what = "insert_message (message " + h.message_id + ")";
    if (impl_->payload_key.empty()) {
      return storage_error(what, "the payload must be sealed and no payload key is configured (payload_key)");
    }
    if (!impl_->keyring) return storage_error(what, "the store has no case keys (opened read-only?)");
    auto key = impl_->keyring->key_for_new(h.case_ref, h.message_id, message.accepted_at);
    if (!key) return storage_error(what, key.error().detail);
    case_key = key->first;
    auto box = seal_payload(key->second, message.payload, payload_associated_data(h.message_id, message.payload_digest));
    wipe(key->second);
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
      .blob(seal ? std::string_view(sealed) : std::string_view(message.payload))
      .text(message.payload_digest)
      .int64(clamp_to_int64(message.log_seq))
      .text(h.origin)
      .int64(seal ? 1 : 0);
  if (impl_->has_case_keys) q.int64(case_key);
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
    auto delivery = read_outbound(q, "next_pending", impl_->payload_key, impl_->ring());
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
  auto payload = stored_payload(std::move(m.payload), q.int64_at(17) != 0, q.int64_at(18), impl_->ring(),
                                impl_->payload_key, m.header.message_id, m.payload_digest, "find_message_content");
  if (payload) {
    m.payload = std::move(*payload);
  } else {
    m.payload.clear();
    m.unreadable = payload.error().detail;
  }
  return std::optional<StoredMessage>(std::move(m));
}


Result<std::uint64_t> SqliteStore::append_event(events::Event event) {
  if (sqlite3_get_autocommit(impl_->db.get())) {
    // Outside a transaction: one of its own, committed now.
    if (auto r = begin(); !r) return r.error();
    auto seq = append_event(std::move(event));
    if (!seq) {
      rollback();
      return seq;
    }
    if (auto r = commit(); !r) {
      rollback();
      return r.error();
    }
    return seq;
  }
  const std::uint64_t seq = impl_->tree.size() + impl_->pending.size() + 1;
  Impl::Pending p{events::encode_event(event), event.at, event.case_ref, event.kind() == events::Kind::kStarted};
  impl_->pending.push_back(std::move(p));
  if (impl_->keep_committed) impl_->unwritten_kept.push_back({seq, std::move(event)});
  return seq;
}

Result<std::uint64_t> SqliteStore::append_log(LogEvent row) {
  auto event = events::from_legacy_row(events::LegacyRow{row.at, row.event, row.message_id, row.contract, row.version,
                                                         row.case_ref, row.sender, row.recipient, row.delivery_id,
                                                         row.payload_digest, row.detail});
  if (!event) return storage_error("append_log", event.error().detail);
  return append_event(std::move(*event));
}

Result<std::vector<events::LoggedEvent>> SqliteStore::read_events(std::uint64_t from_seq, std::size_t limit) {
  if (auto r = impl_->write_block(); !r) return r.error();  // this transaction's own events too
  if (limit == 0) return std::vector<events::LoggedEvent>();
  from_seq = std::max<std::uint64_t>(from_seq, 1);
  const std::uint64_t to = limit > std::numeric_limits<std::uint64_t>::max() - from_seq
                               ? std::numeric_limits<std::uint64_t>::max()
                               : from_seq + limit - 1;
  return impl_->events_between(from_seq, to, "read_events");
}

namespace {

bool is_start(const events::Event& e) { return e.kind() == events::Kind::kStarted; }

}  // namespace

Result<std::vector<events::LoggedEvent>> SqliteStore::read_case_events(std::string_view case_ref) {
  if (auto r = impl_->write_block(); !r) return r.error();
  if (case_ref.empty()) return std::vector<events::LoggedEvent>{};
  return impl_->indexed_events(case_ref, "read_case_events",
                               [&](const events::Event& e) { return e.case_ref == case_ref; });
}

Result<std::vector<audit::LogEntry>> SqliteStore::read_case_entries(std::string_view case_ref) {
  if (auto r = impl_->write_block(); !r) return r.error();
  if (case_ref.empty()) return std::vector<audit::LogEntry>{};
  return impl_->indexed_entries(case_ref, "read_case_entries",
                                [&](const events::Event& e) { return e.case_ref == case_ref; });
}

Result<std::vector<audit::LogEntry>> SqliteStore::read_start_entries() {
  if (auto r = impl_->write_block(); !r) return r.error();
  auto indexed = impl_->meta(kStartsIndexedMeta);
  if (!indexed) return indexed.error();
  if (*indexed) return impl_->indexed_entries(kStartsKey, "read_start_entries", is_start);
  // Not indexed yet (a store no broker of this version has opened): the whole log, read once.
  std::vector<audit::LogEntry> out;
  auto r = impl_->each_event_bytes(1, impl_->tree_size_now(), "read_start_entries", [&](std::uint64_t seq, std::string_view bytes) {
    auto event = events::decode_event(bytes);
    if (!event || is_start(*event)) out.push_back({seq, std::string(bytes)});
    return true;
  });
  if (!r) return r.error();
  return out;
}

Result<std::vector<events::LoggedEvent>> SqliteStore::read_started_events() {
  auto entries = read_start_entries();
  if (!entries) return entries.error();
  std::vector<events::LoggedEvent> out;
  for (auto& e : *entries) {
    auto event = events::decode_event(e.bytes);
    if (!event) {
      return storage_error("read_started_events", "handover log event seq " + std::to_string(e.seq) +
                                                      " is corrupt (its bytes are not an event): " + event.error().detail);
    }
    if (is_start(*event)) out.push_back({e.seq, std::move(*event)});
  }
  return out;
}

Result<std::optional<std::string>> SqliteStore::latest_checkpoint_note() {
  if (impl_->committed_note) return impl_->committed_note;
  auto q = impl_->query(impl_->latest_note, "latest_checkpoint_note");
  auto row = q.next();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(q.text_at(0));
}

Result<std::vector<std::string>> SqliteStore::read_tree_checkpoints() {
  auto q = impl_->query(impl_->all_notes, "read_tree_checkpoints");
  std::vector<std::string> out;
  for (;;) {
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(q.text_at(0));
  }
}

void SqliteStore::extend_next_checkpoint(std::string line) { impl_->next_extensions.push_back(std::move(line)); }

bool SqliteStore::sign_uncovered_at_commit() {
  if (!impl_->signer || impl_->tree.size() == 0) return false;
  if (impl_->has_tree_checkpoint && impl_->last_signed_size == impl_->tree.size()) return false;
  impl_->wrote_in_transaction = true;  // as open() does for a tail tools appended while it was stopped
  return true;
}

std::uint64_t SqliteStore::tree_size() const { return impl_->tree_size_now(); }

tlog::NodeReader SqliteStore::Impl::node_reader(Leaves leaves) {
  auto cache = std::make_shared<TileCache>();
  auto size = std::make_shared<std::optional<std::uint64_t>>();
  return [this, cache, size, leaves](unsigned level, std::uint64_t index) -> Result<tlog::Hash> {
    if (auto r = write_block(); !r) return r.error();
    if (!*size) {
      std::uint64_t n = tree_size_now();
      if (read_only) {
        auto in_file = file_tree_size();
        if (!in_file) return in_file.error();
        n = std::max(n, *in_file);
      }
      *size = n;
    }
    return read_node(*cache, level, index, **size, leaves);
  };
}

tlog::NodeReader SqliteStore::tree_reader() { return impl_->node_reader(Impl::Leaves::kStored); }

tlog::NodeReader SqliteStore::event_tree_reader() { return impl_->node_reader(Impl::Leaves::kFromEvents); }

tlog::NodeReader SqliteStore::source_tree_reader() { return impl_->node_reader(Impl::Leaves::kFromSources); }

audit::ShortcutCheck SqliteStore::shortcut_check() {
  return {source_tree_reader(), [this](std::uint64_t seq, std::uint64_t size) { return damaged_shortcuts(seq, size); }};
}

Result<std::vector<std::string>> SqliteStore::damaged_shortcuts(std::uint64_t seq, std::uint64_t size) {
  std::vector<std::string> out;
  if (seq == 0 || size == 0 || seq > size) return out;
  if (auto r = impl_->write_block(); !r) return r.error();
  // The proof reads the tiles on its leaf's path, and those on the tree's right edge (the subtree
  // of the events after the leaf's).
  for (std::uint64_t leaf : {seq - 1, size - 1}) {
    if (auto r = impl_->name_damaged_shortcuts(leaf, size, out); !r) return r.error();
  }
  return out;
}

const std::string& SqliteStore::log_origin() const { return impl_->origin; }

std::optional<tlog::NoteVerifier> SqliteStore::checkpoint_verifier() const {
  if (!impl_->signer) return std::nullopt;
  return impl_->signer->verifier;
}

Result<std::vector<LogEvent>> SqliteStore::read_log(std::uint64_t from_seq, std::size_t limit) {
  auto events = read_events(from_seq, limit);
  if (!events) return events.error();
  return impl_->chained_rows(*events);
}

Result<std::vector<LogEvent>> SqliteStore::read_case_log(std::string_view case_ref) {
  auto events = read_case_events(case_ref);
  if (!events) return events.error();
  return impl_->chained_rows(*events);
}

Result<std::optional<events::LoggedEvent>> SqliteStore::last_started_event() {
  if (auto r = impl_->write_block(); !r) return r.error();
  auto seq = impl_->meta("last_started_seq");
  if (!seq) return seq.error();
  if (!*seq) return std::optional<events::LoggedEvent>();
  std::uint64_t n = 0;
  std::from_chars((*seq)->data(), (*seq)->data() + (*seq)->size(), n);
  auto events = read_events(n, 1);
  if (!events) return events.error();
  if (events->empty() || events->front().seq != n || events->front().event.kind() != events::Kind::kStarted) {
    return storage_error("last_started_event", "meta last_started_seq " + **seq + " is not a started event");
  }
  return std::optional<events::LoggedEvent>(std::move(events->front()));
}

Result<std::uint64_t> SqliteStore::log_seq_since(Millis at) {
  if (auto r = impl_->write_block(); !r) return r.error();
  std::uint64_t first = 0;  // the oldest event seen so far that is at or after `at`; 0 = none yet
  auto q = impl_->query(impl_->blocks_before, "log_seq_since");
  q.int64(std::numeric_limits<std::int64_t>::max());
  for (;;) {
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return first == 0 ? impl_->tree_size_now() + 1 : first;
    const auto block_first = static_cast<std::uint64_t>(q.int64_at(0));
    const auto count = static_cast<std::uint64_t>(q.int64_at(1));
    const std::string blob = q.blob_at(2);
    auto parts = split_block(block_first, count, blob);
    if (!parts) return storage_error("log_seq_since", parts.error().detail);
    for (std::uint64_t i = count; i-- > 0;) {
      auto event = decode_stored_event(block_first + i, (*parts)[i], "log_seq_since");
      if (!event) return event.error();
      if (event->at < at) return block_first + i + 1;
      first = block_first + i;
    }
  }
}

Result<std::optional<events::LoggedEvent>> SqliteStore::accepted_event(std::string_view message_id) {
  if (auto r = impl_->write_block(); !r) return r.error();
  std::uint64_t seq = 0;
  {
    auto q = impl_->query(impl_->message_log_seq, "accepted_event");
    q.text(message_id);
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return std::optional<events::LoggedEvent>();
    seq = static_cast<std::uint64_t>(q.int64_at(0));
  }
  if (seq == 0) return std::optional<events::LoggedEvent>();
  auto events = read_events(seq, 1);
  if (!events) return events.error();
  if (events->empty() || events->front().seq != seq || events->front().event.kind() != events::Kind::kAccepted ||
      events->front().event.message_id != message_id) {
    return std::optional<events::LoggedEvent>();
  }
  return std::optional<events::LoggedEvent>(std::move(events->front()));
}

LogHead SqliteStore::log_head() const {
  impl_->restore_deferred_tree();
  return LogHead{impl_->tree.size() + impl_->pending.size(), impl_->root_hex};
}

Result<LogHead> SqliteStore::legacy_log_head() {
  if (auto r = impl_->write_block(); !r) return r.error();
  const std::uint64_t size = impl_->tree_size_now();
  auto hash = impl_->legacy_hash_at(size);
  if (!hash) return hash.error();
  return LogHead{size, std::move(*hash)};
}

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
  if (auto r = impl_->write_block(); !r) return r.error();
  // One read transaction, so events and checkpoints are one snapshot.
  const bool own_transaction = sqlite3_get_autocommit(impl_->db.get()) != 0;
  if (own_transaction) {
    if (auto r = impl_->exec("BEGIN", "read_log_data (begin)"); !r) return r.error();
  }
  auto result = [&]() -> Result<void> {
    constexpr std::size_t kPage = 10'000;
    std::uint64_t from = 1;
    std::string prev = audit::kGenesisHash;
    for (;;) {
      auto page = impl_->events_between(from, from + kPage - 1, "read_log_data");
      if (!page) return page.error();
      for (const auto& e : *page) {
        auto row = Impl::legacy_row(e.seq, e.event);
        audit::seal(row, prev);
        prev = row.hash;
        data.rows.push_back(std::move(row));
      }
      if (page->size() < kPage) break;
      from += kPage;
    }
    auto checkpoints = read_checkpoints();
    if (!checkpoints) return checkpoints.error();
    data.checkpoints = std::move(*checkpoints);
    if (!data.checkpoints.empty()) data.public_key = data.checkpoints.back().public_key;
    auto size = impl_->file_tree_size();
    if (!size) return size.error();
    data.high_water = *size;
    return {};
  }();
  if (own_transaction) sqlite3_exec(impl_->db.get(), "COMMIT", nullptr, nullptr, nullptr);
  if (!result) return result.error();
  return data;
}

sqlite3* SqliteStore::connection() { return impl_->db.get(); }

bool SqliteStore::has_case_keys() const { return impl_->has_case_keys; }

Result<void> SqliteStore::shred_case_key(std::int64_t key_id, Millis at, std::string_view reason) {
  const std::string what = "shred case key " + std::to_string(key_id);
  if (!impl_->has_case_keys) return storage_error(what, "the store has no case keys");
  // secure_delete for this statement only: the old wrapped key's bytes are overwritten in the page.
  if (auto r = impl_->exec("PRAGMA secure_delete = ON", what); !r) return r;
  sqlite3_stmt* raw = nullptr;
  Result<void> result;
  if (sqlite3_prepare_v2(impl_->db.get(),
                         "UPDATE case_keys SET wrapped_key = x'', shredded_at = ?, shred_reason = ? "
                         "WHERE id = ? AND shredded_at = 0",
                         -1, &raw, nullptr) != SQLITE_OK) {
    result = sqlite_error(what, impl_->db.get());
  } else {
    StmtHandle stmt(raw);
    Query q(impl_->db.get(), stmt.get(), what);
    q.int64(at).text(reason).int64(key_id);
    result = q.run();
    if (result && sqlite3_changes64(impl_->db.get()) == 0) result = storage_error(what, "no live case key with that id");
  }
  const auto off = impl_->exec("PRAGMA secure_delete = OFF", what);
  if (!result) return result;
  if (!off) return off;
  if (impl_->keyring) impl_->keyring->forget(key_id);
  return {};
}

Result<void> SqliteStore::truncate_wal() {
  int log_frames = 0, checkpointed = 0;
  // A TRUNCATE checkpoint waits for readers through the busy handler: not here, where the caller
  // is the broker loop. A reader in the way makes it fail now; the caller tries again later.
  sqlite3_busy_timeout(impl_->db.get(), 0);
  const int rc = sqlite3_wal_checkpoint_v2(impl_->db.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                           &checkpointed);
  auto error = rc != SQLITE_OK ? std::optional<Error>(sqlite_error("checkpoint (truncate) " + impl_->path, impl_->db.get()))
                               : std::nullopt;
  sqlite3_busy_timeout(impl_->db.get(), impl_->busy_timeout_ms);
  if (error) return *error;
  return {};
}

}  // namespace broker::store
