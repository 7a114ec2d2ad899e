#pragma once
// Leadership: one broker instance's hold on the leader lease of a PostgreSQL store (broker/ha;
// docs/high-availability.md). `keten serve` on PostgreSQL waits as a standby until it acquires the
// lease, serves with the lease's epoch as the fencing token of every store commit, and stops serving
// the moment it can no longer be sure it holds the lease.
//
// Once acquired, the lease is renewed by a thread of its own (the lease has its own connection),
// every third of the ttl, so that neither a long loop turn nor a slow start lets it run out. The loop
// asks keep() between steps: a cheap check of what that thread found.
//
// Threading: wait() and release() on one thread (serve's, then the loop's); keep() from the loop;
// the stop flag given to wait() may be set from anywhere. Movable, not copyable.
// Errors: kConfig for bad lease options, kStorage "leadership lost: ..." from keep().

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "broker/ha/epoch.h"
#include "broker/ha/leader_lease.h"
#include "contracts/error.h"

namespace broker::core {

class Leadership {
 public:
  // Opens the lease (creating its table) and tries to acquire it every `poll` until it is held, or
  // until `stop` is set (nullopt then). A database that cannot be reached is logged and retried
  // (a standby outlives a database restart); only bad options are returned as an error. Once held,
  // the renewal thread runs.
  [[nodiscard]] static contracts::Result<std::optional<Leadership>> wait(ha::LeaseOptions options,
                                                                         std::chrono::milliseconds poll,
                                                                         const std::atomic<bool>& stop);

  Leadership(Leadership&&) noexcept;
  Leadership& operator=(Leadership&&) noexcept;
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;
  // Stops the renewal thread and, unless the lease was lost or released, releases it (a start
  // that failed must not keep a standby waiting for the ttl).
  ~Leadership();

  ha::Epoch epoch() const;
  const std::string& holder() const;

  // Ok while the lease is held. An error means leadership is lost: another instance took over, or no
  // renewal succeeded before the lease's local expiry (LeaseTimer). The caller must stop serving at
  // once; its commits are fenced anyway.
  [[nodiscard]] contracts::Result<void> keep() const;
  // At a clean stop: stops renewing and gives the lease up, so that a standby takes over at its next
  // attempt instead of waiting for the lease to run out. A failure is logged.
  void release();

 private:
  struct State;
  explicit Leadership(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace broker::core
