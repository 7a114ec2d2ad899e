#include "broker/store/pg_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <limits>
#include <random>
#include <utility>

#include "broker/ha/fence.h"
#include "broker/store/log.h"
#include "broker/store/pg_store_impl.h"
#include "broker/store/row_values.h"
#include "broker/store/seal.h"
#include "broker/store/store_check.h"

namespace broker::store {
namespace pg {

contracts::Error storage_error(std::string_view what, std::string_view detail) {
  std::string text;
  text.reserve(what.size() + 2 + detail.size());
  text.append(what).append(": ").append(detail);
  return contracts::Error{contracts::ErrorCode::kStorage, std::move(text)};
}

std::string to_bytea(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 + 2 * bytes.size());
  out += "\\x";
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

contracts::Result<std::string> from_bytea(std::string_view text, std::string_view what) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) {
    return storage_error(what, "a bytea value not in hex form");
  }
  std::string out;
  out.reserve(text.size() / 2 - 1);
  for (std::size_t at = 2; at < text.size(); at += 2) {
    const int hi = hex_digit(text[at]), lo = hex_digit(text[at + 1]);
    if (hi < 0 || lo < 0) return storage_error(what, "a bytea value not in hex form");
    out += static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::int64_t int_at(const ha::PgRow& row, std::size_t column) {
  std::int64_t value = 0;
  if (column < row.size()) std::from_chars(row[column].data(), row[column].data() + row[column].size(), value);
  return value;
}

std::string bigint(std::uint64_t value) {
  return std::to_string(std::min<std::uint64_t>(value, std::numeric_limits<std::int64_t>::max()));
}

}  // namespace pg

namespace {

using contracts::Error;
using contracts::ErrorCode;
using ha::PgRow;
using pg::int_at;
using pg::storage_error;

// Two instances starting at once would race in CREATE TABLE IF NOT EXISTS: a transaction-scoped
// advisory lock serialises the creation (as leader_lease.cpp's, another arbitrary fixed key).
const std::string kSchemaLockKey = "7809911223849705330";
// begin() takes this one for the transaction: the write lock, so that two instances never append
// to the log at once (the second waits, then reloads the tree).
const std::string kWriteLockKey = "7809911223849705331";

// The tables (docs/store-format.md, "On PostgreSQL"): SqliteStore's, prefixed keten_, with
// identity columns for the ids that must never be reused, bytea for blobs, and the log's tables
// append-only through a trigger. One statement each (libpq's extended protocol runs one at a time).
const char* const kSchema[] = {
    "CREATE TABLE IF NOT EXISTS keten_meta (key text PRIMARY KEY, value text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS keten_messages ("
    " seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, message_id text NOT NULL UNIQUE,"
    " contract text NOT NULL, version bigint NOT NULL, case_ref text NOT NULL, sender text NOT NULL,"
    " correlation_id text NOT NULL, causation_id text NOT NULL, supersedes text NOT NULL,"
    " occurred_at bigint NOT NULL, recorded_at bigint NOT NULL, accepted_at bigint NOT NULL,"
    " requested_recipients text NOT NULL, recipients text NOT NULL, payload bytea NOT NULL,"
    " payload_digest text NOT NULL, log_seq bigint NOT NULL, origin text NOT NULL,"
    " sealed smallint NOT NULL DEFAULT 0 CHECK (sealed IN (0, 1)))",
    "CREATE INDEX IF NOT EXISTS keten_messages_by_case ON keten_messages (case_ref, seq)",
    "CREATE TABLE IF NOT EXISTS keten_deliveries ("
    " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " message_seq bigint NOT NULL REFERENCES keten_messages (seq), recipient text NOT NULL,"
    " state smallint NOT NULL CHECK (state IN (0, 1, 2, 3)), attempts bigint NOT NULL,"
    " last_attempt_at bigint NOT NULL, acked_at bigint NOT NULL, dead_at bigint NOT NULL,"
    " UNIQUE (message_seq, recipient))",
    "CREATE INDEX IF NOT EXISTS keten_deliveries_open_by_recipient ON keten_deliveries (recipient, state, id)"
    " WHERE state IN (0, 1)",
    "CREATE INDEX IF NOT EXISTS keten_deliveries_open_by_state ON keten_deliveries (state, recipient)"
    " WHERE state IN (0, 1)",
    "CREATE INDEX IF NOT EXISTS keten_deliveries_dead_by_recipient ON keten_deliveries (recipient, dead_at)"
    " WHERE state = 3",
    "CREATE TABLE IF NOT EXISTS keten_log_blocks (first_seq bigint PRIMARY KEY CHECK (first_seq >= 1),"
    " count bigint NOT NULL CHECK (count >= 1), first_at bigint NOT NULL, last_at bigint NOT NULL,"
    " events bytea NOT NULL)",
    "CREATE TABLE IF NOT EXISTS keten_log_case_blocks (case_ref text NOT NULL, first_seq bigint NOT NULL,"
    " positions bytea NOT NULL, PRIMARY KEY (case_ref, first_seq))",
    "CREATE TABLE IF NOT EXISTS keten_log_tree_nodes (level integer NOT NULL, idx bigint NOT NULL,"
    " hash bytea NOT NULL CHECK (length(hash) = 32), PRIMARY KEY (level, idx))",
    "CREATE TABLE IF NOT EXISTS keten_tree_checkpoints (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " at bigint NOT NULL, size bigint NOT NULL, note text NOT NULL)",
    "CREATE OR REPLACE FUNCTION keten_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$",
    "CREATE OR REPLACE TRIGGER keten_log_blocks_append_only BEFORE UPDATE OR DELETE ON keten_log_blocks"
    " FOR EACH ROW EXECUTE FUNCTION keten_append_only()",
    "CREATE OR REPLACE TRIGGER keten_log_case_blocks_append_only BEFORE UPDATE OR DELETE ON keten_log_case_blocks"
    " FOR EACH ROW EXECUTE FUNCTION keten_append_only()",
    "CREATE OR REPLACE TRIGGER keten_log_tree_nodes_append_only BEFORE UPDATE OR DELETE ON keten_log_tree_nodes"
    " FOR EACH ROW EXECUTE FUNCTION keten_append_only()",
    "CREATE OR REPLACE TRIGGER keten_tree_checkpoints_append_only BEFORE UPDATE OR DELETE ON keten_tree_checkpoints"
    " FOR EACH ROW EXECUTE FUNCTION keten_append_only()",
    // The tables beside the messages (TrackingTables and ProcessedReports on PostgreSQL:
    // tracking_pg.cpp, processed_reports_pg.cpp), made here under the same lock.
    "CREATE TABLE IF NOT EXISTS keten_norm_keys (pointer text NOT NULL, case_key text NOT NULL,"
    " message_id text NOT NULL, contract text NOT NULL, accepted_at bigint NOT NULL,"
    " PRIMARY KEY (pointer, case_key, message_id))",
    "CREATE TABLE IF NOT EXISTS keten_norm_watch (message_id text PRIMARY KEY, due_at bigint NOT NULL)",
    "CREATE INDEX IF NOT EXISTS keten_norm_watch_by_due ON keten_norm_watch (due_at)",
    "CREATE TABLE IF NOT EXISTS keten_norm_recorded (key text PRIMARY KEY,"
    " state smallint NOT NULL CHECK (state IN (1, 2)))",
    // Only the consent messages, which the consent register is rebuilt from at start (SQLite's
    // messages_consent; keten_messages_by_contract held every message's contract).
    "DROP INDEX IF EXISTS keten_messages_by_contract",
    "CREATE INDEX IF NOT EXISTS keten_messages_consent ON keten_messages (seq)"
    " WHERE contract IN ('consent.registered', 'consent.withdrawn')",
    "CREATE TABLE IF NOT EXISTS keten_processed_reports (delivery_id bigint PRIMARY KEY,"
    " outcome smallint NOT NULL CHECK (outcome = 1 OR outcome = 2), at bigint NOT NULL, log_seq bigint NOT NULL)",
    // Every contract version's text the broker served, by digest (contract_history.h).
    "CREATE TABLE IF NOT EXISTS keten_contract_texts (contract text NOT NULL, version bigint NOT NULL,"
    " digest text NOT NULL, text text NOT NULL, file text NOT NULL,"
    " builtin smallint NOT NULL CHECK (builtin IN (0, 1)), first_loaded_at bigint NOT NULL,"
    " PRIMARY KEY (contract, version, digest))",
    "INSERT INTO keten_meta (key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING",
};

// The columns read_outbound() reads, in its order; without the payload an empty unsealed one.
std::string outbound_select(bool with_payload) {
  return std::string(
             "SELECT d.id, d.recipient, d.attempts, m.message_id, m.contract, m.version, m.case_ref,"
             " m.recipients, m.correlation_id, m.causation_id, m.supersedes, m.occurred_at, m.recorded_at,"
             " m.sender, ") +
         (with_payload ? "m.payload" : "'\\x'::bytea") + ", m.payload_digest, m.accepted_at, m.origin, " +
         (with_payload ? "m.sealed" : "0") +
         " FROM keten_deliveries AS d JOIN keten_messages AS m ON m.seq = d.message_seq ";
}

// The stored payload as the reader gets it: opened under the payload key when sealed.
Result<std::string> stored_payload(std::string bytes, bool sealed, std::string_view key, std::string_view message_id,
                                   std::string_view digest, std::string_view what) {
  if (!sealed) return bytes;
  const std::string where = std::string(what) + " (message " + std::string(message_id) + ")";
  if (key.empty()) return storage_error(where, "the payload is sealed and no payload key is configured (payload_key)");
  auto plain = open_payload(key, bytes, payload_associated_data(message_id, digest));
  if (!plain) return storage_error(where, plain.error().detail);
  return plain;
}

// One row of outbound_select().
Result<OutboundDelivery> read_outbound(const PgRow& row, std::string_view what, std::string_view key) {
  OutboundDelivery out;
  out.delivery_id = int_at(row, 0);
  out.recipient = row[1];
  out.attempts = static_cast<std::uint32_t>(int_at(row, 2));
  out.header.message_id = row[3];
  out.header.contract = row[4];
  out.header.version = static_cast<std::uint32_t>(int_at(row, 5));
  out.header.case_ref = row[6];
  auto recipients = decode_strings(row[7], what);
  if (!recipients) return recipients.error();
  out.header.recipients = std::move(*recipients);
  out.header.correlation_id = row[8];
  out.header.causation_id = row[9];
  out.header.supersedes = row[10];
  out.header.occurred_at = int_at(row, 11);
  out.header.recorded_at = int_at(row, 12);
  out.sender = row[13];
  auto bytes = pg::from_bytea(row[14], what);
  if (!bytes) return bytes.error();
  out.payload_digest = row[15];
  out.accepted_at = int_at(row, 16);
  out.header.origin = row[17];
  auto payload =
      stored_payload(std::move(*bytes), int_at(row, 18) != 0, key, out.header.message_id, out.payload_digest, what);
  if (payload) {
    out.payload = std::move(*payload);
  } else {
    out.unreadable = payload.error().detail;
  }
  return out;
}

}  // namespace

