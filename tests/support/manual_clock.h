#pragma once
// ManualClock: a broker clock (broker/core/clock.h) that moves only when the test says so, for tests
// of broker timeouts (ack_timeout, ttl, norm deadlines, retention) that advance the time instead of
// waiting it out. It starts at the system clock's now, so the times a test puts in its messages
// (notice(): occurred a minute ago) stay in the past of the broker's clock.
//
// After advance() the broker sees the new time at its next loop turn (at most 100 ms away when
// idle): wait for the effect with a bounded receive or poll, not a fixed sleep.
//
// Threading: the broker reads it on its own thread while the test advances it: every member is
// safe from any thread. clock() holds a pointer: the ManualClock must outlive the broker using it.

#include <atomic>
#include <chrono>

#include "broker/core/clock.h"
#include "contracts/envelope.h"

namespace test_support {

class ManualClock {
 public:
  ManualClock() : now_(contracts::now_millis()) {}
  explicit ManualClock(contracts::Millis start) : now_(start) {}
  ManualClock(const ManualClock&) = delete;
  ManualClock& operator=(const ManualClock&) = delete;

  contracts::Millis now() const { return now_.load(); }
  void advance(std::chrono::milliseconds by) { now_.fetch_add(by.count()); }
  void set(contracts::Millis at) { now_.store(at); }

  // For Broker::start / BrokerHarness::use_clock.
  broker::core::Clock clock() const {
    return [this] { return now(); };
  }

 private:
  std::atomic<contracts::Millis> now_;
};

}  // namespace test_support
