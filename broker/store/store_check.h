#pragma once
// The checks a broker runs on its store before serving it (docs/store-format.md, "Checks at
// start"): SQLite's page-level check, and the handover log's tail against what must be there: its
// last signed checkpoint, the highest seq ever assigned, and the high-water mark the last broker
// committed (store_lock.h). Each failure is kStorage naming the file and what is wrong, so that
// `keten serve` refuses the store instead of appending to a broken or shortened log.
//
// Threading: the store's thread, before anything else uses the store.

#include <cstddef>
#include <optional>
#include <string>

#include "broker/store/store_lock.h"
#include "broker/tlog/merkle.h"
#include "contracts/error.h"

struct sqlite3;

namespace broker::store {

class SqliteStore;
class Store;

// PRAGMA quick_check over the whole file: every b-tree page is read and checked (O(file size);
// docs/store-format.md gives the measured cost). kStorage with SQLite's first findings.
[[nodiscard]] contracts::Result<void> quick_check(sqlite3* db, const std::string& path);

struct TailCheck {
  // The newest events read again at start (each must decode, and their complete 256-event tiles
  // must match the stored tree nodes over them); every event after the last checkpoint is read
  // whatever this says.
  std::size_t max_rows = 100'000;
  // The previous broker's committed high-water mark (StoreLock::previous_mark), if any.
  std::optional<CommitMark> mark;
  std::string lock_path;  // named in the messages about the mark
  // A store converted from schema 4: the old chain's head (seq, hash), which a mark written by
  // a schema-4 broker holds.
  std::optional<CommitMark> schema4_head;
};

// What check_log_tail checks through the Store interface alone, so that the PostgreSQL store's
// leader open runs it too: everything below but the mark. `event_reader` reads the tree's nodes
// with the leaves hashed from the blocks' events (SqliteStore::event_tree_reader, PgStore's
// tree_reader); `where` names the store in the messages ("store <path>", "postgresql store").
[[nodiscard]] contracts::Result<void> check_log_against_checkpoint(Store& store, const tlog::NodeReader& event_reader,
                                                                   const std::string& where, std::size_t max_rows);

// The handover log's blocks against its last signed checkpoint (docs/store-format.md, "Checks at
// start"): the checkpoint verifies with the store's signing key (when it has one) and names this
// log; the blocks reach its tree size (not truncated) and the Merkle root of that many events is
// its root (not edited); every event after it decodes and is one a tool may append without the
// key (nothing else appended behind the broker's back); the newest max_rows events match the
// stored tree nodes; and the log reaches the mark with the same root there. A store with a signed
// checkpoint is refused to a broker without a signing key, whose events no checkpoint would cover.
[[nodiscard]] contracts::Result<void> check_log_tail(SqliteStore& store, const std::string& path,
                                                     const TailCheck& check);

// What a broker without a signing key is told about a store whose log has a signed checkpoint
// (`checkpoint`, e.g. "the last signed checkpoint (tree size 9)", of log `origin`): the SQLite
// store's check above and the PostgreSQL store's leader open refuse it with this.
std::string unsigned_broker_refusal(const std::string& checkpoint, const std::string& origin);

}  // namespace broker::store
