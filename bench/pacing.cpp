#include "bench/pacing.h"

#include <cmath>

namespace bench {

std::chrono::nanoseconds RatePacer::due(std::uint64_t index) const {
  if (!paced()) return std::chrono::nanoseconds{0};
  // index * 1e9 / rate, computed in long double so 1e7 messages at 1e6/s stay exact to the ns.
  long double ns = static_cast<long double>(index) * 1e9L / static_cast<long double>(rate_);
  return std::chrono::nanoseconds{static_cast<std::int64_t>(std::llround(ns))};
}

std::uint64_t lane_count(std::uint64_t total, std::uint32_t lanes, std::uint32_t lane) {
  if (lanes == 0 || lane >= lanes || lane >= total) return 0;
  return (total - lane + lanes - 1) / lanes;
}

}  // namespace bench
