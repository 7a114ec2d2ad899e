#include <catch2/catch.hpp>

#include "broker/policy/consent.h"
#include "contracts/time.h"

namespace {

using broker::policy::ConsentRegister;
using contracts::Millis;

constexpr const char* kTransport = "safe-transport-and-removal";
constexpr const char* kCare = "continuity-of-care";

Millis at(const char* rfc3339) { return *contracts::parse_rfc3339(rfc3339); }

std::string registration(const char* recipient, const char* purpose, const char* until, const char* form = nullptr) {
  std::string s = std::string(R"({"recipient":")") + recipient + R"(","purpose":")" + purpose +
                  R"(","valid_until":")" + until + "\"";
  if (form) s += std::string(R"(,"form_ref":")") + form + "\"";
  return s + "}";
}

std::string withdrawal(const char* recipient, const char* purpose, const char* form = nullptr) {
  std::string s = std::string(R"({"recipient":")") + recipient + R"(","purpose":")" + purpose + "\"";
  if (form) s += std::string(R"(,"form_ref":")") + form + "\"";
  return s + "}";
}

}  // namespace

TEST_CASE("a registered consent covers its case and recipient until valid_until") {
  ConsentRegister consents;
  REQUIRE(consents.apply("consent.registered", "m-1", "V-1",
                         registration("DVO", "safe-transport-and-removal", "2026-03-01T00:00:00Z"),
                         at("2026-02-01T10:00:00Z")));
  CHECK(consents.holding("V-1", "DVO", kTransport, at("2026-02-01T10:00:01Z")) == std::optional<std::string>("m-1"));
  CHECK_FALSE(consents.holding("V-1", "KMAR", kTransport, at("2026-02-01T10:00:01Z")));  // another recipient
  CHECK_FALSE(consents.holding("V-2", "DVO", kTransport, at("2026-02-01T10:00:01Z")));   // another case
  CHECK(consents.holding("V-1", "DVO", kTransport, at("2026-02-28T23:59:59Z")));
  CHECK_FALSE(consents.holding("V-1", "DVO", kTransport, at("2026-03-01T00:00:00Z")));    // expired (exclusive)
}

TEST_CASE("a withdrawal ends the consent for every later delivery") {
  ConsentRegister consents;
  REQUIRE(consents.apply("consent.registered", "m-1", "V-1",
                         registration("DVO", "safe-transport-and-removal", "2027-01-01T00:00:00Z"), 1'000));
  REQUIRE(consents.apply("consent.withdrawn", "m-2", "V-1", withdrawal("DVO", "safe-transport-and-removal"), 5'000));
  CHECK(consents.holding("V-1", "DVO", kTransport, 4'999));  // a delivery made before the withdrawal saw it
  CHECK_FALSE(consents.holding("V-1", "DVO", kTransport, 5'000));
  CHECK_FALSE(consents.holding("V-1", "DVO", kTransport, 9'000));

  SECTION("a new registration after the withdrawal is a new consent") {
    REQUIRE(consents.apply("consent.registered", "m-3", "V-1",
                           registration("DVO", "safe-transport-and-removal", "2027-01-01T00:00:00Z"), 10'000));
    CHECK(consents.holding("V-1", "DVO", kTransport, 10'001) == std::optional<std::string>("m-3"));
  }
}

TEST_CASE("a withdrawal touches only its purpose, and only its form when it names one") {
  ConsentRegister consents;
  REQUIRE(consents.apply("consent.registered", "transport", "V-1",
                         registration("DVO", "safe-transport-and-removal", "2027-01-01T00:00:00Z", "M39-A/1"), 1'000));
  REQUIRE(consents.apply("consent.registered", "care", "V-1",
                         registration("DVO", "continuity-of-care", "2027-01-01T00:00:00Z", "M39-A/2"), 1'001));
  REQUIRE(consents.apply("consent.withdrawn", "w-1", "V-1", withdrawal("DVO", "continuity-of-care", "M39-A/9"), 2'000));
  CHECK(consents.holding("V-1", "DVO", kCare, 3'000) == std::optional<std::string>("care"));  // other form: untouched
  CHECK(consents.holding("V-1", "DVO", kTransport, 3'000) == std::optional<std::string>("transport"));
  REQUIRE(consents.apply("consent.withdrawn", "w-2", "V-1", withdrawal("DVO", "continuity-of-care"), 4'000));
  CHECK_FALSE(consents.holding("V-1", "DVO", kCare, 5'000));
  CHECK(consents.holding("V-1", "DVO", kTransport, 5'000) == std::optional<std::string>("transport"));
  REQUIRE(consents.apply("consent.withdrawn", "w-3", "V-1", withdrawal("DVO", "safe-transport-and-removal", "M39-A/1"), 6'000));
  CHECK_FALSE(consents.holding("V-1", "DVO", kTransport, 7'000));
}

TEST_CASE("consent payloads missing what the rules need are refused by name") {
  ConsentRegister consents;
  auto no_recipient = consents.apply("consent.registered", "m", "V-1", R"({"purpose":"continuity-of-care"})", 1);
  REQUIRE_FALSE(no_recipient);
  CHECK(no_recipient.error().detail.find("/recipient") != std::string::npos);
  auto bad_until = consents.apply("consent.registered", "m", "V-1",
                                  R"({"recipient":"DVO","purpose":"continuity-of-care","valid_until":"soon"})", 1);
  REQUIRE_FALSE(bad_until);
  CHECK(bad_until.error().detail.find("/valid_until") != std::string::npos);
  CHECK_FALSE(consents.apply("consent.registered", "m", "V-1", "not json", 1));
  CHECK(consents.size() == 0);
  // Other contracts are none of its business.
  CHECK(consents.apply("departure.scheduled", "m", "V-1", "{}", 1));
  CHECK(consents.size() == 0);
}

TEST_CASE("a consent covers only the purpose it was given for") {
  ConsentRegister consents;
  REQUIRE(consents.apply("consent.registered", "care", "V-1",
                         registration("DVO", "continuity-of-care", "2027-01-01T00:00:00Z"), 1'000));
  // A contract that declares safe-transport-and-removal for DVO is not opened by it.
  CHECK_FALSE(consents.holding("V-1", "DVO", kTransport, 2'000));
  CHECK(consents.holding("V-1", "DVO", kCare, 2'000) == std::optional<std::string>("care"));
  REQUIRE(consents.apply("consent.registered", "transport", "V-1",
                         registration("DVO", "safe-transport-and-removal", "2027-01-01T00:00:00Z"), 3'000));
  CHECK(consents.holding("V-1", "DVO", kTransport, 4'000) == std::optional<std::string>("transport"));
  CHECK(consents.holding("V-1", "DVO", kCare, 4'000) == std::optional<std::string>("care"));
}

TEST_CASE("no consent covers a recipient for which the contract declares no purpose") {
  ConsentRegister consents;
  REQUIRE(consents.apply("consent.registered", "m-1", "V-1",
                         registration("DVO", "safe-transport-and-removal", "2027-01-01T00:00:00Z"), 1'000));
  CHECK_FALSE(consents.holding("V-1", "DVO", "", 2'000));
}
