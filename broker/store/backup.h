#pragma once
// An online copy of a store while its broker keeps serving (docs/operations.md, "Backup while
// running"): SQLite's online backup API copies every page in one read transaction, so the copy is
// the store as of one commit (a consistent state, WAL included) and the broker's writes go on
// meanwhile (in WAL mode a reader does not block the writer).

#include <cstdint>
#include <filesystem>
#include <string>

#include "contracts/error.h"

namespace broker::store {

struct BackupStats {
  std::int64_t pages = 0;
  std::int64_t bytes = 0;
  std::int64_t messages = 0;  // rows of `messages` in the copy
  std::int64_t log_rows = 0;  // events in the copy's handover log (its Merkle tree size)
  std::string quick_check;    // "ok", or what SQLite's quick_check of the copy found
};

// Copies the store at `source` to a new file `target` (created 0600; an existing file is never
// overwritten). The copy is in WAL mode like the store, one file with no -wal left beside it. kStorage naming
// the file and SQLite's message; on failure a partial `target` is removed.
[[nodiscard]] contracts::Result<BackupStats> backup_store(const std::filesystem::path& source,
                                                          const std::filesystem::path& target);

}  // namespace broker::store
