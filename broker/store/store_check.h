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
#include "contracts/error.h"

struct sqlite3;

namespace broker::store {

class SqliteStore;

// PRAGMA quick_check over the whole file: every b-tree page is read and checked (O(file size);
// docs/store-format.md gives the measured cost). kStorage with SQLite's first findings.
[[nodiscard]] contracts::Result<void> quick_check(sqlite3* db, const std::string& path);

struct TailCheck {
  // Rows chained at start when the log has no checkpoint, and at most this many rows after the
  // last checkpoint (the newest ones; the row the checkpoint signed is always checked).
  std::size_t max_rows = 100'000;
  // The previous broker's committed high-water mark (StoreLock::previous_mark), if any.
  std::optional<CommitMark> mark;
  std::string lock_path;  // named in the messages about the mark
};

// The handover log's newest rows: no seq assigned after the last row (sqlite_sequence), the last
// signed checkpoint's row present with the hash it signed and a valid signature, the rows after it
// (or the newest max_rows without a checkpoint) chained, and the log reaching the mark with the
// same hash there.
[[nodiscard]] contracts::Result<void> check_log_tail(SqliteStore& store, const std::string& path,
                                                     const TailCheck& check);

}  // namespace broker::store
