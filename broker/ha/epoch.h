#pragma once
// Epoch: the leader's fencing token. Every acquisition of the lease makes it strictly larger, so a
// write stamped with an older epoch is recognisably from a deposed leader.

#include <compare>
#include <cstdint>

namespace broker::ha {

struct Epoch {
  std::int64_t value = 0;
  friend auto operator<=>(const Epoch&, const Epoch&) = default;
};

}  // namespace broker::ha
