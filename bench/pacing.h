#pragma once
// Open-loop pacing for an offered rate: message i of a run is due i / rate seconds after the start,
// whoever sends it. Producers that fall behind send at once (they never skip) and latency is counted
// from the due time, so a stalled broker cannot hide its stall (no coordinated omission).
// Pure, no clock.

#include <chrono>
#include <cstdint>

namespace bench {

class RatePacer {
 public:
  // rate in messages per second; <= 0 means unpaced (every message due at once).
  explicit RatePacer(double rate) : rate_(rate) {}
  bool paced() const { return rate_ > 0; }
  // Offset from the start of the run at which message `index` (0-based, over all producers) is due.
  std::chrono::nanoseconds due(std::uint64_t index) const;

 private:
  double rate_;
};

// Message indices are dealt round-robin to producers: producer `lane` of `lanes` sends
// lane, lane + lanes, ... below `total`. How many that is.
std::uint64_t lane_count(std::uint64_t total, std::uint32_t lanes, std::uint32_t lane);

}  // namespace bench