PgStore::Impl::~Impl() {
  if (!conn.is_broken() && conn.in_transaction()) {
    log().warn("postgresql store closed with an open transaction; its writes are discarded");
  }
}

Result<void> PgStore::Impl::configure_session() {
  if (auto r = ha::limit_idle_transactions(conn, idle_limit); !r) return r;
  // A lock held by a frozen writer of another instance (the advisory write lock, a row) is waited
  // for at most this long: the statement fails and the turn is refused instead of hanging.
  if (auto r = query("set lock_timeout", "SET lock_timeout = " + std::to_string(idle_limit.count())); !r) {
    return r.error();
  }
  // from_bytea reads the hex form, whatever the server's default.
  if (auto r = query("set bytea_output", "SET bytea_output = 'hex'"); !r) return r.error();
  return {};
}

Result<void> PgStore::Impl::ensure_schema() {
  if (auto r = query("create schema: begin", "BEGIN"); !r) return r.error();
  auto fail = [this](const Error& error) -> Result<void> {
    if (!conn.is_broken()) (void)query("create schema: rollback", "ROLLBACK");
    return error;
  };
  if (auto r = query("create schema: lock", "SELECT pg_advisory_xact_lock(" + kSchemaLockKey + ")"); !r) {
    return fail(r.error());
  }
  for (const char* sql : kSchema) {
    if (auto r = query("create schema", sql); !r) return fail(r.error());
  }
  // The log's origin: 16 random hex digits, drawn by the first instance (as SqliteStore's log_id).
  std::random_device random;
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", random(), random());
  if (auto r = query("create schema: log id",
                     "INSERT INTO keten_meta (key, value) VALUES ('log_id', $1) ON CONFLICT (key) DO NOTHING", {text});
      !r) {
    return fail(r.error());
  }
  auto id = query("create schema: log id", "SELECT value FROM keten_meta WHERE key = 'log_id'");
  if (!id) return fail(id.error());
  if (id->empty()) return fail(storage_error("create schema", "keten_meta has no log_id"));
  origin = "keten/" + (*id)[0][0];
  if (auto r = query("create schema: commit", "COMMIT"); !r) return r.error();
  return {};
}

