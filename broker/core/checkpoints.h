#pragma once
// Checkpoints: the loop's part in the handover log's signed checkpoints (docs/protocol.md,
// "Receipt"; docs/handover-log-format.md). The store signs a checkpoint at every commit that
// appends; this keeps the rest:
//   - every checkpoint_interval, and at shutdown, it has the store sign one over events that other
//     processes appended since (a `keten log` tool's log_read), in its own transaction;
//   - after a turn's commit it puts the checkpoint signed at that commit into the turn's receipts
//     and ack answers, so each carries a signed tree that holds its event;
//   - it knows since when the whole log is covered by a checkpoint (the checkpoint age in ops).
// Without a signing key it does nothing: no checkpoints, receipts without one. Failures are
// logged at most once per interval with the number held back, and never stop the loop.
//
// Threading: the broker loop thread only.

#include <chrono>

#include "contracts/envelope.h"
#include "contracts/rate_limited_log.h"

namespace broker::store {
class Store;
}

namespace broker::core {

class TurnAnswers;

class Checkpoints {
 public:
  // `signs`: the broker has a signing key. `store` must outlive this.
  Checkpoints(store::Store& store, std::chrono::milliseconds interval, bool signs);

  // The log was covered by a signed checkpoint at `now` (at start: the started event's commit).
  void covered_at(contracts::Millis now) { covered_at_ = now; }
  contracts::Millis covered_at() const { return covered_at_; }

  // When the interval has passed since the log was last covered (or `force`): has the store sign
  // a checkpoint over events no checkpoint covers, if any. A failure is logged; the next turn
  // tries again. Returns the failure for a caller that reports it (at shutdown).
  contracts::Result<void> keep_covered(contracts::Millis now, bool force = false);

  // After a commit: the waiting receipts and ack answers carry the store's latest checkpoint,
  // signed at that commit. When none can be read they go without, and that is logged.
  void anchor(TurnAnswers& answers);

 private:
  contracts::Result<void> sign_uncovered(contracts::Millis now, bool force);

  store::Store& store_;
  std::chrono::milliseconds interval_;
  bool signs_;
  contracts::Millis covered_at_ = 0;
  contracts::RateLimitedLog sign_errors_;
  contracts::RateLimitedLog anchor_errors_;
};

}  // namespace broker::core
