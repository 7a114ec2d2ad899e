#include "broker/ha/lease_timer.h"

#include <catch2/catch.hpp>

using broker::ha::LeaseTimer;
using std::chrono::milliseconds;

namespace {
const LeaseTimer::Clock::time_point t0{std::chrono::seconds(1000)};
}

TEST_CASE("lease timer: a lease never confirmed is not held", "[ha]") {
  LeaseTimer timer(milliseconds(3000));
  CHECK_FALSE(timer.is_leader(t0));
}

TEST_CASE("lease timer: the holder stops counting itself leader before the ttl from the send time", "[ha]") {
  LeaseTimer timer(milliseconds(3000));
  timer.confirmed(t0);
  CHECK(timer.is_leader(t0));
  CHECK(timer.is_leader(t0 + milliseconds(2699)));
  // The database's expiry is now() + ttl at the statement, no earlier than t0 + ttl: the local view
  // ends a tenth of the ttl before that.
  CHECK_FALSE(timer.is_leader(t0 + milliseconds(2700)));
  CHECK_FALSE(timer.is_leader(t0 + milliseconds(3000)));
}

TEST_CASE("lease timer: renewal is due a third of the ttl after the last confirmed send", "[ha]") {
  LeaseTimer timer(milliseconds(3000));
  timer.confirmed(t0);
  CHECK(timer.renew_due() == t0 + milliseconds(1000));
  timer.confirmed(t0 + milliseconds(1000));
  CHECK(timer.renew_due() == t0 + milliseconds(2000));
  CHECK(timer.is_leader(t0 + milliseconds(3500)));
}

TEST_CASE("lease timer: a late answer to an older renewal does not move the expiry backwards", "[ha]") {
  LeaseTimer timer(milliseconds(3000));
  timer.confirmed(t0 + milliseconds(1000));
  timer.confirmed(t0);
  CHECK(timer.is_leader(t0 + milliseconds(3500)));
}

TEST_CASE("lease timer: a lost lease is not held, whatever the time", "[ha]") {
  LeaseTimer timer(milliseconds(3000));
  timer.confirmed(t0);
  timer.lost();
  CHECK_FALSE(timer.is_leader(t0));
}