Result<void> PgStore::Impl::read_schema() {
  if (auto r = query("open read-only", "SET default_transaction_read_only = on"); !r) return r.error();
  auto tables = query("open read-only", "SELECT to_regclass('keten_meta') IS NOT NULL");
  if (!tables) return tables.error();
  if (tables->empty() || tables->front()[0] != "t") {
    return storage_error("open postgresql store", "the database holds no Keten store (no keten_meta table)");
  }
  auto rows = query("open read-only", "SELECT key, value FROM keten_meta WHERE key IN ('log_id', 'payload_key_check')");
  if (!rows) return rows.error();
  std::string check;
  for (const auto& row : *rows) {
    if (row[0] == "log_id") origin = "keten/" + row[1];
    if (row[0] == "payload_key_check") check = row[1];
  }
  if (origin.empty()) return storage_error("open postgresql store", "keten_meta has no log_id");
  if (!payload_key.empty() && !check.empty() && !key_check_opens(payload_key, check)) {
    return storage_error("open postgresql store",
                         "payload_key does not open the store's key check (keten_meta payload_key_check): not the key "
                         "this store's payloads are sealed with");
  }
  return {};
}

Result<void> PgStore::Impl::check_payload_key() {
  if (payload_key.empty()) return {};
  auto check = make_key_check(payload_key);
  if (!check) return check.error();
  // The first open with a key records it; a race between two first opens keeps one record.
  if (auto r =
          query("check payload key",
                "INSERT INTO keten_meta (key, value) VALUES ('payload_key_check', $1) ON CONFLICT (key) DO NOTHING",
                {*check});
      !r) {
    return r.error();
  }
  auto stored = query("check payload key", "SELECT value FROM keten_meta WHERE key = 'payload_key_check'");
  if (!stored) return stored.error();
  if (stored->empty() || !key_check_opens(payload_key, stored->front()[0])) {
    return storage_error("open postgresql store",
                         "payload_key does not open the store's key check (keten_meta payload_key_check): not the key "
                         "this store's payloads are sealed with");
  }
  return {};
}

