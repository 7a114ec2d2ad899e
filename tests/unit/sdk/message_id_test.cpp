#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <string>

#include "adapters/sdk/client.h"

TEST_CASE("new_message_id is lower-case UUID v4 text", "[sdk][message_id]") {
  static const std::regex kUuidV4(
      "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 100; ++i) {
    std::string id = partner::new_message_id();
    INFO(id);
    CHECK(std::regex_match(id, kUuidV4));
  }
}

TEST_CASE("new_message_id does not repeat", "[sdk][message_id]") {
  std::set<std::string> seen;
  constexpr int kCount = 10'000;
  for (int i = 0; i < kCount; ++i) seen.insert(partner::new_message_id());
  CHECK(seen.size() == kCount);
}
