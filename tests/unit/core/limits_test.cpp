#include <catch2/catch.hpp>

#include "broker/core/limits.h"

using broker::core::BacklogBound;
using broker::core::RateLimiter;

TEST_CASE("the rate limit admits a burst, then its rate, per partner") {
  RateLimiter rate(10, 3);  // 10 per second, 3 at once
  for (int i = 0; i < 3; ++i) CHECK(rate.admit("ALPHA", 1'000));
  CHECK_FALSE(rate.admit("ALPHA", 1'000));
  CHECK(rate.admit("BRAVO", 1'000));      // another partner has its own bucket
  CHECK_FALSE(rate.admit("ALPHA", 1'050)); // half a token back
  CHECK(rate.admit("ALPHA", 1'100));       // a whole token after 100 ms
  CHECK_FALSE(rate.admit("ALPHA", 1'100));
  // A long quiet spell refills to the burst, not beyond.
  for (int i = 0; i < 3; ++i) CHECK(rate.admit("ALPHA", 60'000));
  CHECK_FALSE(rate.admit("ALPHA", 60'000));
}

TEST_CASE("a rate limit of 0 admits everything") {
  RateLimiter rate(0, 1);
  for (int i = 0; i < 1000; ++i) REQUIRE(rate.admit("ALPHA", 5));
}

TEST_CASE("the backlog bound names the first full recipient") {
  BacklogBound bound(2);
  bound.reset({{"BRAVO", 1}});
  CHECK_FALSE(bound.full({"BRAVO", "CHARLIE"}));
  bound.added("BRAVO");
  CHECK(bound.full({"CHARLIE", "BRAVO"}) == std::optional<std::string>("BRAVO"));
  bound.settled("BRAVO");
  CHECK_FALSE(bound.full({"BRAVO"}));
  CHECK(bound.count("BRAVO") == 1);
  bound.settled("NOBODY");  // nothing to settle: stays at zero
  CHECK(bound.count("NOBODY") == 0);
  BacklogBound unbounded(0);
  unbounded.reset({{"BRAVO", 1'000'000}});
  CHECK_FALSE(unbounded.full({"BRAVO"}));
}