void PgStore::Impl::forget_transaction() {
  next_extensions.clear();
  uncommitted.clear();
  unwritten_kept.clear();
  pending.clear();
  wrote_in_transaction = false;
  tree = tree_at_begin;
  root_hex = contracts::hex_of(tree.root());
}

PgStore::PgStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgStore::PgStore(PgStore&&) noexcept = default;
PgStore& PgStore::operator=(PgStore&&) noexcept = default;
PgStore::~PgStore() = default;

Result<PgStore> PgStore::open(const PgStoreOptions& options) {
  if (!options.payload_key.empty() && options.payload_key.size() != kPayloadKeyBytes) {
    return storage_error("open postgresql store", "payload key must be " + std::to_string(kPayloadKeyBytes) +
                                                      " bytes, not " + std::to_string(options.payload_key.size()));
  }
  auto conn = ha::PgConnection::open(options.conninfo);
  if (!conn) return conn.error();
  auto impl = std::make_unique<Impl>(std::move(*conn));
  impl->payload_key = options.payload_key;
  impl->epoch = options.epoch;
  impl->clock = options.clock;
  impl->idle_limit = options.idle_transaction_limit;
  if (auto r = impl->configure_session(); !r) return r.error();
  if (options.read_only) {
    if (auto r = impl->read_schema(); !r) return r.error();
  } else {
    if (auto r = impl->ensure_schema(); !r) return r.error();
    if (auto r = impl->check_payload_key(); !r) return r.error();
  }
  if (!options.signing_seed.empty()) {
    auto signer = tlog::make_signer(impl->origin, options.signing_seed);
    if (!signer) return storage_error("open postgresql store (signing key)", signer.error().detail);
    impl->signer = std::move(*signer);
  }
  // The tree and the newest checkpoint from one snapshot: another instance committing in between
  // would otherwise leave a checkpoint over more events than the tree just loaded.
  if (auto r = impl->query("open: snapshot", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !r) return r.error();
  auto loaded = impl->load_tree(/*force=*/true);
  if (loaded) loaded = impl->check_newest_checkpoint();
  if (auto r = impl->query("open: end snapshot", loaded ? "COMMIT" : "ROLLBACK"); !r && loaded) return r.error();
  if (!loaded) return loaded.error();
  impl->tree_at_begin = impl->tree;
  log().info("postgresql store opened origin={} events={} fenced_epoch={}", impl->origin, impl->tree.size(),
             options.epoch ? std::to_string(options.epoch->value) : std::string("none"));
  PgStore store(std::move(impl));
  if (options.epoch && !options.read_only) {
    // A leader (a broker) extends the log: its tail is checked first, as a SQLite broker's is
    // (store_check.h): every event after the last checkpoint decodes and is a tool's, and the
    // newest events match the tree nodes stored over them.
    const auto started = std::chrono::steady_clock::now();
    if (auto r =
            check_log_against_checkpoint(store, store.tree_reader(), "postgresql store", options.tail_check_events);
        !r) {
      return r.error();
    }
    log().info(
        "postgresql store log tail ok head={} ms={}", store.tree_size(),
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  }
  return store;
}

bool PgStore::is_broken() const { return impl_->conn.is_broken(); }

Result<void> PgStore::reconnect() {
  impl_->forget_transaction();
  if (auto r = impl_->conn.reconnect(); !r) return r;
  if (auto r = impl_->configure_session(); !r) return r;
  if (auto r = impl_->load_tree(/*force=*/true); !r) return r;
  impl_->tree_at_begin = impl_->tree;
  log().info("postgresql store reconnected events={}", impl_->tree.size());
  return {};
}

Result<void> PgStore::begin() {
  if (!impl_->conn.is_broken() && impl_->conn.in_transaction()) {
    return storage_error("begin", "a transaction is already open");
  }
  impl_->forget_transaction();
  if (impl_->conn.is_broken()) {
    if (auto r = reconnect(); !r) return r;
  }
  if (auto r = impl_->query("begin", "BEGIN"); !r) return r.error();
  auto steps = [&]() -> Result<void> {
    if (auto r = impl_->query("begin (write lock)", "SELECT pg_advisory_xact_lock(" + kWriteLockKey + ")"); !r) {
      return r.error();
    }
    // The lock is ours now; another instance may have appended since our last transaction.
    return impl_->load_tree();
  };
  if (auto r = steps(); !r) {
    rollback();
    return r;
  }
  impl_->tree_at_begin = impl_->tree;
  return {};
}

Result<void> PgStore::commit() {
  Impl& s = *impl_;
  if (s.conn.is_broken()) {
    return storage_error("commit", "the connection to PostgreSQL was lost; the transaction is gone (roll back)");
  }
  if (!s.conn.in_transaction()) return storage_error("commit", "no transaction is open");
  if (auto r = s.write_block(); !r) return r;
  const bool sign = s.wrote_in_transaction && s.signer;
  if (sign) {
    if (auto r = s.sign_tree(s.clock ? s.clock() : contracts::now_millis()); !r) return r;
  }
  // Last before COMMIT, so that the lease row's lock lasts only until COMMIT (fence.h).
  if (s.epoch) {
    if (auto r = ha::check_fence(s.conn, *s.epoch); !r) return r;
  }
  // PostgreSQL answers COMMIT of an aborted transaction with a rollback, not an error.
  if (s.conn.transaction_failed()) {
    return storage_error("commit", "a statement of the transaction failed; roll it back");
  }
  if (auto r = s.query("commit", "COMMIT"); !r) return r.error();
  s.wrote_in_transaction = false;
  s.next_extensions.clear();
  s.tree_at_begin = s.tree;
  if (sign) {
    s.has_tree_checkpoint = true;
    s.last_signed_size = s.tree.size();
  }
  std::move(s.uncommitted.begin(), s.uncommitted.end(), std::back_inserter(s.committed));
  s.uncommitted.clear();
  return {};
}

void PgStore::rollback() {
  impl_->forget_transaction();
  if (impl_->conn.is_broken() || !impl_->conn.in_transaction()) return;
  if (auto r = impl_->query("rollback", "ROLLBACK"); !r) {
    log().error("postgresql store rollback failed detail={}", r.error().detail);
  }
}

void PgStore::keep_committed_log(bool keep) {
  impl_->keep_committed = keep;
  impl_->unwritten_kept.clear();
  impl_->uncommitted.clear();
  impl_->committed.clear();
}

std::vector<events::LoggedEvent> PgStore::take_committed_events() { return std::exchange(impl_->committed, {}); }

// --- messages ---

Result<std::optional<AcceptedMessage>> PgStore::find_message(std::string_view message_id) {
  auto rows = impl_->query("find_message",
                           "SELECT seq, message_id, sender, payload_digest, recipients, log_seq, accepted_at"
                           " FROM keten_messages WHERE message_id = $1",
                           {std::string(message_id)});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<AcceptedMessage>();
  const PgRow& row = rows->front();
  AcceptedMessage message;
  message.seq = int_at(row, 0);
  message.message_id = row[1];
  message.sender = row[2];
  message.payload_digest = row[3];
  auto recipients = decode_strings(row[4], "find_message (recipients)");
  if (!recipients) return recipients.error();
  message.recipients = std::move(*recipients);
  message.log_seq = static_cast<std::uint64_t>(int_at(row, 5));
  message.accepted_at = int_at(row, 6);
  return std::optional<AcceptedMessage>(std::move(message));
}

Result<std::int64_t> PgStore::insert_message(const NewMessage& message) {
  auto requested = encode_strings(message.header.recipients, "insert_message (requested recipients)");
  if (!requested) return requested.error();
  auto recipients = encode_strings(message.recipients, "insert_message (recipients)");
  if (!recipients) return recipients.error();
  const contracts::Header& h = message.header;
  // With a payload key every payload is sealed, directly under it (no case keys here yet).
  const bool seal = message.seal || !impl_->payload_key.empty();
  std::string stored = message.payload;
  if (seal) {
    const std::string what = "insert_message (message " + h.message_id + ")";
    if (impl_->payload_key.empty()) {
      return storage_error(what, "the payload must be sealed and no payload key is configured (payload_key)");
    }
    auto box = seal_payload(impl_->payload_key, message.payload,
                            payload_associated_data(h.message_id, message.payload_digest));
    if (!box) return storage_error(what, box.error().detail);
    stored = std::move(*box);
  }
  auto rows = impl_->query(
      "insert_message",
      "INSERT INTO keten_messages (message_id, contract, version, case_ref, sender, correlation_id, causation_id,"
      " supersedes, occurred_at, recorded_at, accepted_at, requested_recipients, recipients, payload, payload_digest,"
      " log_seq, origin, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
      " $18) RETURNING seq",
      {h.message_id, h.contract, std::to_string(h.version), h.case_ref, message.sender, h.correlation_id,
       h.causation_id, h.supersedes, std::to_string(h.occurred_at), std::to_string(h.recorded_at),
       std::to_string(message.accepted_at), *requested, *recipients, pg::to_bytea(stored), message.payload_digest,
       pg::bigint(message.log_seq), h.origin, seal ? "1" : "0"});
  if (!rows) return rows.error();
  return int_at(rows->front(), 0);
}

Result<std::optional<StoredMessage>> PgStore::find_message_content(std::string_view message_id) {
  auto rows = impl_->query(
      "find_message_content",
      "SELECT message_id, contract, version, case_ref, recipients, correlation_id, causation_id, supersedes,"
      " occurred_at, recorded_at, origin, requested_recipients, sender, payload, payload_digest, log_seq, accepted_at,"
      " sealed FROM keten_messages WHERE message_id = $1",
      {std::string(message_id)});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<StoredMessage>();
  const PgRow& row = rows->front();
  StoredMessage m;
  m.header.message_id = row[0];
  m.header.contract = row[1];
  m.header.version = static_cast<std::uint32_t>(int_at(row, 2));
  m.header.case_ref = row[3];
  auto recipients = decode_strings(row[4], "find_message_content (recipients)");
  if (!recipients) return recipients.error();
  m.header.recipients = std::move(*recipients);
  m.header.correlation_id = row[5];
  m.header.causation_id = row[6];
  m.header.supersedes = row[7];
  m.header.occurred_at = int_at(row, 8);
  m.header.recorded_at = int_at(row, 9);
  m.header.origin = row[10];
  auto requested = decode_strings(row[11], "find_message_content (requested recipients)");
  if (!requested) return requested.error();
  m.requested_recipients = std::move(*requested);
  m.sender = row[12];
  auto bytes = pg::from_bytea(row[13], "find_message_content");
  if (!bytes) return bytes.error();
  m.payload_digest = row[14];
  m.log_seq = static_cast<std::uint64_t>(int_at(row, 15));
  m.accepted_at = int_at(row, 16);
  auto payload = stored_payload(std::move(*bytes), int_at(row, 17) != 0, impl_->payload_key, m.header.message_id,
                                m.payload_digest, "find_message_content");
  if (payload) {
    m.payload = std::move(*payload);
  } else {
    m.unreadable = payload.error().detail;
  }
  return std::optional<StoredMessage>(std::move(m));
}

// --- deliveries ---

Result<std::int64_t> PgStore::insert_delivery(std::int64_t message_seq, std::string_view recipient) {
  auto rows = impl_->query("insert_delivery",
                           "INSERT INTO keten_deliveries (message_seq, recipient, state, attempts, last_attempt_at,"
                           " acked_at, dead_at) VALUES ($1, $2, 0, 0, 0, 0, 0) RETURNING id",
                           {std::to_string(message_seq), std::string(recipient)});
  if (!rows) return rows.error();
  return int_at(rows->front(), 0);
}

Result<std::int64_t> PgStore::insert_delivery_sent(std::int64_t message_seq, std::string_view recipient, Millis at) {
  auto rows = impl_->query("insert_delivery_sent",
                           "INSERT INTO keten_deliveries (message_seq, recipient, state, attempts, last_attempt_at,"
                           " acked_at, dead_at) VALUES ($1, $2, 1, 1, $3, 0, 0) RETURNING id",
                           {std::to_string(message_seq), std::string(recipient), std::to_string(at)});
  if (!rows) return rows.error();
  return int_at(rows->front(), 0);
}

Result<std::vector<OutboundDelivery>> PgStore::next_pending(std::string_view recipient, std::size_t limit,
                                                            std::int64_t before_id) {
  std::vector<OutboundDelivery> out;
  if (limit == 0) return out;
  auto rows = impl_->query(
      "next_pending",
      outbound_select(true) + "WHERE d.recipient = $1 AND d.state = 0 AND d.id < $2 ORDER BY d.id LIMIT $3",
      {std::string(recipient), std::to_string(before_id), pg::bigint(limit)});
  if (!rows) return rows.error();
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    auto delivery = read_outbound(row, "next_pending", impl_->payload_key);
    if (!delivery) return delivery.error();
    out.push_back(std::move(*delivery));
  }
  return out;
}

Result<std::optional<OutboundDelivery>> PgStore::Impl::one_outbound(bool with_payload, std::int64_t delivery_id,
                                                                    const std::string& what) {
  auto rows = query(what, outbound_select(with_payload) + "WHERE d.id = $1", {std::to_string(delivery_id)});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<OutboundDelivery>();
  auto delivery = read_outbound(rows->front(), what, payload_key);
  if (!delivery) return delivery.error();
  return std::optional<OutboundDelivery>(std::move(*delivery));
}

Result<void> PgStore::Impl::update_delivery(const std::string& what, const std::string& set, std::int64_t id,
                                            std::vector<std::string> params) {
  params.insert(params.begin(), std::to_string(id));
  auto rows = query(what, "UPDATE keten_deliveries SET " + set + " WHERE id = $1 RETURNING id", params);
  if (!rows) return rows.error();
  if (rows->empty()) return storage_error(what, "no delivery with id " + std::to_string(id));
  return {};
}

namespace {

Result<DeliveryCounts> counts_of(const std::vector<PgRow>& rows) {
  DeliveryCounts counts;
  for (const auto& row : rows) {
    auto state = to_state(int_at(row, 0), "count_deliveries");
    if (!state) return state.error();
    const std::int64_t n = int_at(row, 1);
    switch (*state) {
      case DeliveryState::kPending: counts.pending = n; break;
      case DeliveryState::kInFlight: counts.in_flight = n; break;
      case DeliveryState::kAcked: counts.acked = n; break;
      case DeliveryState::kDead: counts.dead = n; break;
    }
  }
  return counts;
}

}  // namespace

Result<std::optional<OutboundDelivery>> PgStore::find_outbound(std::int64_t delivery_id) {
  return impl_->one_outbound(true, delivery_id, "find_outbound");
}

Result<std::optional<OutboundDelivery>> PgStore::find_delivery_header(std::int64_t delivery_id) {
  return impl_->one_outbound(false, delivery_id, "find_delivery_header");
}

Result<std::optional<Delivery>> PgStore::find_delivery(std::int64_t delivery_id) {
  auto rows = impl_->query("find_delivery",
                           "SELECT id, message_seq, recipient, state, attempts, last_attempt_at, acked_at, dead_at"
                           " FROM keten_deliveries WHERE id = $1",
                           {std::to_string(delivery_id)});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<Delivery>();
  const PgRow& row = rows->front();
  Delivery delivery;
  delivery.id = int_at(row, 0);
  delivery.message_seq = int_at(row, 1);
  delivery.recipient = row[2];
  auto state = to_state(int_at(row, 3), "find_delivery");
  if (!state) return state.error();
  delivery.state = *state;
  delivery.attempts = static_cast<std::uint32_t>(int_at(row, 4));
  delivery.last_attempt_at = int_at(row, 5);
  delivery.acked_at = int_at(row, 6);
  delivery.dead_at = int_at(row, 7);
  return std::optional<Delivery>(std::move(delivery));
}

Result<void> PgStore::mark_in_flight(std::int64_t delivery_id, std::uint32_t attempts, Millis at) {
  return impl_->update_delivery("mark_in_flight", "state = 1, attempts = $2, last_attempt_at = $3", delivery_id,
                                {std::to_string(attempts), std::to_string(at)});
}

Result<void> PgStore::mark_acked(std::int64_t delivery_id, Millis at) {
  return impl_->update_delivery("mark_acked", "state = 2, acked_at = $2", delivery_id, {std::to_string(at)});
}

Result<void> PgStore::mark_pending(std::int64_t delivery_id) {
  return impl_->update_delivery("mark_pending", "state = 0", delivery_id, {});
}

Result<void> PgStore::mark_dead(std::int64_t delivery_id, Millis at) {
  return impl_->update_delivery("mark_dead", "state = 3, dead_at = $2", delivery_id, {std::to_string(at)});
}

Result<std::int64_t> PgStore::reset_in_flight(std::string_view recipient) {
  auto rows =
      recipient.empty()
          ? impl_->query("reset_in_flight",
                         "WITH reset AS (UPDATE keten_deliveries SET state = 0 WHERE state = 1 RETURNING 1)"
                         " SELECT count(*) FROM reset")
          : impl_->query("reset_in_flight",
                         "WITH reset AS (UPDATE keten_deliveries SET state = 0 WHERE state = 1 AND recipient = $1"
                         " RETURNING 1) SELECT count(*) FROM reset",
                         {std::string(recipient)});
  if (!rows) return rows.error();
  return int_at(rows->front(), 0);
}

Result<DeliveryCounts> PgStore::count_deliveries(std::string_view recipient) {
  auto rows = recipient.empty()
                  ? impl_->query("count_deliveries", "SELECT state, count(*) FROM keten_deliveries GROUP BY state")
                  : impl_->query("count_deliveries",
                                 "SELECT state, count(*) FROM keten_deliveries WHERE recipient = $1 GROUP BY state",
                                 {std::string(recipient)});
  if (!rows) return rows.error();
  return counts_of(*rows);
}

// Byte order, whatever the database's collation: COLLATE "C".
Result<std::vector<std::string>> PgStore::recipients_with_pending() {
  auto rows = impl_->query("recipients_with_pending",
                           "SELECT DISTINCT recipient COLLATE \"C\" AS r FROM keten_deliveries WHERE state = 0"
                           " ORDER BY r");
  if (!rows) return rows.error();
  std::vector<std::string> out;
  out.reserve(rows->size());
  for (auto& row : *rows) out.push_back(std::move(row[0]));
  return out;
}

Result<std::vector<RecipientBacklog>> PgStore::backlog() {
  auto rows = impl_->query("backlog",
                           "SELECT d.recipient COLLATE \"C\" AS r, count(*), min(m.accepted_at) FROM keten_deliveries d"
                           " JOIN keten_messages m ON m.seq = d.message_seq WHERE d.state IN (0, 1)"
                           " GROUP BY r ORDER BY r");
  if (!rows) return rows.error();
  std::vector<RecipientBacklog> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) out.push_back({row[0], int_at(row, 1), int_at(row, 2)});
  return out;
}

