#pragma once
// The next delivery for a test client, which must come within `wait`.

#include <catch2/catch.hpp>

#include <chrono>

#include "adapters/sdk/client.h"

namespace test_support {

inline contracts::Deliver receive_one(partner::Client& c, std::chrono::milliseconds wait = std::chrono::seconds(10)) {
  auto d = c.receive(wait);
  REQUIRE(d);
  REQUIRE(d->has_value());
  return std::move(**d);
}

}  // namespace test_support
