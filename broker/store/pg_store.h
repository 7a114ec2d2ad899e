#pragma once
// PgStore: the broker's durable state on PostgreSQL, for several broker instances sharing one
// database with one leader (docs/high-availability.md). Same contract as every Store (store.h):
// accepted messages, their deliveries and the handover log, with the log's blocks, case index,
// Merkle tree and signed checkpoints byte for byte as SqliteStore writes them. Tables
// (`keten_*`, beside `keten_leader_lease`): docs/store-format.md, "On PostgreSQL".
//
// Threading: one PgStore belongs to one thread (the broker loop) and owns one libpq connection.
// Movable, not copyable.
// Transactions: begin() opens a transaction and takes a transaction-scoped advisory lock (the
// write lock: two instances never interleave their appends to the log), then reloads the log's
// tree when another instance appended since. commit() writes the transaction's events as blocks,
// the case index rows, the tree nodes and, with a signing key, one checkpoint; with a fencing
// epoch it then runs ha::check_fence before COMMIT, so a deposed leader's commit fails with the
// `fenced:` error and none of its rows exist. A failed statement leaves the transaction for
// rollback() (PostgreSQL refuses every later statement of it anyway).
// Errors: every failure is Error{kStorage, "<what>: <cause>"}, the cause being libpq's or the
// server's message where PostgreSQL failed; nothing throws.
// Connection loss (server restart, network): the statement that meets it fails; is_broken() then
// says so, and begin() (or reconnect()) connects again with the same settings, the tree reloaded.
// Sealed payloads: with a payload key every payload is sealed (seal.h) directly under the payload
// key (SqliteStore seals under per-case keys; PgStore has no case keys yet); without one, a message
// inserted with NewMessage::seal fails. A payload that does not open reads as `unreadable`.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/events/event.h"
#include "broker/ha/epoch.h"
#include "broker/ha/pg_connection.h"
#include "broker/store/store.h"
#include "broker/tlog/merkle.h"
#include "broker/tlog/note.h"
#include "contracts/error.h"

namespace broker::store {

struct PgStoreOptions {
  std::string conninfo;  // libpq connection string or postgresql:// URI
  // The payload key: 32 raw bytes (seal.h), or "" for none (as StoreOptions::payload_key).
  std::string payload_key{};
  // The broker's Ed25519 signing key: its 32-byte secret seed (raw), or "" for none (as
  // StoreOptions::signing_seed): with it one checkpoint is signed at every commit that appended.
  std::string signing_seed{};
  // The leader's fencing token (ha::LeaderLease::try_acquire): every write transaction ends with
  // ha::check_fence against it. nullopt: no fencing (one instance, tests, tools); the lease table
  // need not exist then.
  std::optional<ha::Epoch> epoch{};
  // idle_in_transaction_session_timeout of the store's session (ha::limit_idle_transactions): a
  // transaction left idle longer (a frozen process) is ended by the server. Use the lease ttl.
  std::chrono::milliseconds idle_transaction_limit{5'000};
  // A leader's open (with an epoch) checks the log's tail first (store_check.h,
  // check_log_against_checkpoint): every event after the last signed checkpoint, and the complete
  // tiles of this many newest events against their stored tree nodes. Fewer than a SQLite broker's
  // 100 000, because the check is part of every failover: about 0.1 s here against 0.8 s
  // (docs/high-availability.md).
  std::size_t tail_check_events = 10'000;
  // Open for reading only (the inspector's tools): nothing is created or recorded, the session is
  // read-only (every write fails), and a database without Keten's tables is refused.
  bool read_only = false;
  // When a checkpoint is signed (as StoreOptions::clock); empty: the system clock.
  std::function<std::int64_t()> clock{};
};

// Whether `store` (a configured store, a --store argument) names a PostgreSQL database: a
// postgresql:// or postgres:// URI, rather than a file.
inline bool is_postgres_url(std::string_view store) {
  return store.substr(0, 13) == "postgresql://" || store.substr(0, 11) == "postgres://";
}

class PgStore final : public Store {
 public:
  // Connects, creates the tables when absent (under a transaction-scoped advisory lock, so
  // instances starting together do not race; the log's origin is drawn then), limits idle
  // transactions, and loads the log's tree. kStorage when the server cannot be reached, the payload
  // key has the wrong size or is not the one the store's first keyed open recorded
  // (keten_meta payload_key_check), or the newest checkpoint does not match the stored log (its size above
  // the log's, its root not the tree's at that size, or, with a signing key, its signature).
  [[nodiscard]] static Result<PgStore> open(const PgStoreOptions& options);

  PgStore(PgStore&&) noexcept;
  PgStore& operator=(PgStore&&) noexcept;
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;
  ~PgStore() override;

  [[nodiscard]] Result<void> begin() override;
  [[nodiscard]] Result<void> commit() override;
  void rollback() override;

  [[nodiscard]] Result<std::optional<AcceptedMessage>> find_message(std::string_view message_id) override;
  [[nodiscard]] Result<std::int64_t> insert_message(const NewMessage& message) override;
  [[nodiscard]] Result<std::optional<StoredMessage>> find_message_content(std::string_view message_id) override;

