#pragma once
// SqliteStore: the broker's durable state in one SQLite file (WAL): accepted messages, their
// deliveries and the handover log. It owns SQL and nothing else; the broker loop decides what to
// write. Table layout: docs/store-format.md.
//
// Threading: one SqliteStore belongs to one thread (the broker loop). Movable, not copyable; a
// moved-from store may only be destroyed or assigned to.
// Transactions: every write happens between begin() and commit(); the broker groups all the frames
// it read in one loop turn into one transaction (group commit) and sends receipts only after
// commit() returned ok. A failed statement leaves the transaction open: call rollback(). (A write
// made outside begin()/commit() commits on its own, which is correct but slow.)
// Errors: every failure is Error{kStorage, "<what> : <cause>"}, the cause being SQLite's message
// where SQLite failed; nothing throws.
// Sealed payloads: with a payload key every message is stored encrypted under its case's key
// (case_keys.h, wrapped by the payload key); without one, a message inserted with NewMessage::seal
// fails. Rows sealed directly under the payload key before case keys existed still open. Every read
// that returns a payload opens it, and a missing or wrong key, or an altered row, is a kStorage
// error naming the message; a shredded case's payload reads as "payload shredded on <time> (<why>)".

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/audit/log_record.h"
#include "broker/audit/log_source.h"
#include "broker/events/event.h"
#include "broker/store/store.h"
#include "broker/tlog/merkle.h"
#include "broker/tlog/note.h"
#include "contracts/envelope.h"
#include "contracts/error.h"

struct sqlite3;

namespace broker::store {

using contracts::Millis;
using contracts::Result;

struct StoreOptions {
  std::filesystem::path path;   // the database file; its folder is created if missing.
                                // ":memory:" gives a private in-memory store (tests only; no WAL)
  bool sync_full = true;        // PRAGMA synchronous=FULL (durable on power loss) or NORMAL (on crash)
  // How long begin() and other statements wait for a lock another connection holds.
  std::chrono::milliseconds busy_timeout{5'000};
  // Open with SQLITE_OPEN_READONLY: every write fails; the file must exist with this schema
  // version (inspectors' tools). The log's tree is read by its size from the file at open; its
  // right edge (for the root) is restored at the first log_head(), and a tail that cannot be read
  // then gives an empty root hash, with a warning.
  bool read_only = false;
  // The payload key: 32 raw bytes (broker/store/seal.h), or "" for none. Needed to write a
  // NewMessage with seal = true and to read a sealed payload back; without it those fail with
  // kStorage. The handover log never needs it.
  std::string payload_key{};
  // Open as the store's one broker (keten serve): take the store lock (`<path>.lock`,
  // store_lock.h; another holder is an error naming it), refuse a store that fails the checks at
  // start (store_check.h), and keep the committed high-water mark in the lock file after every
  // commit. Tools and most tests leave it off; it is ignored for ":memory:".
  bool owner = false;
  // With `owner`: run SQLite's quick_check over the whole file at open (its cost grows with the
  // file: docs/store-format.md, "Checks at start"). The log's tail is checked either way.
  bool quick_check = true;
  // The broker's Ed25519 signing key: its 32-byte secret seed (raw), or "" for none. With it the
  // store signs a checkpoint of the log's Merkle tree (a C2SP signed note whose key name is the
  // log's origin, log_origin()) at every commit that appended events. Without it nothing is
  // signed (read-only tools, tests, a broker without a signing key).
  std::string signing_seed{};
  // When a checkpoint is signed, in Unix ms: the broker's clock (core/clock.h), so that its
  // checkpoints and its events share one time; empty: the system clock.
  std::function<std::int64_t()> clock{};
};

// One handover-log event in its schema-4 row form (broker/audit/log_record.h), for the readers
// that have not moved to events::LoggedEvent yet. The store keeps typed events
// (docs/store-format.md); these rows are converted on the way in (events::from_legacy_row) and
// out (events::to_legacy_row). What `prev_hash` and `hash` hold is said at each read below.
using LogEvent = audit::LogRecord;

class SqliteStore final : public Store {
 public:
  // Opens the store, or creates it (mode 0600, and so its -wal and -shm) when nothing is at the
  // path (WAL, schema created or checked). A file that is there is never made into a new store:
  // an empty file, or a database without Keten's tables, is refused. kStorage names the path and
  // what is wrong (SQLite's message where SQLite failed).
  [[nodiscard]] static Result<SqliteStore> open(const StoreOptions& options);

