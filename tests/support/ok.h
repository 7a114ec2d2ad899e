#pragma once
// ok(result): the value of an ok Result; fails the current Catch2 test with the error's detail
// otherwise. For tests that call many Result-returning functions in a row.

#include <catch2/catch.hpp>

#include <utility>

#include "contracts/error.h"

namespace test_support {

template <class T>
T ok(contracts::Result<T> result) {
  if (!result) FAIL("unexpected error: " << result.error().detail);
  return std::move(*result);
}

inline void ok(contracts::Result<void> result) {
  if (!result) FAIL("unexpected error: " << result.error().detail);
}


}  // namespace test_support