Result<std::optional<Millis>> PgStore::oldest_undelivered(std::string_view recipient) {
  // Delivery ids grow with acceptance, so the lowest id in a state is its oldest message.
  auto rows =
      impl_->query("oldest_undelivered",
                   "SELECT min(a) FROM (SELECT (SELECT m.accepted_at FROM keten_deliveries d JOIN keten_messages m"
                   " ON m.seq = d.message_seq WHERE d.recipient = $1 AND d.state = s ORDER BY d.id LIMIT 1) AS a"
                   " FROM (VALUES (0), (1)) AS states (s)) AS oldest",
                   {std::string(recipient)});
  if (!rows) return rows.error();
  if (rows->empty() || rows->front()[0].empty()) return std::optional<Millis>();
  return std::optional<Millis>(int_at(rows->front(), 0));
}

Result<std::optional<std::string>> PgStore::undelivered_case_at(std::string_view recipient, Millis accepted_at) {
  auto rows = impl_->query("undelivered case",
                           "SELECT m.case_ref FROM keten_deliveries d JOIN keten_messages m ON m.seq = d.message_seq"
                           " WHERE d.recipient = $1 AND d.state IN (0, 1) AND m.accepted_at = $2 AND m.case_ref <> ''"
                           " ORDER BY d.id LIMIT 1",
                           {std::string(recipient), std::to_string(accepted_at)});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(rows->front()[0]));
}

Result<std::vector<std::int64_t>> PgStore::pending_accepted_before(std::string_view contract, std::uint32_t version,
                                                                   Millis accepted_before, std::size_t limit) {
  auto rows = impl_->query(
      "read expired deliveries",
      "SELECT d.id FROM keten_deliveries d JOIN keten_messages m ON m.seq = d.message_seq"
      " WHERE d.state = 0 AND m.contract = $1 AND m.version = $2 AND m.accepted_at <= $3"
      " ORDER BY d.id LIMIT $4",
      {std::string(contract), std::to_string(version), std::to_string(accepted_before), std::to_string(limit)});
  if (!rows) return rows.error();
  std::vector<std::int64_t> ids;
  ids.reserve(rows->size());
  for (const auto& row : *rows) ids.push_back(int_at(row, 0));
  return ids;
}

bool PgStore::connection_lost() const { return impl_->conn.is_broken(); }

ha::PgConnection& PgStore::connection() { return impl_->conn; }

}  // namespace broker::store