  SqliteStore(SqliteStore&&) noexcept;
  SqliteStore& operator=(SqliteStore&&) noexcept;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;
  ~SqliteStore() override;

  // BEGIN IMMEDIATE: takes the write lock now (waiting up to busy_timeout). Fails inside a
  // transaction.
  [[nodiscard]] Result<void> begin() override;
  [[nodiscard]] Result<void> commit() override;
  // Discards the open transaction's writes; does nothing when none is open (SQLite may already
  // have rolled back after an I/O error). A failure here is logged, as nobody can handle it.
  void rollback() override;

  // One read transaction around a tool's run of reads (a case's replay makes about 170
  // statements): they see one state of the file, and SQLite takes its locks once instead of once
  // per statement (about a thousand lock and stat calls per replay). The guard ends it; it must
  // not outlive this store, and nothing may be written through the store while it lives. Inside
  // a transaction the guard does nothing.
  class ReadSnapshot {
   public:
    ReadSnapshot(ReadSnapshot&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
    ReadSnapshot& operator=(ReadSnapshot&&) = delete;
    ReadSnapshot(const ReadSnapshot&) = delete;
    ReadSnapshot& operator=(const ReadSnapshot&) = delete;
    ~ReadSnapshot();

   private:
    friend class SqliteStore;
    explicit ReadSnapshot(sqlite3* db) : db_(db) {}
    sqlite3* db_;  // null: nothing to end
  };
  [[nodiscard]] Result<ReadSnapshot> read_snapshot();

  // --- messages (inside a transaction for writes) ---
  // The message with that id, or nullopt.
  [[nodiscard]] Result<std::optional<AcceptedMessage>> find_message(std::string_view message_id) override;
  // Returns the new row's seq. A message_id already stored fails (kStorage): check find_message
  // first.
  [[nodiscard]] Result<std::int64_t> insert_message(const NewMessage& message) override;

