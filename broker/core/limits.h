#pragma once
// Per-partner admission limits, pure logic (no clock, no store): a token-bucket rate limit on
// submits, and a bound on each recipient's backlog (deliveries accepted but not yet acknowledged or
// dead-lettered). The broker asks before it accepts; a refusal becomes a rejected receipt naming the
// limit (kRateLimited, kBacklogFull). docs/configuration.md describes the keys.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/envelope.h"

namespace broker::core {

class RateLimiter {
 public:
  // `per_second` 0 = unlimited. `burst` = how many may come at once after a quiet spell (>= 1).
  RateLimiter(double per_second, double burst) : rate_(per_second), burst_(burst < 1 ? 1 : burst) {}

  // Takes one token for `partner` at `now` (ms). False when the partner is over its limit.
  bool admit(const std::string& partner, contracts::Millis now);
  double per_second() const { return rate_; }
  double burst() const { return burst_; }

 private:
  struct Bucket {
    double tokens = 0;
    contracts::Millis at = 0;
  };
  double rate_;
  double burst_;
  std::map<std::string, Bucket, std::less<>> buckets_;
};

class BacklogBound {
 public:
  explicit BacklogBound(std::uint64_t max_per_recipient) : max_(max_per_recipient) {}

  // Replaces every count (at start and after a rolled-back transaction), from the store.
  void reset(std::map<std::string, std::uint64_t, std::less<>> counts) { counts_ = std::move(counts); }
  // The first of `recipients` whose backlog is at the bound, or nullopt when all have room. 0 = no bound.
  std::optional<std::string> full(const std::vector<std::string>& recipients) const;
  void added(const std::string& recipient) { ++counts_[recipient]; }
  // A delivery left the backlog (acknowledged or dead-lettered).
  void settled(const std::string& recipient);
  std::uint64_t count(std::string_view recipient) const;
  // Every recipient's undelivered count (pending and in flight), as the store has them.
  const std::map<std::string, std::uint64_t, std::less<>>& counts() const { return counts_; }
  std::uint64_t max() const { return max_; }

 private:
  std::uint64_t max_;
  std::map<std::string, std::uint64_t, std::less<>> counts_;
};

}  // namespace broker::core
