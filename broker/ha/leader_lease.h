#pragma once
// LeaderLease: one broker instance's side of the leader election on PostgreSQL.
//
// One row (table keten_leader_lease, id = 1) holds the current epoch, the holder's name and the
// expiry, as a timestamp of the database's own clock. try_acquire() takes the lease when it is
// free or expired and bumps the epoch; renew() pushes the expiry on while the epoch is still
// ours. Expiry is judged only by the database's now(), so the hosts' clocks never have to agree.
// The epoch returned by try_acquire() is the fencing token for run_fenced()/check_fence()
// (fence.h). docs/high-availability.md, "Leader election and fencing on PostgreSQL".
//
// Threading: one thread. Owns its own connection (never share it with the writer's: a renewal must
// not wait behind a write transaction on the same session). Movable, not copyable.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "broker/ha/epoch.h"
#include "broker/ha/lease_timer.h"
#include "broker/ha/pg_connection.h"
#include "contracts/error.h"

namespace broker::ha {

struct LeaseOptions {
  std::string conninfo;                  // libpq connection string or postgresql:// URI
  std::string holder;                    // this instance's name, unique (e.g. host:pid); shown in the row
  std::chrono::milliseconds ttl{5'000};  // lease length, counted by the database's clock
  // This process's monotonic clock, for LeaseTimer only; tests inject their own.
  std::function<LeaseTimer::Clock::time_point()> now = [] { return LeaseTimer::Clock::now(); };
};

enum class RenewOutcome { kRenewed, kLost };

// The lease row as the database has it.
struct LeaseRow {
  Epoch epoch;
  std::string holder;
  bool expired = true;
};

class LeaderLease {
 public:
  // Connects and creates the table and its row if missing (safe when several instances start at
  // once). Errors: kConfig for an empty holder or a ttl under 100 ms, kStorage with libpq's message.
  [[nodiscard]] static contracts::Result<LeaderLease> open(LeaseOptions options);

  // Becomes leader when the lease is free or expired: returns the new epoch, larger than any
  // before. nullopt when another holder's lease is live (or when this instance already holds it:
  // renew instead). A lost connection is reconnected first.
  [[nodiscard]] contracts::Result<std::optional<Epoch>> try_acquire();
  // Pushes the expiry to now() + ttl if the epoch is still ours (even when the expiry has passed,
  // as long as nobody took over: the epoch, not the time, decides). kLost when another instance took
  // over; an error when the database could not be asked (then the lease may still be ours: try
  // again, and stop acting as leader once is_leader() says so). Requires a held epoch.
  [[nodiscard]] contracts::Result<RenewOutcome> renew();
  // Gives the lease up at once (expiry set to the past) if it is still ours.
  [[nodiscard]] contracts::Result<void> release();
  // The row as it is now.
  [[nodiscard]] contracts::Result<LeaseRow> read();

  // The epoch this instance holds: set by try_acquire(), cleared by kLost and release().
  std::optional<Epoch> epoch() const { return epoch_; }
  // Held, and the local conservative expiry (LeaseTimer) not passed.
  bool is_leader() const { return epoch_.has_value() && timer_.is_leader(options_.now()); }
  // When renew() is next due (LeaseTimer::renew_due()).
  LeaseTimer::Clock::time_point renew_due() const { return timer_.renew_due(); }
  const LeaseOptions& options() const { return options_; }

 private:
  LeaderLease(LeaseOptions options, PgConnection conn);
  [[nodiscard]] contracts::Result<void> ensure_connected();

  LeaseOptions options_;
  PgConnection conn_;
  LeaseTimer timer_;
  std::optional<Epoch> epoch_;
};

}  // namespace broker::ha
