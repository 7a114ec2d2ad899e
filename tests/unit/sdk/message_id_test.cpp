#include "adapters/sdk/message_id.h"

#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/sdk/client.h"

namespace {

// A sequence over a clock the test sets and a counting source of "random" bits.
struct Fixture {
  std::uint64_t now = 0x0190'0000'0000ULL;
  std::uint64_t draws = 0;
  partner::MessageIdSequence ids{[this] { return now; }, [this] { return 0x1234'5678'9ABC'DEF0ULL + draws++; }};
};

std::string timestamp_hex(const std::string& id) { return id.substr(0, 8) + id.substr(9, 4); }

}  // namespace

TEST_CASE("uuid_v7 lays out the RFC 9562 example exactly", "[sdk][message_id]") {
  // RFC 9562 appendix A.6: unix_ts_ms 0x017F22E279B0, rand_a 0xCC3, rand_b 0x18C4DC0C0C07398F.
  CHECK(partner::format_uuid(partner::uuid_v7(0x017F22E279B0ULL, 0xCC3, 0x18C4DC0C0C07398FULL)) ==
        "017f22e2-79b0-7cc3-98c4-dc0c0c07398f");
}

TEST_CASE("uuid_v7 never lets the counter or the random bits overwrite the version or variant", "[sdk][message_id]") {
  const auto id = partner::format_uuid(partner::uuid_v7(0xFFFF'FFFF'FFFF'FFFFULL, 0xFFFF, ~0ULL));
  CHECK(id == "ffffffff-ffff-7fff-bfff-ffffffffffff");
}

TEST_CASE("new_message_id is lower-case UUID v7 text", "[sdk][message_id]") {
  static const std::regex kUuidV7("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 100; ++i) {
    std::string id = partner::new_message_id();
    INFO(id);
    CHECK(std::regex_match(id, kUuidV7));
  }
}

TEST_CASE("new_message_id does not repeat and sorts in the order made", "[sdk][message_id]") {
  constexpr int kCount = 10'000;
  std::vector<std::string> made;
  for (int i = 0; i < kCount; ++i) made.push_back(partner::new_message_id());
  CHECK(std::set<std::string>(made.begin(), made.end()).size() == kCount);
  for (std::size_t i = 1; i < made.size(); ++i) {
    INFO(made[i - 1] << " then " << made[i]);
    REQUIRE(made[i - 1] < made[i]);
  }
}

TEST_CASE("ids made by several threads at once never repeat", "[sdk][message_id]") {
  constexpr int kThreads = 4;
  constexpr int kEach = 2'000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&made, t] {
      for (int i = 0; i < kEach; ++i) made[static_cast<std::size_t>(t)].push_back(partner::new_message_id());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& ids : made) {
    for (std::size_t i = 1; i < ids.size(); ++i) REQUIRE(ids[i - 1] < ids[i]);  // each thread's in order too
    all.insert(ids.begin(), ids.end());
  }
  CHECK(all.size() == static_cast<std::size_t>(kThreads * kEach));
}

TEST_CASE("the id's timestamp is the clock's milliseconds", "[sdk][message_id]") {
  Fixture f;
  f.now = 0x017F22E279B0ULL;
  CHECK(timestamp_hex(f.ids.next()) == "017f22e279b0");
  f.now += 5;
  CHECK(timestamp_hex(f.ids.next()) == "017f22e279b5");
}

TEST_CASE("ids made within one millisecond still sort in the order made", "[sdk][message_id]") {
  Fixture f;
  std::string last = f.ids.next();
  for (int i = 0; i < 1'000; ++i) {
    const std::string id = f.ids.next();
    REQUIRE(last < id);
    REQUIRE(timestamp_hex(id) == timestamp_hex(last));
    last = id;
  }
}

TEST_CASE("a clock that goes back does not make an id sort before the last one", "[sdk][message_id]") {
  Fixture f;
  const std::string before = f.ids.next();
  f.now -= 60'000;  // the system clock stepped back a minute
  const std::string after = f.ids.next();
  CHECK(before < after);
  CHECK(timestamp_hex(after) == timestamp_hex(before));
  f.now += 120'000;  // and on past where it was: the clock's time again
  CHECK(timestamp_hex(f.ids.next()) == "01900000ea60");
}

TEST_CASE("a spent counter borrows the next millisecond instead of repeating an id", "[sdk][message_id]") {
  Fixture f;
  std::set<std::string> seen;
  std::string last;
  for (int i = 0; i < 5'000; ++i) {  // more than the 12-bit counter holds in one millisecond
    const std::string id = f.ids.next();
    REQUIRE(last < id);
    REQUIRE(seen.insert(id).second);
    last = id;
  }
  CHECK(timestamp_hex(last) != "019000000000");  // moved ahead of the clock that stood still
  f.now += 1'000;  // a later clock is used again as it is
  CHECK(timestamp_hex(f.ids.next()) == "0190000003e8");
}
