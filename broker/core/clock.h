#pragma once
// Clock: where the broker loop reads the time. Every `now` of a loop turn (delivery deadlines,
// session silence, ttl expiry, norm timers, retention sweeps, report schedule, checkpoints, alerts)
// and the time of the `started` event come from the one clock given to Broker::start, so a test can
// hand in a clock it advances itself instead of waiting out a broker timeout on the wall clock.
// The broker keeps the clock the caller gives; nothing in a deployment sets another than the system
// clock. Liveness (/healthz) is measured on real time regardless (broker/ops).
//
// Threading: called from the broker loop's thread only (and from the thread that calls
// Broker::start); a clock that another thread changes must be safe for that (e.g. atomic).

#include <functional>

#include "contracts/envelope.h"

namespace broker::core {

// Milliseconds since the Unix epoch, UTC, as contracts::now_millis() gives them.
using Clock = std::function<contracts::Millis()>;

// contracts::now_millis: the system clock, the broker's default.
Clock system_clock();

}  // namespace broker::core
