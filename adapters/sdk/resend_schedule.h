#pragma once
// ResendSchedule: when Client::send() sends another copy of an unanswered Submit, and when it gives
// up. Pure: every call takes the time from the caller, so tests drive it with a made-up clock.
//
// The first copy goes out at `start`; the next after `resend_after`, then after twice the previous
// interval each time, never more than `resend_max` (but never less than `resend_after`); no resend
// is due at or after give_up() = start + receipt_timeout. Why a back-off on one connection:
// docs/protocol.md, "Resending a Submit".

#include <chrono>

namespace partner {

struct ResendTiming {
  std::chrono::milliseconds receipt_timeout;  // give up this long after the first copy
  std::chrono::milliseconds resend_after;     // first interval; > 0
  std::chrono::milliseconds resend_max;       // longest interval; raised to resend_after if below
};

class ResendSchedule {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  ResendSchedule(const ResendTiming& timing, TimePoint start);

  // When the next copy is due; give_up() when no copy is due before it.
  TimePoint next_resend() const;
  TimePoint give_up() const { return give_up_; }
  bool is_due(TimePoint now) const { return now >= next_resend() && now < give_up_; }
  bool is_expired(TimePoint now) const { return now >= give_up_; }

  // A copy went out at `now` (on schedule or because the connection was renewed): the next one is
  // due one interval later, and the interval doubles up to resend_max.
  void resent(TimePoint now);

  std::chrono::milliseconds interval() const { return interval_; }  // the wait before the next copy

 private:
  std::chrono::milliseconds resend_max_;
  TimePoint give_up_;
  TimePoint next_;
  std::chrono::milliseconds interval_;
};

}  // namespace partner
