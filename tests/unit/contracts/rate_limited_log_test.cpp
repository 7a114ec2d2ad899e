// RateLimitedLog with a hand-driven clock: no sleeping.
#include "contracts/rate_limited_log.h"

#include <catch2/catch.hpp>

namespace {

using namespace std::chrono_literals;
using contracts::RateLimitedLog;

struct ManualClock {
  std::chrono::steady_clock::time_point now{};
  RateLimitedLog::Clock clock() {
    return [this] { return now; };
  }
};

}  // namespace

TEST_CASE("a repeated identical error is written once per interval with the count held back",
          "[contracts][log]") {
  ManualClock t;
  RateLimitedLog log(10s, t.clock());
  CHECK(log.admit("disk I/O error") == 0u);  // the first is written at once
  int written = 0;
  for (int turn = 1; turn < 100; ++turn) {  // ten turns a second for ~10 s
    t.now += 100ms;
    if (log.admit("disk I/O error")) ++written;
  }
  CHECK(written == 0);  // 9.9 s: all held back
  t.now += 100ms;
  CHECK(log.admit("disk I/O error") == 99u);  // 10 s after the last line: written, with the count
  t.now += 100ms;
  CHECK_FALSE(log.admit("disk I/O error"));
}

TEST_CASE("a different error is written at once", "[contracts][log]") {
  ManualClock t;
  RateLimitedLog log(10s, t.clock());
  CHECK(log.admit("disk I/O error") == 0u);
  t.now += 1s;
  CHECK_FALSE(log.admit("disk I/O error"));
  t.now += 1s;
  CHECK(log.admit("database or disk is full") == 1u);
  t.now += 1s;
  CHECK_FALSE(log.admit("database or disk is full"));
}

TEST_CASE("clear ends an error, and the next occurrence is written at once", "[contracts][log]") {
  ManualClock t;
  RateLimitedLog log(10s, t.clock());
  CHECK_FALSE(log.clear());  // nothing was occurring
  CHECK(log.admit("disk I/O error") == 0u);
  t.now += 1s;
  CHECK_FALSE(log.admit("disk I/O error"));
  CHECK(log.is_occurring());
  CHECK(log.clear() == 1u);
  CHECK_FALSE(log.is_occurring());
  CHECK_FALSE(log.clear());
  t.now += 1s;
  CHECK(log.admit("disk I/O error") == 0u);  // the same text, but a new episode
}

TEST_CASE("suppressed_field is empty without held-back lines", "[contracts][log]") {
  CHECK(contracts::suppressed_field(0).empty());
  CHECK(contracts::suppressed_field(69) == " suppressed=69");
}
