#include "broker/ha/lease_timer.h"

namespace broker::ha {

void LeaseTimer::confirmed(Clock::time_point sent_at) {
  // A late answer to an older statement never moves the expiry backwards.
  if (!held_ || sent_at > sent_at_) sent_at_ = sent_at;
  held_ = true;
}

bool LeaseTimer::is_leader(Clock::time_point now) const {
  return held_ && now < sent_at_ + ttl_ - ttl_ / 10;
}

}  // namespace broker::ha
