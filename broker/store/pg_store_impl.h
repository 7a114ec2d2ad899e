#pragma once
// Private to broker_store_pg: PgStore's state, shared by pg_store.cpp (connection, schema,
// transactions, messages, deliveries) and pg_store_log.cpp (the handover log and its tree).
// Threading and errors as PgStore (pg_store.h).

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/events/event.h"
#include "broker/ha/epoch.h"
#include "broker/ha/pg_connection.h"
#include "broker/store/pg_store.h"
#include "broker/store/tree_tiles.h"
#include "broker/tlog/merkle.h"
#include "broker/tlog/note.h"
#include "contracts/error.h"

namespace broker::store::pg {

// Tree nodes are stored at the levels that are multiples of 8 (as SqliteStore's log_tree_nodes).
// A transaction's events are written as blocks of at most this many bytes (as SqliteStore).
inline constexpr std::size_t kBlockBytes = 32 * 1024;
// The case index's key for the blocks that hold a broker start (as SqliteStore).
inline constexpr std::string_view kStartsKey = "";

// "<what>: <detail>" as kStorage.
contracts::Error storage_error(std::string_view what, std::string_view detail);
// `bytes` as a bytea parameter in hex form ("\x0a1b...").
std::string to_bytea(std::string_view bytes);
// The bytes of a bytea column read as text (hex form); kStorage naming `what` otherwise.
contracts::Result<std::string> from_bytea(std::string_view text, std::string_view what);
// A bigint column read as text (0 for anything else: our own columns are NOT NULL integers).
std::int64_t int_at(const ha::PgRow& row, std::size_t column);
// An unsigned value as a bigint parameter, clamped to the largest bigint.
std::string bigint(std::uint64_t value);

}  // namespace broker::store::pg

namespace broker::store {

struct PgStore::Impl {
  explicit Impl(ha::PgConnection connection) : conn(std::move(connection)) {}
  ~Impl();

  ha::PgConnection conn;
  std::string payload_key;  // 32 raw bytes, or ""
  std::optional<ha::Epoch> epoch;
  std::function<std::int64_t()> clock;  // PgStoreOptions::clock; empty: the system clock
  std::chrono::milliseconds idle_limit{5'000};
  std::string origin;  // "keten/<log_id>"
  std::optional<tlog::NoteSigner> signer;

  // The log's tree over every event written (committed, and flushed in the open transaction); as
  // it was at begin(), for rollback().
  tlog::CompactTree tree, tree_at_begin;
  std::string root_hex;  // hex of tree.root(); "" until loaded
  struct Pending {
    std::string bytes;  // events::encode_event
    contracts::Millis at = 0;
    std::string case_ref;
    bool started = false;
  };
  std::vector<Pending> pending;              // appended in the open transaction, not yet written
  bool wrote_in_transaction = false;         // a block was written (or signing asked for): commit() signs
  std::vector<std::string> next_extensions;  // for the checkpoint commit() signs (extend_next_checkpoint)
  bool keep_committed = false;
  std::vector<events::LoggedEvent> unwritten_kept, uncommitted, committed;
  std::uint64_t last_signed_size = 0;  // size of the newest tree checkpoint
  bool has_tree_checkpoint = false;

  [[nodiscard]] contracts::Result<std::vector<ha::PgRow>> query(const std::string& what, const std::string& sql,
                                                                const std::vector<std::string>& params = {}) {
    return conn.query(what, sql, params);
  }

  // pg_store.cpp
  [[nodiscard]] contracts::Result<void> configure_session();
  [[nodiscard]] contracts::Result<void> ensure_schema();
  // Read-only open: the origin from keten_meta (kStorage when the tables are not there) and the
  // payload key against the recorded check, without writing either.
  [[nodiscard]] contracts::Result<void> read_schema();
  // With a payload key: records it (keten_meta payload_key_check, seal.h's make_key_check) at the
  // first open with one, and refuses another key at later opens.
  [[nodiscard]] contracts::Result<void> check_payload_key();
  void forget_transaction();  // the open transaction's log state, dropped (rollback, lost session)

  // pg_store_log.cpp
  // The log's size in the database (the last block's last seq; 0 when none).
  [[nodiscard]] contracts::Result<std::uint64_t> stored_size();
  // Rebuilds the tree from the database when it does not have the database's size (or `force`),
  // and reads the newest checkpoint's size.
  [[nodiscard]] contracts::Result<void> load_tree(bool force = false);
  // At open: the newest checkpoint against the loaded tree (size, root, origin, signature).
  [[nodiscard]] contracts::Result<void> check_newest_checkpoint();
  // Writes the pending events as blocks with their case index rows and stored tree nodes.
  [[nodiscard]] contracts::Result<void> write_block();
  // Signs a checkpoint of the tree as it is now and stores it (inside the transaction).
  [[nodiscard]] contracts::Result<void> sign_tree(contracts::Millis at);
  // f(seq, bytes) for each event with from <= seq <= to, ascending; stops when f returns false.
  template <class F>
  [[nodiscard]] contracts::Result<void> each_event_bytes(std::uint64_t from, std::uint64_t to, std::string_view what,
                                                         F&& f);
  [[nodiscard]] contracts::Result<std::vector<events::LoggedEvent>> events_between(std::uint64_t from, std::uint64_t to,
                                                                                   std::string_view what);
  // The events the case index lists under `key` that `keep` accepts, ascending seq; newest_only:
  // only the newest indexed block is read.
  template <class Keep>
  [[nodiscard]] contracts::Result<std::vector<events::LoggedEvent>> indexed_events(std::string_view key,
                                                                                   std::string_view what, Keep&& keep,
                                                                                   bool newest_only = false);

  // The node (level, index) of the tree of `size` events, through `cache` (tree_tiles.h).
  [[nodiscard]] contracts::Result<tlog::Hash> read_node(TileCache& cache, unsigned level, std::uint64_t index,
                                                        std::uint64_t size);
  // Fills tile t at level `base`: the leaves' tile from the events' bytes, a higher one from the
  // stored nodes of keten_log_tree_nodes.
  [[nodiscard]] contracts::Result<void> read_tile(Tile& tile, unsigned base, std::uint64_t t, std::uint64_t size);

  // pg_store.cpp: one delivery joined with its message (with or without the payload); an UPDATE
  // of one delivery by id ($1, then `params`) that fails when no row has that id.
  [[nodiscard]] contracts::Result<std::optional<OutboundDelivery>> one_outbound(bool with_payload,
                                                                                std::int64_t delivery_id,
                                                                                const std::string& what);
  [[nodiscard]] contracts::Result<void> update_delivery(const std::string& what, const std::string& set,
                                                        std::int64_t id, std::vector<std::string> params);
};

}  // namespace broker::store
