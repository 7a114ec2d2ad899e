#include "broker/core/limits.h"

#include <algorithm>

namespace broker::core {

bool RateLimiter::admit(const std::string& partner, contracts::Millis now) {
  if (rate_ <= 0) return true;
  auto [it, fresh] = buckets_.try_emplace(partner, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh && now > b.at) {
    b.tokens = std::min(burst_, b.tokens + static_cast<double>(now - b.at) * rate_ / 1000.0);
    b.at = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

std::optional<std::string> BacklogBound::full(const std::vector<std::string>& recipients) const {
  if (max_ == 0) return std::nullopt;
  for (const auto& r : recipients) {
    if (count(r) >= max_) return r;
  }
  return std::nullopt;
}

void BacklogBound::settled(const std::string& recipient) {
  auto it = counts_.find(recipient);
  if (it != counts_.end() && it->second > 0) --it->second;
}

std::uint64_t BacklogBound::count(std::string_view recipient) const {
  auto it = counts_.find(recipient);
  return it == counts_.end() ? 0 : it->second;
}

}  // namespace broker::core