  [[nodiscard]] Result<std::int64_t> insert_delivery(std::int64_t message_seq, std::string_view recipient) override;
  [[nodiscard]] Result<std::int64_t> insert_delivery_sent(std::int64_t message_seq, std::string_view recipient,
                                                          Millis at) override;
  [[nodiscard]] Result<std::vector<OutboundDelivery>> next_pending(
      std::string_view recipient, std::size_t limit,
      std::int64_t before_id = std::numeric_limits<std::int64_t>::max()) override;
  [[nodiscard]] Result<std::optional<OutboundDelivery>> find_outbound(std::int64_t delivery_id) override;
  [[nodiscard]] Result<std::optional<OutboundDelivery>> find_delivery_header(std::int64_t delivery_id) override;
  [[nodiscard]] Result<std::optional<Delivery>> find_delivery(std::int64_t delivery_id) override;
  [[nodiscard]] Result<void> mark_in_flight(std::int64_t delivery_id, std::uint32_t attempts, Millis at) override;
  [[nodiscard]] Result<void> mark_acked(std::int64_t delivery_id, Millis at) override;
  [[nodiscard]] Result<void> mark_pending(std::int64_t delivery_id) override;
  [[nodiscard]] Result<void> mark_dead(std::int64_t delivery_id, Millis at) override;
  [[nodiscard]] Result<std::int64_t> reset_in_flight(std::string_view recipient = {}) override;
  [[nodiscard]] Result<DeliveryCounts> count_deliveries(std::string_view recipient = {}) override;
  [[nodiscard]] Result<std::vector<std::string>> recipients_with_pending() override;
  [[nodiscard]] Result<std::vector<RecipientBacklog>> backlog() override;
  [[nodiscard]] Result<std::optional<Millis>> oldest_undelivered(std::string_view recipient) override;
  [[nodiscard]] Result<std::optional<std::string>> undelivered_case_at(std::string_view recipient,
                                                                       Millis accepted_at) override;
  [[nodiscard]] Result<std::vector<std::int64_t>> pending_accepted_before(std::string_view contract,
                                                                          std::uint32_t version, Millis accepted_before,
                                                                          std::size_t limit) override;

  // The log: as Store says. The events of a transaction are written at commit() (or before the
  // next read of the log through this store) as blocks of at most 32 KiB, as SqliteStore does.
  [[nodiscard]] Result<std::uint64_t> append_event(events::Event event) override;
  [[nodiscard]] Result<std::vector<events::LoggedEvent>> read_events(std::uint64_t from_seq,
                                                                     std::size_t limit) override;
  [[nodiscard]] Result<std::vector<events::LoggedEvent>> read_case_events(std::string_view case_ref) override;
  [[nodiscard]] Result<std::vector<events::LoggedEvent>> read_started_events() override;
  [[nodiscard]] Result<std::optional<events::LoggedEvent>> last_started_event() override;
  [[nodiscard]] Result<std::optional<events::LoggedEvent>> accepted_event(std::string_view message_id) override;
  [[nodiscard]] Result<std::uint64_t> log_seq_since(Millis at) override;
  [[nodiscard]] Result<std::optional<std::string>> latest_checkpoint_note() override;
  [[nodiscard]] Result<std::vector<std::string>> read_tree_checkpoints() override;
  bool sign_uncovered_at_commit() override;
  void extend_next_checkpoint(std::string line) override;
  std::uint64_t tree_size() const override;
  LogHead log_head() const override;
  // Levels 8, 16, ... are stored (keten_log_tree_nodes); a node in between is folded from at most
  // 128 of them, a node below level 8 from the leaves of its 256-event tile, hashed from the
  // events' bytes. Caches the tiles it read; the tree's size is fixed at its first read: this
  // store's tree inside a transaction, else the log's size in the database then (so a standby proves
  // events against a checkpoint the leader signed after the standby's last begin()).
  tlog::NodeReader tree_reader() override;
  const std::string& log_origin() const override;
  std::optional<tlog::NoteVerifier> checkpoint_verifier() const override;
  void keep_committed_log(bool keep) override;
  std::vector<events::LoggedEvent> take_committed_events() override;

  // --- the connection ---
  // True when the last failure was the loss of the connection (is_broken()): a commit that failed
  // then may have taken effect or not.
  bool connection_lost() const override;
  // The connection, for the store's satellite tables (TrackingTables, ProcessedReports on
  // PostgreSQL), which share its transactions. Nobody else uses it.
  ha::PgConnection& connection();
  // True once the connection was lost (the statement that met the loss failed).
  bool is_broken() const;
  // Connects again with the same settings (the idle-transaction limit made again) and reloads the
  // tree; an open transaction is gone with the old session (its events too). Outside a
  // transaction; begin() does it by itself when the connection is broken.
  [[nodiscard]] Result<void> reconnect();

 private:
  struct Impl;
  explicit PgStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace broker::store
