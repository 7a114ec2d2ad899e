#pragma once
// Leadership: one broker instance's hold on the leader lease of a PostgreSQL store (broker/ha;
// docs/high-availability.md). `keten serve` on PostgreSQL waits as a standby until it acquires the
// lease, serves with the lease's epoch as the fencing token of every store commit, renews the lease
// from the loop, and stops serving the moment it can no longer be sure it holds it.
//
// Threading: one thread (the broker loop's); the stop flag given to wait() may be set from anywhere.
// Errors: kConfig for bad lease options, kStorage "leadership lost: ..." from keep().

#include <atomic>
#include <chrono>
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
  // (a standby outlives a database restart); only bad options are returned as an error.
  [[nodiscard]] static contracts::Result<std::optional<Leadership>> wait(ha::LeaseOptions options,
                                                                         std::chrono::milliseconds poll,
                                                                         const std::atomic<bool>& stop);

  ha::Epoch epoch() const { return epoch_; }
  const std::string& holder() const { return lease_.options().holder; }

  // Renews the lease when a renewal is due. An error means leadership is lost: another instance
  // took over, or no renewal succeeded before the lease's local expiry (LeaseTimer). The caller must
  // stop serving at once; its commits are fenced anyway.
  [[nodiscard]] contracts::Result<void> keep();
  // At a clean stop: gives the lease up, so that a standby takes over at its next attempt instead
  // of waiting for the lease to run out. A failure is logged.
  void release();

 private:
  Leadership(ha::LeaderLease lease, ha::Epoch epoch) : lease_(std::move(lease)), epoch_(epoch) {}
  ha::LeaderLease lease_;
  ha::Epoch epoch_;
};

}  // namespace broker::core
