// Prints what validate() costs on a realistic payload, next to what valijson costs when it checks
// the formats itself (one std::regex built per format check). Reports timings, never asserts
// them: they depend on the build type and on the machine's load.

// GCC 12 false positive inside valijson's json_pointer.hpp at -O2 (see contracts/validator.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

#include <catch2/catch.hpp>

#define VALIJSON_USE_EXCEPTIONS 1
#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>

#include "contracts/registry.h"
#include "tests/support/file_bytes.h"

namespace fs = std::filesystem;

namespace {

struct Cost {
  double wall_us;
  double cpu_us;
};

// Per-call cost of `call`, which returns whether it saw what it expected.
Cost measure(int rounds, const std::function<bool()>& call) {
  int surprises = 0;
  const std::clock_t cpu_start = std::clock();
  const auto wall_start = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) surprises += call() ? 0 : 1;
  const auto wall = std::chrono::steady_clock::now() - wall_start;
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  CHECK(surprises == 0);
  return {std::chrono::duration<double, std::micro>(wall).count() / rounds,
          cpu_seconds * 1e6 / rounds};
}

}  // namespace

TEST_CASE("validate of a departure.scheduled payload costs microseconds", "[contracts][bench]") {
  const fs::path dir = fs::path(KETEN_SOURCE_DIR) / "contracts/migration-chain";
  auto registry = contracts::ContractRegistry::load(dir);
  REQUIRE(registry);
  auto* contract = registry->find("departure.scheduled", 1);
  REQUIRE(contract != nullptr);
  const std::string valid = test_support::file_bytes(dir / "samples/departure.scheduled.valid.json");
  const std::string invalid =
      test_support::file_bytes(dir / "samples/departure.scheduled.invalid-std-date-time.json");
  auto& validator = contract->validator;

  // Few rounds: this runs with the unit tests, in Debug and under sanitizers too.
  constexpr int kRounds = 300;
  measure(20, [&] { return validator.validate(valid).ok(); });  // warm-up: regex cache
  const Cost ok = measure(kRounds, [&] { return validator.validate(valid).ok(); });
  const Cost bad = measure(kRounds, [&] { return !validator.validate(invalid).ok(); });

  // The same schema handed to valijson with its `format` keywords, as a plain integration would.
  const auto schema_json = nlohmann::json::parse(test_support::file_bytes(dir / "departure.scheduled.v1.json"));
  valijson::Schema schema;
  valijson::SchemaParser(valijson::SchemaParser::kDraft7)
      .populateSchema(valijson::adapters::NlohmannJsonAdapter(schema_json["schema"]), schema);
  valijson::Validator plain;
  auto plain_call = [&] {
    const auto document = nlohmann::json::parse(valid);
    return plain.validate(schema, valijson::adapters::NlohmannJsonAdapter(document), nullptr);
  };
  const Cost native = measure(5, plain_call);

#ifdef NDEBUG
  const char* build = "optimised build";
#else
  const char* build = "debug build: expect several times slower than optimised";
#endif
  std::printf(
      "validate departure.scheduled (%zu bytes; 4 date-times, 1 uuid, 1 email; %s):\n"
      "  PayloadValidator, valid payload:   %7.1f us/call wall, %7.1f us CPU\n"
      "  PayloadValidator, invalid payload: %7.1f us/call wall, %7.1f us CPU\n"
      "  valijson checking formats itself:  %7.1f us/call wall, %7.1f us CPU\n",
      valid.size(), build, ok.wall_us, ok.cpu_us, bad.wall_us, bad.cpu_us, native.wall_us,
      native.cpu_us);
}
