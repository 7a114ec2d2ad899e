#include "adapters/sdk/resend_schedule.h"

#include <algorithm>

namespace partner {

ResendSchedule::ResendSchedule(const ResendTiming& timing, TimePoint start)
    : resend_max_(std::max(timing.resend_max, timing.resend_after)),
      give_up_(start + timing.receipt_timeout),
      next_(start + timing.resend_after),
      interval_(timing.resend_after) {}

ResendSchedule::TimePoint ResendSchedule::next_resend() const { return std::min(next_, give_up_); }

void ResendSchedule::resent(TimePoint now) {
  interval_ = std::min(interval_ * 2, resend_max_);
  next_ = now + interval_;
}

}  // namespace partner
