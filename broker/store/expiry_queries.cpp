// SqliteStore::pending_accepted_before: the read the expiry of deliveries needs (docs/contracts.md,
// "Expiry").
#include <sqlite3.h>

#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"

namespace broker::store {

Result<std::vector<std::int64_t>> SqliteStore::pending_accepted_before(std::string_view contract, std::uint32_t version,
                                                                       Millis accepted_before, std::size_t limit) {
  sqlite3* db = connection();
  auto fail = [db]() {
    return contracts::Error{contracts::ErrorCode::kStorage,
                            std::string("read expired deliveries : ") + sqlite3_errmsg(db)};
  };
  // The undelivered rows through deliveries_open_by_recipient, each one's message by its seq: a
  // sweep (once a second per contract with a ttl, on the loop) costs the backlog, not the history.
  // The partial index's "state IN (0, 1)" is repeated literally ("state = 0" alone does not imply
  // it); CROSS JOIN keeps deliveries the outer loop (SQLite would otherwise start from the
  // contract's messages through messages_by_contract, every one ever stored: 275 ms a sweep on a
  // store of 300 000 delivered messages); "+d.id" keeps it from walking the whole table in id
  // order to save the sort. 0.13 ms on that store.
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT d.id FROM deliveries AS d CROSS JOIN messages AS m ON m.seq = d.message_seq "
                         "WHERE d.state = 0 AND d.state IN (0, 1) AND m.contract = ? AND m.version = ? "
                         "AND m.accepted_at <= ? ORDER BY +d.id LIMIT ?",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return fail();
  }
  StmtHandle stmt(raw);
  sqlite3_bind_text64(raw, 1, contract.data() ? contract.data() : "", contract.size(), SQLITE_STATIC, SQLITE_UTF8);
  sqlite3_bind_int64(raw, 2, version);
  sqlite3_bind_int64(raw, 3, accepted_before);
  sqlite3_bind_int64(raw, 4, static_cast<std::int64_t>(limit));
  std::vector<std::int64_t> out;
  for (;;) {
    const int rc = sqlite3_step(raw);
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return fail();
    out.push_back(sqlite3_column_int64(raw, 0));
  }
}

}  // namespace broker::store
