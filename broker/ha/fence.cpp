#include "broker/ha/fence.h"

#include <string>

#include "broker/ha/lease_table.h"

namespace broker::ha {

contracts::Result<void> check_fence(PgConnection& conn, Epoch mine) {
  auto rows = conn.query("fence check", "SELECT epoch, holder FROM " + std::string(kLeaseTable) +
                                             " WHERE id = 1 FOR SHARE");
  if (!rows) return rows.error();
  if (rows->empty()) {
    return contracts::Error{contracts::ErrorCode::kStorage, "fenced: the lease row is missing"};
  }
  const std::int64_t current = std::stoll((*rows)[0][0]);
  if (current != mine.value) {
    return contracts::Error{contracts::ErrorCode::kStorage,
                            "fenced: this writer holds epoch " + std::to_string(mine.value) + ", the lease is at epoch " +
                                std::to_string(current) + " held by " + (*rows)[0][1]};
  }
  return {};
}

contracts::Result<void> limit_idle_transactions(PgConnection& conn, std::chrono::milliseconds limit) {
  // SET takes no parameters; the value is a number we format ourselves.
  auto r = conn.query("set idle_in_transaction_session_timeout",
                      "SET idle_in_transaction_session_timeout = " + std::to_string(limit.count()));
  if (!r) return r.error();
  return {};
}

contracts::Result<void> run_fenced(PgConnection& conn, Epoch mine,
                                   const std::function<contracts::Result<void>(PgConnection&)>& body) {
  auto begin = conn.query("begin", "BEGIN");
  if (!begin) return begin.error();
  auto rollback_with = [&conn](const contracts::Error& error) -> contracts::Result<void> {
    if (!conn.is_broken()) (void)conn.query("rollback", "ROLLBACK");
    return error;
  };
  if (auto r = body(conn); !r) return rollback_with(r.error());
  // Last, so the row lock that holds off a takeover lasts only until COMMIT.
  if (auto r = check_fence(conn, mine); !r) return rollback_with(r.error());
  auto commit = conn.query("commit", "COMMIT");
  if (!commit) return rollback_with(commit.error());
  return {};
}

}  // namespace broker::ha
