#include "adapters/sdk/message_id.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string_view>

#include "adapters/sdk/client.h"
#include "adapters/sdk/log.h"

namespace partner {

namespace {
constexpr std::uint16_t kCounterMax = 0x0FFF;   // 12 bits
constexpr std::uint16_t kCounterSeed = 0x07FF;  // a new millisecond starts below half
}  // namespace

std::string format_uuid(const UuidBytes& bytes) {
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string id;
  id.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id.push_back('-');
    id.push_back(kHex[bytes[i] >> 4]);
    id.push_back(kHex[bytes[i] & 0x0F]);
  }
  return id;
}

UuidBytes uuid_v7(std::uint64_t unix_ms, std::uint16_t counter, std::uint64_t random) {
  UuidBytes b{};
  for (std::size_t i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(unix_ms >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>(0x70 | ((counter >> 8) & 0x0F));  // version 7, rand_a's high 4 bits
  b[7] = static_cast<unsigned char>(counter & 0xFF);
  for (std::size_t i = 0; i < 8; ++i) b[8 + i] = static_cast<unsigned char>(random >> (56 - 8 * i));
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // the RFC 9562 variant
  return b;
}

std::string MessageIdSequence::next() {
  const std::uint64_t random = random_();
  std::uint64_t ms = clock_() & 0xFFFF'FFFF'FFFFULL;
  std::lock_guard lock(mutex_);
  if (started_ && ms <= last_ms_) {
    ms = last_ms_;
    if (counter_ == kCounterMax) {
      ++ms;  // spent: borrow the next millisecond
      counter_ = static_cast<std::uint16_t>(random_() & kCounterSeed);
    } else {
      ++counter_;
    }
  } else {
    counter_ = static_cast<std::uint16_t>(random_() & kCounterSeed);
  }
  started_ = true;
  last_ms_ = ms;
  return format_uuid(uuid_v7(ms, counter_, random));
}

std::string new_message_id() {
  static MessageIdSequence sequence(
      [] {
        const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
        return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count());
      },
      [] {
        static const bool sodium_ready = [] {
          if (sodium_init() < 0) {
            log().error("sodium_init failed; message ids come from randombytes without it");
            return false;
          }
          return true;
        }();
        (void)sodium_ready;
        std::uint64_t r = 0;
        randombytes_buf(&r, sizeof r);
        return r;
      });
  return sequence.next();
}

}  // namespace partner