  // --- deliveries ---
  // A pending delivery of message `message_seq`; returns its id (the wire delivery_id; ids are
  // never reused). Fails for an unknown message_seq or a second delivery to the same recipient.
  [[nodiscard]] Result<std::int64_t> insert_delivery(std::int64_t message_seq, std::string_view recipient) override;
  // The same delivery already in flight, first attempt at `at`: what insert_delivery followed by
  // mark_in_flight(id, 1, at) leaves, in one write (a delivery sent the moment it is accepted).
  [[nodiscard]] Result<std::int64_t> insert_delivery_sent(std::int64_t message_seq, std::string_view recipient,
                                                          Millis at) override;
  // Up to `limit` pending deliveries for `recipient` with an id below `before_id`, oldest (lowest
  // id) first; empty when none.
  [[nodiscard]] Result<std::vector<OutboundDelivery>> next_pending(
      std::string_view recipient, std::size_t limit,
      std::int64_t before_id = std::numeric_limits<std::int64_t>::max()) override;
  // The delivery joined with its message, in any state; nullopt for an unknown id.
  [[nodiscard]] Result<std::optional<OutboundDelivery>> find_outbound(std::int64_t delivery_id) override;
  // The same without the payload (left empty, nothing decrypted): enough for a log row.
  [[nodiscard]] Result<std::optional<OutboundDelivery>> find_delivery_header(std::int64_t delivery_id) override;
  [[nodiscard]] Result<std::optional<Delivery>> find_delivery(std::int64_t delivery_id) override;
  // State changes. They do not check the previous state (the broker decides); an unknown
  // delivery_id fails with kStorage. mark_in_flight stores `attempts` and `at` as given.
  [[nodiscard]] Result<void> mark_in_flight(std::int64_t delivery_id, std::uint32_t attempts, Millis at) override;
  [[nodiscard]] Result<void> mark_acked(std::int64_t delivery_id, Millis at) override;
  [[nodiscard]] Result<void> mark_pending(std::int64_t delivery_id) override;
  [[nodiscard]] Result<void> mark_dead(std::int64_t delivery_id, Millis at) override;
  // Every in-flight delivery (for `recipient`, or all when empty) back to pending; returns how many.
  [[nodiscard]] Result<std::int64_t> reset_in_flight(std::string_view recipient = {}) override;
  [[nodiscard]] Result<DeliveryCounts> count_deliveries(std::string_view recipient = {}) override;
  // Recipients with at least one pending delivery, each once, in byte order.
  [[nodiscard]] Result<std::vector<std::string>> recipients_with_pending() override;
  // Every recipient with undelivered deliveries, in byte order.
  [[nodiscard]] Result<std::vector<RecipientBacklog>> backlog() override;
  // accepted_at of the oldest message `recipient` has not acknowledged (pending or in flight), or
  // nullopt when there is none. Two index seeks, whatever the backlog's size (backlog() scans it).
  [[nodiscard]] Result<std::optional<Millis>> oldest_undelivered(std::string_view recipient) override;
  // Defined in console_queries.cpp (a console query: store::find_messages).
  [[nodiscard]] Result<std::optional<std::string>> undelivered_case_at(std::string_view recipient,
                                                                       Millis accepted_at) override;
  // Defined in expiry_queries.cpp.
  [[nodiscard]] Result<std::vector<std::int64_t>> pending_accepted_before(std::string_view contract, std::uint32_t version,
                                                                         Millis accepted_before,
                                                                         std::size_t limit) override;

  // The accepted message with its payload, or nullopt for an unknown id.
  [[nodiscard]] Result<std::optional<StoredMessage>> find_message_content(std::string_view message_id) override;

