#pragma once
// Message ids the SDK makes when a producer has none of its own: UUID version 7 text (RFC 9562
// §5.7), lower-case, 36 characters. The first 48 bits are the Unix time in milliseconds, so ids
// made later sort later as text, and a broker's index of message ids grows at its end instead of
// at a random place (a UUID v4 touches a random page of that index per message, which a store of
// millions of messages pays in pages written per commit). Within one process the ids are strictly
// increasing (RFC 9562 §6.2, method 1: a 12-bit counter in `rand_a`); 62 random bits in `rand_b`
// keep ids of different processes apart. An id reveals when it was made, to the millisecond; the
// broker's receipt states when the message was accepted anyway.

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>

namespace partner {

using UuidBytes = std::array<unsigned char, 16>;

// The canonical 8-4-4-4-12 lower-case hex text of 16 bytes.
std::string format_uuid(const UuidBytes& bytes);

// The version 7 UUID of `unix_ms` (its low 48 bits), `counter` in rand_a (its low 12 bits) and
// `random` in rand_b (its low 62 bits are used), with version 7 and the RFC 9562 variant set.
UuidBytes uuid_v7(std::uint64_t unix_ms, std::uint16_t counter, std::uint64_t random);

// Strictly increasing UUID v7 ids from one clock. When the clock stands still or goes back, the
// counter goes on from the last id; when the counter is spent (4 096 ids in one millisecond), the
// timestamp moves one millisecond ahead of the clock. A new millisecond starts the counter at a
// random value below 2 048, leaving room to count. Thread-safe.
class MessageIdSequence {
 public:
  using Clock = std::function<std::uint64_t()>;   // milliseconds since the Unix epoch
  using Random = std::function<std::uint64_t()>;  // 64 random bits
  MessageIdSequence(Clock clock, Random random) : clock_(std::move(clock)), random_(std::move(random)) {}

  std::string next();

 private:
  Clock clock_;
  Random random_;
  std::mutex mutex_;
  std::uint64_t last_ms_ = 0;
  std::uint16_t counter_ = 0;
  bool started_ = false;
};

}  // namespace partner
