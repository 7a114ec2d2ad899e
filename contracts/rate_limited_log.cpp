#include "contracts/rate_limited_log.h"

#include <utility>

namespace contracts {

RateLimitedLog::RateLimitedLog(std::chrono::milliseconds interval, Clock clock)
    : interval_(interval), clock_(std::move(clock)) {}

std::optional<std::uint64_t> RateLimitedLog::admit(std::string_view text) {
  const auto now = clock_();
  if (occurring_ && text == last_text_ && now - last_written_ < interval_) {
    ++held_back_;
    return std::nullopt;
  }
  const std::uint64_t held_back = held_back_;
  occurring_ = true;
  last_text_.assign(text);
  last_written_ = now;
  held_back_ = 0;
  return held_back;
}

std::optional<std::uint64_t> RateLimitedLog::clear() {
  if (!occurring_) return std::nullopt;
  const std::uint64_t held_back = held_back_;
  occurring_ = false;
  last_text_.clear();
  held_back_ = 0;
  return held_back;
}

std::string suppressed_field(std::uint64_t held_back) {
  return held_back == 0 ? std::string() : " suppressed=" + std::to_string(held_back);
}

}  // namespace contracts
