// partner::ResendSchedule: when send() sends another copy and when it gives up, driven by a made-up
// clock (time points chosen by the test; nothing sleeps).
#include "adapters/sdk/resend_schedule.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <vector>

namespace {

using namespace std::chrono_literals;
using partner::ResendSchedule;
using TimePoint = ResendSchedule::TimePoint;

const TimePoint kStart = TimePoint{} + 1000h;  // any fixed instant

// The offsets from kStart at which copies go out when nothing answers and every due copy is sent
// the moment it is due, until the schedule gives up.
std::vector<std::chrono::milliseconds> copies_until_give_up(const partner::ResendTiming& timing) {
  ResendSchedule schedule(timing, kStart);
  std::vector<std::chrono::milliseconds> at;
  TimePoint now = kStart;
  while (true) {
    now = schedule.next_resend();
    if (schedule.is_expired(now)) break;
    REQUIRE(schedule.is_due(now));
    at.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(now - kStart));
    schedule.resent(now);
  }
  CHECK(now == kStart + timing.receipt_timeout);
  return at;
}

}  // namespace

TEST_CASE("resend schedule backs off by doubling up to its maximum, then gives up",
          "[sdk][resend]") {
  // The defaults: 2 s, doubling to 8 s, 30 s in all.
  CHECK(copies_until_give_up({30s, 2s, 8s}) ==
        std::vector<std::chrono::milliseconds>{2s, 6s, 14s, 22s});
  CHECK(copies_until_give_up({10s, 1s, 100s}) ==
        std::vector<std::chrono::milliseconds>{1s, 3s, 7s});
}

TEST_CASE("resend schedule is not due before its interval and never at or after giving up",
          "[sdk][resend]") {
  ResendSchedule schedule({5s, 2s, 8s}, kStart);
  CHECK(schedule.next_resend() == kStart + 2s);
  CHECK_FALSE(schedule.is_due(kStart));
  CHECK_FALSE(schedule.is_due(kStart + 1999ms));
  CHECK(schedule.is_due(kStart + 2s));
  CHECK_FALSE(schedule.is_expired(kStart + 4999ms));

  schedule.resent(kStart + 2s);
  CHECK(schedule.interval() == 4s);
  // The next copy would be due at 6 s, after giving up at 5 s: the wait ends at 5 s.
  CHECK(schedule.next_resend() == kStart + 5s);
  CHECK_FALSE(schedule.is_due(kStart + 5s));
  CHECK(schedule.is_expired(kStart + 5s));
}

TEST_CASE("resend schedule counts a copy sent early (a renewed connection) from when it went",
          "[sdk][resend]") {
  ResendSchedule schedule({60s, 2s, 8s}, kStart);
  schedule.resent(kStart + 500ms);  // reconnected half a second in: resent at once
  CHECK(schedule.next_resend() == kStart + 4500ms);
  CHECK_FALSE(schedule.is_due(kStart + 2s));  // the original 2 s mark is no longer due
  schedule.resent(kStart + 4500ms);
  schedule.resent(kStart + 12500ms);
  CHECK(schedule.interval() == 8s);  // held at the maximum
  CHECK(schedule.next_resend() == kStart + 20500ms);
}

TEST_CASE("resend schedule keeps the first interval when the maximum is below it",
          "[sdk][resend]") {
  ResendSchedule schedule({120s, 60s, 8s}, kStart);
  CHECK(schedule.next_resend() == kStart + 60s);
  schedule.resent(kStart + 60s);
  CHECK(schedule.interval() == 60s);
  CHECK(schedule.next_resend() == kStart + 120s);
}
