#pragma once
// LeaseTimer: the holder's own, conservative view of how long its lease lasts, on its monotonic
// clock. Pure logic; the caller passes the time in (tests use made-up time points).
//
// The database decides expiry with its own clock (now() + ttl, set by the renewing statement). The
// holder cannot read that clock, but it knows that the statement ran after it sent it: counting
// the ttl from the send time ends no later than the database's expiry, as long as both clocks run
// at the same rate (they may differ in offset; that does not matter). A holder that has not heard
// a successful renewal by then must stop acting as leader. This is a courtesy that keeps a slow
// leader from trying work that would be fenced; the fencing check in every write transaction
// (fence.h) is what guarantees safety, whatever the clocks do.

#include <chrono>

namespace broker::ha {

class LeaseTimer {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LeaseTimer(std::chrono::milliseconds ttl) : ttl_(ttl) {}

  // An acquire or renew statement sent at `sent_at` succeeded.
  void confirmed(Clock::time_point sent_at);
  // The lease was lost, released or never held.
  void lost() { held_ = false; }

  // Held, and `now` is before the conservative expiry minus a safety margin of a tenth of the ttl.
  bool is_leader(Clock::time_point now) const;
  // When the next renewal is due: a third of the ttl after the last confirmed send, so two
  // renewals may fail before the lease runs out.
  Clock::time_point renew_due() const { return sent_at_ + ttl_ / 3; }
  std::chrono::milliseconds ttl() const { return ttl_; }

 private:
  std::chrono::milliseconds ttl_;
  Clock::time_point sent_at_{};
  bool held_ = false;
};

}  // namespace broker::ha
