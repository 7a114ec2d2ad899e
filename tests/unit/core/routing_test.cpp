#include <catch2/catch.hpp>

#include "broker/core/routing.h"
#include "contracts/registry.h"

namespace {

contracts::Contract make_contract(std::vector<std::string> owners, std::vector<std::string> consumers) {
  auto validator = contracts::PayloadValidator::compile(R"({"type":"object"})");
  REQUIRE(validator);
  contracts::Contract c{.name = "transfer.announced", .version = 1, .description = "test",
                        .owners = std::move(owners), .consumers = std::move(consumers), .path = {},
                        .validator = std::move(*validator), .schema_json = "{}", .norms = {},
                        .projections = {}};
  return c;
}

const std::vector<std::string> kPartners = {"IND", "COA", "DTV", "KMAR", "DJI", "DVO", "GZA"};

}  // namespace

TEST_CASE("routing sends to every configured consumer when no recipients are named", "[core][routing]") {
  auto c = make_contract({"DTV"}, {"COA", "DVO", "GZA", "AIR-KL"});
  auto d = broker::core::route(c, "DTV", {}, kPartners);
  REQUIRE(d.ok());
  CHECK(d.recipients == std::vector<std::string>{"COA", "DVO", "GZA"});  // AIR-KL has no key here
}

TEST_CASE("routing refuses a producer that does not own the contract", "[core][routing]") {
  auto c = make_contract({"DTV"}, {"COA"});
  auto d = broker::core::route(c, "COA", {}, kPartners);
  CHECK(d.code == contracts::ErrorCode::kNotOwner);
  CHECK(d.recipients.empty());
  CHECK_THAT(d.detail, Catch::Contains("COA") && Catch::Contains("DTV"));
}

TEST_CASE("routing accepts any of several named producers", "[core][routing]") {
  auto c = make_contract({"DVO", "KMAR"}, {"DTV", "DVO", "KMAR"});
  auto d = broker::core::route(c, "KMAR", {}, kPartners);
  REQUIRE(d.ok());
  CHECK(d.recipients == std::vector<std::string>{"DTV", "DVO"});  // never back to the sender
}

TEST_CASE("routing limits explicit recipients to the contract's consumers", "[core][routing]") {
  auto c = make_contract({"DTV"}, {"COA", "DVO"});
  SECTION("a consumer is fine") {
    auto d = broker::core::route(c, "DTV", {"DVO"}, kPartners);
    REQUIRE(d.ok());
    CHECK(d.recipients == std::vector<std::string>{"DVO"});
  }
  SECTION("a known partner that is not a consumer is refused by position") {
    auto d = broker::core::route(c, "DTV", {"DVO", "KMAR"}, kPartners);
    CHECK(d.code == contracts::ErrorCode::kRecipientNotAllowed);
    REQUIRE(d.errors.size() == 1);
    CHECK(d.errors[0].pointer == "header.recipients[1]");
    CHECK(d.recipients.empty());
  }
  SECTION("an unknown partner is refused") {
    auto d = broker::core::route(c, "DTV", {"NOBODY"}, kPartners);
    CHECK(d.code == contracts::ErrorCode::kUnknownPartner);
    REQUIRE(d.errors.size() == 1);
    CHECK(d.errors[0].code == "unknown_partner");
  }
}

TEST_CASE("a consumer that declares its versions gets only those", "[core][routing][versions]") {
  auto c = make_contract({"DTV"}, {"COA", "DVO", "GZA"});  // transfer.announced v1
  broker::core::VersionChoices choices{{"DVO", {{"transfer.announced", {2}}}}, {"GZA", {{"other.contract", {1}}}}};
  auto d = broker::core::route(c, "DTV", {}, kPartners, &choices);
  REQUIRE(d.ok());
  CHECK(d.recipients == std::vector<std::string>{"COA", "GZA"});  // GZA chose versions of another contract only
  REQUIRE(d.skipped.size() == 1);
  CHECK(d.skipped[0].partner == "DVO");
  CHECK(d.skipped[0].reason == "DVO takes transfer.announced v2 only");

  auto named = broker::core::route(c, "DTV", {"COA", "DVO"}, kPartners, &choices);
  CHECK(named.code == contracts::ErrorCode::kRecipientNotAllowed);
  REQUIRE(named.errors.size() == 1);
  CHECK(named.errors[0].pointer == "header.recipients[1]");
  CHECK(named.errors[0].reason == "DVO takes transfer.announced v2 only");

  choices["DVO"]["transfer.announced"] = {1, 2};
  CHECK(broker::core::route(c, "DTV", {"DVO"}, kPartners, &choices).ok());
}
