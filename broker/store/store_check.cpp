#include "broker/store/store_check.h"

#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <vector>

#include "broker/audit/hash_chain.h"
#include "broker/audit/signing.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"

namespace broker::store {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

Error refused(const std::string& path, const std::string& what) {
  return Error{ErrorCode::kStorage, "store " + path + " : " + what};
}

constexpr const char* kRestore =
    "; restore the store from a backup (docs/operations.md, \"Recovering a damaged store\")";

// sqlite_sequence's value for handover_log: the highest seq ever assigned (0 when none).
Result<std::uint64_t> assigned_high_water(sqlite3* db, const std::string& path) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT seq FROM sqlite_sequence WHERE name = 'handover_log'", -1, &raw, nullptr) !=
      SQLITE_OK) {
    return refused(path, std::string("cannot read sqlite_sequence: ") + sqlite3_errmsg(db));
  }
  StmtHandle stmt(raw);
  const int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_ROW) return static_cast<std::uint64_t>(sqlite3_column_int64(stmt.get(), 0));
  if (rc == SQLITE_DONE) return std::uint64_t{0};
  return refused(path, std::string("cannot read sqlite_sequence: ") + sqlite3_errmsg(db));
}

// The row with that seq, or nullopt.
Result<std::optional<LogEvent>> row_at(SqliteStore& store, std::uint64_t seq) {
  auto rows = store.read_log(seq, 1);
  if (!rows) return rows.error();
  if (rows->empty() || rows->front().seq != seq) return std::optional<LogEvent>();
  return std::optional<LogEvent>(std::move(rows->front()));
}

// Rows from `from` to the head, each linked to the one before and its hash recomputed.
Result<void> check_chain(SqliteStore& store, const std::string& path, std::uint64_t from) {
  constexpr std::size_t kPage = 10'000;
  std::string prev_hash;  // "" until the first row is read: it is trusted as the start
  std::uint64_t prev_seq = 0;
  for (;;) {
    auto page = store.read_log(from, kPage);
    if (!page) return refused(path, "cannot read the handover log: " + page.error().detail);
    for (const auto& row : *page) {
      if (!prev_hash.empty() && (row.prev_hash != prev_hash || row.seq != prev_seq + 1)) {
        return refused(path, "the handover log's chain breaks at seq " + std::to_string(row.seq) +
                                 " (its prev_hash is not the hash of seq " + std::to_string(prev_seq) +
                                 "): rows were removed or altered" + kRestore);
      }
      if (audit::link_hash(row.prev_hash, audit::content_hash(row)) != row.hash) {
        return refused(path, "the handover log's row seq " + std::to_string(row.seq) +
                                 " does not match its hash: the row was altered" + kRestore);
      }
      prev_hash = row.hash;
      prev_seq = row.seq;
    }
    if (page->size() < kPage) return {};
    from = page->back().seq + 1;
  }
}

}  // namespace

Result<void> quick_check(sqlite3* db, const std::string& path) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA quick_check(5)", -1, &raw, nullptr) != SQLITE_OK) {
    return refused(path, std::string("damaged: the integrity check cannot run: ") + sqlite3_errmsg(db) + kRestore);
  }
  StmtHandle stmt(raw);
  std::vector<std::string> findings;
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    findings.emplace_back(text == nullptr ? "" : text);
  }
  if (rc != SQLITE_DONE) {
    return refused(path, std::string("damaged: the integrity check (quick_check) failed: ") + sqlite3_errmsg(db) +
                             kRestore);
  }
  if (findings.size() == 1 && findings.front() == "ok") return {};
  std::string joined;
  for (const auto& f : findings) joined += (joined.empty() ? "" : "; ") + f;
  return refused(path, "damaged pages: the integrity check (quick_check) found: " + joined + kRestore);
}

Result<void> check_log_tail(SqliteStore& store, const std::string& path, const TailCheck& check) {
  const LogHead head = store.log_head();
  auto high_water = assigned_high_water(store.connection(), path);
  if (!high_water) return high_water.error();
  if (*high_water > head.seq) {
    return refused(path, "the handover log ends at seq " + std::to_string(head.seq) + " but seqs up to " +
                             std::to_string(*high_water) +
                             " were assigned (sqlite_sequence): rows at its end were removed" + kRestore);
  }

  auto checkpoints = store.read_checkpoints();
  if (!checkpoints) return refused(path, "cannot read the checkpoints: " + checkpoints.error().detail);
  std::uint64_t chain_from = head.seq > check.max_rows ? head.seq - check.max_rows + 1 : 1;
  if (!checkpoints->empty()) {
    const audit::Checkpoint& last = checkpoints->back();
    const std::string signed_at = "the last signed checkpoint (id " + std::to_string(last.id) + ", seq " +
                                  std::to_string(last.log_seq) + ")";
    if (!audit::verify_checkpoint(last)) {
      return refused(path, signed_at + " has no valid signature: it was altered" + kRestore);
    }
    if (last.log_seq > head.seq) {
      return refused(path, "the handover log ends at seq " + std::to_string(head.seq) + ", before " + signed_at +
                               ": its newest rows are lost" + kRestore);
    }
    if (last.log_seq > 0) {
      auto row = row_at(store, last.log_seq);
      if (!row) return refused(path, "cannot read the handover log: " + row.error().detail);
      if (!*row) {
        return refused(path, "the handover log has no row seq " + std::to_string(last.log_seq) + ", which " +
                                 signed_at + " covers" + kRestore);
      }
      if ((*row)->hash != last.head_hash) {
        return refused(path, "the handover log's row seq " + std::to_string(last.log_seq) +
                                 " is not the one " + signed_at + " signed (another hash)" + kRestore);
      }
      // The rows after it must extend it; the newest max_rows of them when there are more.
      chain_from = std::max(last.log_seq, chain_from);
    }
  }
  if (head.seq > 0) {
    if (auto r = check_chain(store, path, chain_from); !r) return r;
  }

  if (check.mark && check.mark->seq > 0) {
    const CommitMark& mark = *check.mark;
    const std::string recorded = " (recorded in " + check.lock_path + ")";
    if (mark.seq > head.seq) {
      return refused(path, "the handover log ends at seq " + std::to_string(head.seq) +
                               ", but the broker had committed up to seq " + std::to_string(mark.seq) + recorded +
                               ": committed transactions are missing (a damaged " + path +
                               "-wal, or an older copy of the store put in its place). If you restored a backup "
                               "on purpose, remove " + check.lock_path + " and start again" + kRestore);
    }
    auto row = row_at(store, mark.seq);
    if (!row) return refused(path, "cannot read the handover log: " + row.error().detail);
    if (!*row || (*row)->hash != mark.hash) {
      return refused(path, "the handover log's row seq " + std::to_string(mark.seq) +
                               " is not the one the broker committed" + recorded +
                               ": the store file was replaced or altered. If you restored a backup on purpose, "
                               "remove " + check.lock_path + " and start again" + kRestore);
    }
  }
  return {};
}

}  // namespace broker::store
