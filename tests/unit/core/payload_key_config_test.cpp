// [broker] payload_key in the config (docs/configuration.md): inline hex, a key file, or absent;
// and sealed_contracts / store_payload_key (broker/core/sealing.h) that decide whether it is needed.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "broker/core/config.h"
#include "broker/core/sealing.h"
#include "tests/support/core_fixture.h"
#include "tests/support/temp_dir.h"

namespace {

using Catch::Matchers::Contains;

constexpr const char* kCurve = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";  // Z85 text, 40 characters
const std::string kHex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::filesystem::path write(const test_support::TempDir& dir, const std::string& broker_lines) {
  auto path = dir / "keten.toml";
  std::ofstream(path) << "[broker]\nsecret_key = \"" << kCurve << "\"\n" << broker_lines;
  return path;
}

}  // namespace

TEST_CASE("config reads payload_key inline or from a file, and leaves it empty when absent", "[core][config][seal]") {
  test_support::TempDir dir;
  SECTION("absent") {
    auto options = broker::core::load_config(write(dir, ""));
    REQUIRE(options);
    CHECK(options->payload_key.empty());
  }
  SECTION("inline") {
    auto options = broker::core::load_config(write(dir, "payload_key = \"" + kHex + "\"\n"));
    REQUIRE(options);
    CHECK(options->payload_key == kHex);
  }
  SECTION("a file relative to the config") {
    std::ofstream(dir / "broker.payload.secret") << kHex << "\n";
    auto options = broker::core::load_config(write(dir, "payload_key = \"broker.payload.secret\"\n"));
    REQUIRE(options);
    CHECK(options->payload_key == kHex);
  }
  SECTION("neither hex nor a file") {
    auto options = broker::core::load_config(write(dir, "payload_key = \"nope\"\n"));
    REQUIRE_FALSE(options);
    CHECK(options.error().code == contracts::ErrorCode::kConfig);
    CHECK_THAT(options.error().detail, Contains("broker.payload_key"));
  }
}

TEST_CASE("contracts with sensitive fields are sealed and need a payload key", "[core][seal]") {
  auto registry = test_support::load_test_contracts();
  const auto sensitive = broker::core::sensitive_by_contract(registry);
  REQUIRE(sensitive);
  const auto sealed = broker::core::sealed_contracts(*sensitive);
  CHECK(sealed.count({"test.health", 1}) == 1);
  CHECK(sealed.count({"test.notice", 1}) == 0);
  CHECK(broker::core::must_seal(&sealed, *registry.find("test.health", 1)));
  CHECK_FALSE(broker::core::must_seal(&sealed, *registry.find("test.notice", 1)));
  CHECK(broker::core::must_seal(nullptr, *registry.find("test.health", 1)));  // from the schema
  CHECK_FALSE(broker::core::must_seal(nullptr, *registry.find("test.notice", 1)));

  broker::core::BrokerOptions options;
  auto missing = broker::core::store_payload_key(options, sealed);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == contracts::ErrorCode::kConfig);
  CHECK_THAT(missing.error().detail, Contains("payload_key") && Contains("3 contract versions"));
  CHECK(broker::core::store_payload_key(options, {}).value().empty());  // nothing to seal, no key needed
  options.payload_key = kHex;
  CHECK(broker::core::store_payload_key(options, sealed).value().size() == 32);
}
