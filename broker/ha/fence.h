#pragma once
// Fencing: the check that keeps a deposed or frozen leader from committing.
//
// Every write transaction of the leader runs check_fence() as its last statement before COMMIT.
// It reads the lease row FOR SHARE and compares the epoch with the writer's own. A standby's
// takeover is an UPDATE of that row, which conflicts with FOR SHARE, so exactly one of two things
// happens: the takeover committed first, and the check reads the new epoch and fails (the writer
// rolls back: none of its rows exist); or the check locked the row first, and the takeover waits
// until the write transaction ends, so the write is ordered before the new epoch. A leader frozen
// while holding that lock is cut off by limit_idle_transactions(): the server ends its session
// and rolls its transaction back, and the takeover proceeds. docs/high-availability.md,
// "Leader election and fencing on PostgreSQL".

#include <chrono>
#include <functional>

#include "broker/ha/epoch.h"
#include "broker/ha/pg_connection.h"
#include "contracts/error.h"

namespace broker::ha {

// Inside an open transaction on `conn`: locks the lease row FOR SHARE and checks that its epoch is
// `mine`. Error kStorage "fenced: ..." naming the epoch and holder that took over, or libpq's
// message. After an error the caller must roll back.
[[nodiscard]] contracts::Result<void> check_fence(PgConnection& conn, Epoch mine);

// Sets idle_in_transaction_session_timeout on `conn`'s session: a transaction left idle longer
// than `limit` (a frozen process) is ended by the server. Use the lease ttl. Call again after a
// reconnect.
[[nodiscard]] contracts::Result<void> limit_idle_transactions(PgConnection& conn, std::chrono::milliseconds limit);

// BEGIN; body(conn); check_fence(conn, mine); COMMIT. Any failure rolls back (when the connection
// still allows it) and is returned; the body's writes are then not in the database.
[[nodiscard]] contracts::Result<void> run_fenced(PgConnection& conn, Epoch mine,
                                                 const std::function<contracts::Result<void>(PgConnection&)>& body);

}  // namespace broker::ha