  // --- handover log (append-only; docs/store-format.md) ---
  // Appends `event` as the next event and returns its seq (1, 2, 3, ...; its Merkle leaf index is
  // seq - 1). Inside a transaction the events are written at commit() as one block (or before the
  // next read of the log through this store), their leaves added to the tree, and, with a signing
  // key, one checkpoint signed over the new tree; an error there fails commit() and the caller
  // rolls back (no block, node or checkpoint of the transaction stays). Outside begin()/commit()
  // the event is committed at once in a transaction of its own. begin() reloads the tree when
  // another process (a `keten log` tool) appended since.
  [[nodiscard]] Result<std::uint64_t> append_event(events::Event event) override;
  // Events with seq >= from_seq, ascending, at most `limit`.
  [[nodiscard]] Result<std::vector<events::LoggedEvent>> read_events(std::uint64_t from_seq, std::size_t limit) override;
  // The events about one case, ascending seq, through the case index: it names, per block, where
  // the case's events sit in it, and only those bytes are read (a block indexed before this
  // version, or whose bytes no longer match the index, is read whole). kStorage when an event
  // does not decode.
  [[nodiscard]] Result<std::vector<events::LoggedEvent>> read_case_events(std::string_view case_ref) override;
  // As read_case_events, the stored bytes undecoded, for verification (audit::LogSource): an event
  // the index points at is handed out whatever its bytes; from a block read whole, the events of
  // the case and every event that does not decode.
  [[nodiscard]] Result<std::vector<audit::LogEntry>> read_case_entries(std::string_view case_ref);
  // Every `started` event (the broker's starts, which concern every case open at the time), ascending
  // seq: through the case index, which lists where they are (a store whose starts were not indexed
  // yet, before a broker of this version opened it, is read whole).
  [[nodiscard]] Result<std::vector<events::LoggedEvent>> read_started_events() override;
  // As read_started_events, the stored bytes undecoded (see read_case_entries).
  [[nodiscard]] Result<std::vector<audit::LogEntry>> read_start_entries();
  // The newest signed checkpoint note (C2SP tlog-checkpoint text with its signature line), or
  // nullopt when none was signed.
  [[nodiscard]] Result<std::optional<std::string>> latest_checkpoint_note() override;
  // Every signed checkpoint note, oldest first.
  [[nodiscard]] Result<std::vector<std::string>> read_tree_checkpoints() override;
  // Inside a transaction, with a signing key: when the tree holds events that no signed checkpoint
  // covers (another process appended them since, e.g. a `keten log` tool's log_read), commit()
  // signs a checkpoint of the tree as it does after an append. Returns whether there are such
  // events (false without a signing key). The broker calls it every checkpoint_interval and at
  // shutdown.
  bool sign_uncovered_at_commit() override;
  void extend_next_checkpoint(std::string line) override;
  // The number of events written (committed, or written earlier in the open transaction).
  std::uint64_t tree_size() const override;
  // Reads the hash of any complete subtree (level, index) of the tree of the events in the file
  // (tlog::NodeReader): what tlog::inclusion_proof, consistency_proof and range_root need. Levels
  // 8, 16, 24, ... are stored; a node in between is read from its tile of 256 stored nodes, kept
  // folded once complete (log_node_tiles) and else folded from the stored nodes; a node
  // below level 8 from the leaves of its 256-event tile: the leaf hashes stored per block
  // (log_leaves), or, for blocks without them, hashed from the blocks' events. The reader caches
  // the tiles it read; it borrows the store (it must not outlive it or cross a write) and its
  // errors are kStorage naming the node or the block. It reads the tree of the size the file has at
  // its first read (a read-only store: with what another process committed since open(), so that a
  // checkpoint the broker signed meanwhile can be proven against).
  tlog::NodeReader tree_reader() override;
  // As tree_reader, with every hash below level 8 computed from the events' own bytes, never taken
  // from the stored leaf hashes (log_leaves): for checks of what the blocks hold against a signed
  // root (store_check.h), where a stored hash must not stand in for an edited event.
  tlog::NodeReader event_tree_reader();
  // As tree_reader, taking no stored shortcut: hashes below level 8 from the events' own bytes,
  // higher ones folded from the stored nodes (log_tree_nodes), never from log_leaves or
  // log_node_tiles. For a proof through tree_reader that failed: when it holds through this one,
  // the event is in the log and a shortcut row is damaged (damaged_shortcuts names it).
  tlog::NodeReader source_tree_reader();
  // The shortcut rows a proof of event `seq` in a tree of `size` events reads (log_leaves,
  // log_node_tiles) that are not what they stand for, each named by its row ("log_leaves row
  // first_seq=513 (...)"); empty when they all match. kStorage when the store cannot be read.
  [[nodiscard]] Result<std::vector<std::string>> damaged_shortcuts(std::uint64_t seq, std::uint64_t size);
  // The two above as a LogSource hands them to the evidence tools (audit::ShortcutCheck); borrows
  // this store.
  audit::ShortcutCheck shortcut_check();
  // The log's origin, "keten/<16 hex digits>": the first line of every checkpoint and the name of
  // the signing key in the note, fixed when the store (or its schema-5 conversion) was made.
  const std::string& log_origin() const override;
  // The key checkpoints are signed with (StoreOptions::signing_seed), or nullopt without one.
  std::optional<tlog::NoteVerifier> checkpoint_verifier() const override;

