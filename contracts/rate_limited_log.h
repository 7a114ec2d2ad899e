#pragma once
// RateLimitedLog: keeps an error that recurs on every loop turn to one log line per interval. A
// full disk fails every commit the broker tries (about ten a second, idle or not); each failure
// is the same line, and a log that grows by seven lines a second on a disk that is already full
// helps nobody. One instance per kind of error (one call site).
//
// The first occurrence is written at once. The same text again within `interval` of the last
// written line is only counted; the first one after it is written with that count. A different
// text is written at once. clear() says the condition is gone (the commit succeeded).
// Pure logic with an injected clock; the caller writes the line. Not thread-safe: one owner
// (the broker loop).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace contracts {

class RateLimitedLog {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  explicit RateLimitedLog(std::chrono::milliseconds interval,
                          Clock clock = &std::chrono::steady_clock::now);

  // One occurrence of the error `text`. nullopt: stay quiet. Otherwise write the line now,
  // noting the returned number of occurrences held back since the last line written (0: none).
  std::optional<std::uint64_t> admit(std::string_view text);

  // The error stopped. nullopt when it was not occurring; else the occurrences held back since
  // the last line written (the caller may log that it cleared, with that count).
  std::optional<std::uint64_t> clear();

  bool is_occurring() const { return occurring_; }

 private:
  std::chrono::milliseconds interval_;
  Clock clock_;
  bool occurring_ = false;
  std::string last_text_;
  std::chrono::steady_clock::time_point last_written_{};
  std::uint64_t held_back_ = 0;
};

// " suppressed=N" for a line written after N occurrences were held back, "" for N = 0: a key=value
// field to append to the written line.
std::string suppressed_field(std::uint64_t held_back);

}  // namespace contracts