  // --- the schema-4 row API, kept while readers move to the typed one ---
  // Converts `event` with events::from_legacy_row (kStorage naming the defect when it cannot be
  // typed) and appends it as append_event does. seq, prev_hash and hash are ignored.
  [[nodiscard]] Result<std::uint64_t> append_log(LogEvent event);
  // As read_events, in row form. prev_hash and hash hold the schema-4 chain recomputed from the
  // events (docs/handover-log-format.md §2), from the nearest known value at or before the first
  // row (a signed schema-4 checkpoint, the head recorded at conversion, or seq 0).
  [[nodiscard]] Result<std::vector<LogEvent>> read_log(std::uint64_t from_seq, std::size_t limit);
  // As read_case_events, in row form, with the hashes as read_log gives them.
  [[nodiscard]] Result<std::vector<LogEvent>> read_case_log(std::string_view case_ref);
  // The first seq of the log's newest stretch of events at or after `at`: walking back from the head,
  // the seq after the first event older than `at` (1 when there is none; one above the head when the
  // newest event is older). Reads the newest blocks, as many as that stretch spans.
  [[nodiscard]] Result<std::uint64_t> log_seq_since(Millis at) override;
  // The `accepted` event of one message (through messages.log_seq), or nullopt.
  [[nodiscard]] Result<std::optional<events::LoggedEvent>> accepted_event(std::string_view message_id) override;
  // The latest `started` event (its seq is kept in meta), or nullopt.
  [[nodiscard]] Result<std::optional<events::LoggedEvent>> last_started_event() override;
  // seq and Merkle root (hex) of the events written so far (see LogHead).
  LogHead log_head() const override;
  // seq and schema-4 chain hash of the head, computed from the nearest known chain value: what a
  // broker_audit checkpoint (append_checkpoint) signs until the verifier reads the tree.
  [[nodiscard]] Result<LogHead> legacy_log_head();
  // Events this connection appended in transactions that have since committed, typed as they were
  // appended, ascending seq, each handed out once; kept only after keep_committed_log(true). The
  // metrics count them instead of reading them again (docs/performance.md). Rolled-back events
  // never appear.
  void keep_committed_log(bool keep) override;
  std::vector<events::LoggedEvent> take_committed_events() override;
  // Stores a schema-4 checkpoint (broker_audit signing.h; the caller signs); returns its id.
  [[nodiscard]] Result<std::int64_t> append_checkpoint(const audit::Checkpoint& checkpoint);
  // Every schema-4 checkpoint, oldest first.
  [[nodiscard]] Result<std::vector<audit::Checkpoint>> read_checkpoints();
  // The whole log in row form for the schema-4 verifier and export: every event with the
  // schema-4 chain recomputed from seq 1, every schema-4 checkpoint, high_water = the number of
  // events, and the public key of the latest schema-4 checkpoint.
  [[nodiscard]] Result<audit::LogData> read_log_data();

  // --- case keys (case_keys.h; docs/store-format.md, "Case keys") ---
  // The file has messages.case_key and the case_keys table (always after a read-write open).
  bool has_case_keys() const;
  // Destroys case key `key_id` (crypto-shredding): its wrapped bytes are overwritten under
  // SQLite's secure_delete, shredded_at and shred_reason recorded, and the key wiped from memory.
  // Every payload sealed under it then reads as "payload shredded on <at> (<reason>)". kStorage
  // when no live key has that id. Inside a transaction, like every write.
  [[nodiscard]] Result<void> shred_case_key(std::int64_t key_id, Millis at, std::string_view reason);
  // A TRUNCATE checkpoint of the WAL: every committed page into the main file and the WAL emptied,
  // so overwritten bytes (a shredded key) leave the WAL too. Outside a transaction. It does not wait
  // for readers (busy timeout 0 for the call): kStorage when one keeps it from completing (try again
  // later).
  [[nodiscard]] Result<void> truncate_wal();

  // The connection, for the store's satellite tables (broker/store/tracking.h), which share its
  // transactions. Nobody else uses it. Log rows of the open transaction are not in the file
  // through it before commit().
  sqlite3* connection();

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace broker::store
